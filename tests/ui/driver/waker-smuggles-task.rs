// A `std::task::Waker` must be `Send + Sync`: a waker that carries the
// task (to wake it, or to reach the state from the thread that wakes it)
// cannot be made.

use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

use coshare::driver::{Driver, Task};
use coshare::{Eff, Yields};

struct Smuggler<T>(Mutex<T>);

impl<T> Wake for Smuggler<T> {
    fn wake(self: Arc<Self>) {}
}

fn main() {
    let mut driver = Driver::new(0u32);
    driver
        .spawn(|t: &mut Task<u32>| -> Eff<Yields, ()> {
            let waker = Waker::from(Arc::new(Smuggler(Mutex::new(t))));
            //~^ ERROR cannot be sent between threads safely
            std::thread::spawn(move || waker.wake());
            Ok(())
        })
        .unwrap();
}
