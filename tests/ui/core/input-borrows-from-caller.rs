// Everything that reaches a stack is `'static`: a coroutine's input cannot
// borrow from the caller.
use coshare::{Co, Eff, Stage, Yields};

fn main() {
    let mut stage = Stage::new(Vec::<usize>::new());
    let h = stage
        .spawn(
            |co: &mut Co<Vec<usize>, &str>, first: &str| -> Eff<Yields, ()> {
                co.state().push(first.len());
                Ok(())
            },
        )
        .unwrap();
    let line = String::from("hello");
    stage.resume(h, &line).unwrap(); //~ ERROR E0597: `line` does not live long enough
}
