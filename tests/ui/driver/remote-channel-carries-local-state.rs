// A remote channel carries only what may cross threads: state shared
// through an `Rc` (say, to reach it from the other side) is refused.

use std::cell::RefCell;
use std::rc::Rc;

use coshare::driver::Driver;

fn main() {
    let driver = Driver::new(());
    let (tx, _rx) = driver.handle().remote_channel::<Rc<RefCell<Vec<u32>>>>();
    //~^ ERROR cannot be sent between threads safely
    drop(tx);
}
