// The capability must not leak: `co` is borrowed only for the body's call, so
// it cannot be stored in a `static` for later use.
use coshare::{Co, Eff, Stage, Yields};

static mut PARKED: Option<&'static mut Co<u32>> = None;

fn main() {
    let mut stage = Stage::new(0u32);
    let h = stage
        .spawn(|co: &mut Co<u32>, ()| -> Eff<Yields, ()> {
            unsafe { PARKED = Some(co) }; //~ ERROR E0521: borrowed data escapes outside of closure
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
