// `Stage<S>` is invariant in `S`: a stage whose state is a
// `for<'a> fn(&'a str)` cannot be used as one whose state is the supertype
// `fn(&'static str)` (a `Box` or `Vec` of it could), or the main stack and
// the coroutines could disagree about the state's type.
use coshare::Stage;

fn greet(name: &str) {
    println!("hello {name}");
}

fn main() {
    let general: Stage<for<'a> fn(&'a str)> = Stage::new(greet);
    let mut narrowed: Stage<fn(&'static str)> = general; //~ ERROR E0308: mismatched types
    (narrowed.state())("world");
}
