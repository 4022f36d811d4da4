// Distinct parts borrowed together are still borrows of `co`: none of them
// may be alive at a yield point.
use coshare::prelude::*;
use coshare::{Co, CoroutineShareable, Eff, HList, Stage, Yields, hlist_pat};

#[derive(CoroutineShareable)]
struct Lobby {
    players: Vec<String>,
    round: u32,
}

fn main() {
    let mut stage = Stage::new(Lobby { players: Vec::new(), round: 0 });
    stage
        .spawn(|co: &mut Co<Lobby>, ()| -> Eff<Yields, ()> {
            let hlist_pat![players, round] = co.parts::<HList![Vec<String>, u32]>();
            players.push("ann".into());
            co.suspend(())?; //~ ERROR E0499: cannot borrow `*co` as mutable more than once at a time
            *round += 1;
            Ok(())
        })
        .unwrap();
}
