// A task scope's handle cannot leave the scope's body: once the body
// returns, the scope waits for its children and ends, and a handle kept
// outside could spawn into it afterwards.

use coshare::driver::{DriverBuilder, Task};
use coshare::{Eff, Yields};

fn main() {
    let mut driver = DriverBuilder::new().virtual_clock().build(());
    driver
        .spawn(|t: &mut Task<()>| -> Eff<Yields, ()> {
            let mut kept = None;
            t.scope(|s| {
                kept = Some(s); //~ ERROR borrowed data escapes outside of closure
                Ok(Ok::<(), ()>(()))
            })?
            .unwrap();
            Ok(())
        })
        .unwrap();
}
