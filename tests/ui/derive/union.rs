// The derive needs a struct: a union's fields overlap.
use coshare::CoroutineShareable;

#[derive(CoroutineShareable)]
union Bits { //~ ERROR `CoroutineShareable` can only be derived for structs
    int: u32,
    float: f32,
}

fn main() {}
