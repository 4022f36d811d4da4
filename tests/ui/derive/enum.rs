// The derive needs a struct: an enum's fields depend on its variant.
use coshare::CoroutineShareable;

#[derive(CoroutineShareable)]
enum Phase { //~ ERROR `CoroutineShareable` can only be derived for structs
    Lobby,
    Playing { round: u32 },
}

fn main() {}
