// The closure of `with_part` cannot reach `co`, so it cannot yield: `co` is
// borrowed by the call (E0501) and the closure needs it too (E0500).
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
            co.with_part(|players: &mut Vec<String>| { //~ ERROR E0501 //~ ERROR E0500: closure requires unique access to `*co`
                players.push("ann".into());
                let _ = co.suspend(());
            });
            Ok(())
        })
        .unwrap();
}
