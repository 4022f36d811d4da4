// A scope's child borrows nothing from the body that spawns it: its body
// is `'static`, so a local of the parent's stack must be moved in (or
// shared through the state), not borrowed.

use coshare::driver::{DriverBuilder, Task};
use coshare::{Eff, Yields};

fn main() {
    let mut driver = DriverBuilder::new().virtual_clock().build(());
    driver
        .spawn(|t: &mut Task<()>| -> Eff<Yields, ()> {
            t.scope(|s| {
                let local = vec![1, 2, 3];
                s.spawn(|_: &mut Task<()>| -> Eff<Yields, Result<usize, ()>> {
                    Ok(Ok(local.len())) //~ ERROR closure may outlive the current function
                })
                .unwrap();
                Ok(Ok::<(), ()>(()))
            })?
            .unwrap();
            Ok(())
        })
        .unwrap();
}
