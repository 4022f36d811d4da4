// G4: the `with_state` closure is pure: it cannot reach `co`, so it cannot
// spawn either.
use coshare::{Co, Eff, Stage, Yields};

fn worker(co: &mut Co<u32>, (): ()) -> Eff<Yields, ()> {
    *co.state() += 10;
    Ok(())
}

fn main() {
    let mut stage = Stage::new(0u32);
    let h = stage
        .spawn(|co: &mut Co<u32>, ()| -> Eff<Yields, ()> {
            let child = co
                .with_state(|n| {
                    *n += 1;
                    co.spawn(worker) //~ ERROR E0500/E0501: closure requires unique access to `*co` but it is already borrowed
                })
                .unwrap();
            co.resume(child, ())?.unwrap();
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
