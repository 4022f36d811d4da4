// The capability must not leak: `co` is borrowed only for the body's call, so
// it cannot be stored in a `thread_local!` for later use.
use std::cell::RefCell;

use coshare::{Co, Eff, Stage, Yields};

thread_local! {
    static PARKED: RefCell<Option<&'static mut Co<u32>>> = const { RefCell::new(None) };
}

fn main() {
    let mut stage = Stage::new(0u32);
    let h = stage
        .spawn(|co: &mut Co<u32>, ()| -> Eff<Yields, ()> {
            PARKED.set(Some(co)); //~ ERROR E0521: borrowed data escapes outside of closure
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
