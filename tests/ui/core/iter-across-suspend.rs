// G1: an iterator over the state must not be alive at a yield point.
use coshare::{Co, Eff, Stage, Yields};

struct Jobs {
    pending: Vec<u32>,
}

fn main() {
    let mut stage = Stage::new(Jobs {
        pending: vec![1, 2, 3],
    });
    let h = stage
        .spawn(|co: &mut Co<Jobs, (), u32>, ()| -> Eff<Yields, ()> {
            for job in co.state().pending.iter() {
                co.suspend(*job)?; //~ ERROR E0499: cannot borrow `*co` as mutable more than once at a time
            }
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
