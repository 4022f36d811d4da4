// Two fields of one type: a lookup by type cannot choose, and says so in
// the crate's own words (not as an ambiguity about frunk's impls); look
// them up by name instead.
use coshare::prelude::*;
use coshare::{CoroutineShareable, Stage};

#[derive(CoroutineShareable)]
struct Link {
    sent: u32,
    errors: u32,
}

fn main() {
    let mut stage = Stage::new(Link { sent: 0, errors: 0 });
    *stage.part::<u32>() += 1; //~ ERROR the shared state `Link` has no part of type `u32` that a lookup by type can find
}
