// Shared state is `'static`: a struct that borrows cannot be one.
use coshare::CoroutineShareable;

#[derive(CoroutineShareable)]
struct View<'a, T> { //~ ERROR cannot be derived for a struct with lifetime parameters
    names: &'a [T],
}

fn main() {}
