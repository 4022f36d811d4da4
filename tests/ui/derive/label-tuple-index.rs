// The fields of a tuple struct are named `_0`, `_1`, ... in a label: the
// message says which name to write.
use coshare::prelude::*;
use coshare::{CoroutineShareable, Label, Stage};

#[derive(CoroutineShareable)]
struct Pair(u32, u32);

fn main() {
    let mut stage = Stage::new(Pair(1, 2));
    *stage.field::<Label!(0)>() += 1; //~ ERROR a field of a tuple struct is named with an underscore: write `Label!(_0)`
}
