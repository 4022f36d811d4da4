// G1 for parts: a part borrows `co`, so it cannot be alive at a yield point.
use coshare::prelude::*;
use coshare::{Co, CoroutineShareable, Eff, Stage, Yields};

#[derive(CoroutineShareable)]
struct Lobby {
    players: Vec<String>,
}

fn main() {
    let mut stage = Stage::new(Lobby { players: Vec::new() });
    stage
        .spawn(|co: &mut Co<Lobby>, ()| -> Eff<Yields, ()> {
            let players = co.part::<Vec<String>>();
            co.suspend(())?; //~ ERROR E0499: cannot borrow `*co` as mutable more than once at a time
            players.push("late".into());
            Ok(())
        })
        .unwrap();
}
