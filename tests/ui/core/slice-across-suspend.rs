// G1: a slice of the state must not be alive at a yield point.
use coshare::{Co, Eff, Stage, Yields};

fn main() {
    let mut stage = Stage::new(vec![0u8; 8]);
    let h = stage
        .spawn(|co: &mut Co<Vec<u8>>, ()| -> Eff<Yields, ()> {
            let window = &mut co.state()[2..4];
            window[0] = 1;
            co.suspend(())?; //~ ERROR E0499: cannot borrow `*co` as mutable more than once at a time
            window[1] = 2;
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
