// G1: resuming another coroutine is a yield point; a reference into the state
// must not be alive across it (the child writes the same state).
use coshare::{Co, Eff, Stage, Yields};

struct Totals {
    sum: u32,
}

fn main() {
    let mut stage = Stage::new(Totals { sum: 0 });
    let h = stage
        .spawn(|co: &mut Co<Totals>, ()| -> Eff<Yields, ()> {
            let child = co
                .spawn(|co: &mut Co<Totals, (), u32>, ()| -> Eff<Yields, ()> {
                    co.state().sum += 1;
                    co.suspend(1)?;
                    Ok(())
                })
                .unwrap();
            let sum = &mut co.state().sum;
            *sum += 10;
            let got = co.resume(child, ())?; //~ ERROR E0499: cannot borrow `*co` as mutable more than once at a time
            *sum += got.unwrap().yielded().unwrap();
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
