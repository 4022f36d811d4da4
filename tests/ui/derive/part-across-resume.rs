// On the main stack, `resume` is the yield point: a part of the stage's
// state cannot be alive across it.
use coshare::prelude::*;
use coshare::{Co, CoroutineShareable, Eff, Stage, Yields};

#[derive(CoroutineShareable)]
struct Lobby {
    players: Vec<String>,
}

fn main() {
    let mut stage = Stage::new(Lobby { players: Vec::new() });
    let h = stage
        .spawn(|co: &mut Co<Lobby>, ()| -> Eff<Yields, ()> {
            co.part::<Vec<String>>().clear();
            Ok(())
        })
        .unwrap();
    let players = stage.part::<Vec<String>>();
    stage.resume(h, ()).unwrap(); //~ ERROR E0499: cannot borrow `stage` as mutable more than once at a time
    players.push("stale".into());
}
