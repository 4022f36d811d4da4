// Two single-part borrows of the same part cannot both be alive: each one
// borrows the stage.
use coshare::prelude::*;
use coshare::{CoroutineShareable, Stage};

#[derive(CoroutineShareable)]
struct Lobby {
    players: Vec<String>,
    round: u32,
}

fn main() {
    let mut stage = Stage::new(Lobby { players: Vec::new(), round: 0 });
    let a = stage.part::<Vec<String>>();
    let b = stage.part::<Vec<String>>(); //~ ERROR E0499: cannot borrow `stage` as mutable more than once at a time
    a.append(b);
}
