// G4: the `with_state` closure is pure: it cannot reach `co`, so it cannot suspend.
use coshare::{Co, Eff, Stage, Yields};

fn main() {
    let mut stage = Stage::new(0u32);
    let h = stage
        .spawn(|co: &mut Co<u32>, ()| -> Eff<Yields, ()> {
            co.with_state(|n| {
                *n += 1;
                co.suspend(()) //~ ERROR E0500/E0501: closure requires unique access to `*co` but it is already borrowed
            })?;
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
