// Everything that reaches a stack is `'static`: the state cannot borrow
// from the caller (a leaked stage would keep the borrow alive forever).
use coshare::Stage;

struct Config<'a> {
    name: &'a str,
}

fn main() {
    let name = String::from("pump-1");
    let mut stage = Stage::new(Config { name: &name }); //~ ERROR E0597: `name` does not live long enough
    println!("{}", stage.state().name);
}
