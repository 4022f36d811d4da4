// G1/G4: a helper that takes `co` may yield; a reference into the state must
// not be alive across a call to it.
use coshare::{Co, Eff, Stage, Yields};

fn step(co: &mut Co<Vec<u32>>) -> Eff<Yields, ()> {
    co.suspend(())
}

fn main() {
    let mut stage = Stage::new(Vec::new());
    let h = stage
        .spawn(|co: &mut Co<Vec<u32>>, ()| -> Eff<Yields, ()> {
            let queue = co.state();
            queue.push(1);
            step(co)?; //~ ERROR E0499: cannot borrow `*co` as mutable more than once at a time
            queue.push(2);
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
