// Two fields of one type: a lookup by type cannot choose; look them up by
// name instead.
use coshare::prelude::*;
use coshare::{CoroutineShareable, Stage};

#[derive(CoroutineShareable)]
struct Link {
    sent: u32,
    errors: u32,
}

fn main() {
    let mut stage = Stage::new(Link { sent: 0, errors: 0 });
    *stage.part::<u32, _>() += 1; //~ ERROR E0283: type annotations needed
}
