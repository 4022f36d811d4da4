// A multi-part borrow hands out each field at most once: asking for the
// same part twice is an error that names the parts and the state.
use coshare::prelude::*;
use coshare::{CoroutineShareable, HList, Stage, hlist_pat};

#[derive(CoroutineShareable)]
struct Lobby {
    players: Vec<String>,
    round: u32,
}

fn main() {
    let mut stage = Stage::new(Lobby { players: Vec::new(), round: 0 });
    let hlist_pat![a, b] = stage.parts::<HList![Vec<String>, Vec<String>]>(); //~ ERROR the shared state `Lobby` has no distinct parts of types
    a.append(b);
}
