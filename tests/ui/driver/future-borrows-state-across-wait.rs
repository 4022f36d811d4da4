// A future built from a borrow of the state cannot be awaited by the task:
// the wait needs the task, and the borrow of the state is a borrow of the
// task that the future keeps alive across the wait.

use coshare::driver::{Driver, Task};
use coshare::{Eff, Yields};

fn main() {
    let mut driver = Driver::new(Vec::<u32>::new());
    driver
        .spawn(|t: &mut Task<Vec<u32>>| -> Eff<Yields, ()> {
            let state = t.state();
            t.wait_future(async move {
                //~^ ERROR cannot borrow `*t` as mutable more than once at a time
                state.push(1);
            })?;
            Ok(())
        })
        .unwrap();
}
