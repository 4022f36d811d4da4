// `Label!` takes one field name; tuple fields are named `_0`, `_1`, ...
use coshare::prelude::*;
use coshare::{CoroutineShareable, Label, Stage};

#[derive(CoroutineShareable)]
struct Pair(u32, u32);

fn main() {
    let mut stage = Stage::new(Pair(1, 2));
    *stage.field::<Label!(0), u32, _>() += 1; //~ ERROR expected one field name
}
