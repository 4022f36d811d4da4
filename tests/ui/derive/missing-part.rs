// Asking for a part the state does not have names the part and the state.
use coshare::prelude::*;
use coshare::{Co, CoroutineShareable, Eff, Stage, Yields};

struct JobQueue(Vec<u32>);

#[derive(CoroutineShareable)]
struct Lobby {
    players: Vec<String>,
}

fn main() {
    let mut stage = Stage::new(Lobby { players: Vec::new() });
    stage
        .spawn(|co: &mut Co<Lobby>, ()| -> Eff<Yields, ()> {
            co.part::<JobQueue>().0.push(1); //~ ERROR the shared state `Lobby` has no part of type `JobQueue` that a lookup by type can find
            Ok(())
        })
        .unwrap();
}
