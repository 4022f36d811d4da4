// G1: a `Vec::drain` guard borrowed from the state must not be alive at a
// yield point (its destructor would touch the state after the yield).
use coshare::{Co, Eff, Stage, Yields};

fn main() {
    let mut stage = Stage::new(vec![1u32, 2, 3]);
    let h = stage
        .spawn(|co: &mut Co<Vec<u32>, (), u32>, ()| -> Eff<Yields, ()> {
            for job in co.state().drain(..) {
                co.suspend(job)?; //~ ERROR E0499: cannot borrow `*co` as mutable more than once at a time
            }
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
