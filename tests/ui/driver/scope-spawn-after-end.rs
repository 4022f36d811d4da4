// Spawning into a task scope that has ended: the handle returned out of
// the body, to be used after the scope is over, does not outlive the body.

use std::time::Duration;

use coshare::driver::{DriverBuilder, Task};
use coshare::{Eff, Yields};

fn main() {
    let mut driver = DriverBuilder::new().virtual_clock().build(());
    driver
        .spawn(|t: &mut Task<()>| -> Eff<Yields, ()> {
            let ended = t.scope(|s| Ok(Ok::<_, ()>(s)))?.unwrap(); //~ ERROR lifetime may not live long enough
            ended
                .spawn(|t: &mut Task<()>| -> Eff<Yields, Result<(), ()>> {
                    t.sleep(Duration::from_secs(1))?;
                    Ok(Ok(()))
                })
                .unwrap();
            Ok(())
        })
        .unwrap();
}
