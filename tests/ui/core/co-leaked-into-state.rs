// The capability must not leak: `co` is borrowed only for the body's call, so
// it cannot be parked in the shared state for later use.
use coshare::{Co, Eff, Stage, Yields};

struct Shared {
    parked: Option<&'static mut Co<Shared>>,
}

fn main() {
    let mut stage = Stage::new(Shared { parked: None });
    let h = stage
        .spawn(|co: &mut Co<Shared>, ()| -> Eff<Yields, ()> {
            co.state().parked = Some(co); //~ ERROR E0499 + E0521: `co` would have to be borrowed for `'static`
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
