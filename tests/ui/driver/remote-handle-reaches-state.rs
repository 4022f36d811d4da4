// The remote handle crosses threads, but reaches nothing of the state:
// the state is only reached through the driver (or a task), which cannot
// go with it.

use coshare::driver::Driver;

fn main() {
    let mut driver = Driver::new(Vec::<u32>::new());
    let remote = driver.remote();
    std::thread::spawn(move || {
        //~^ ERROR cannot be sent between threads safely
        remote.stop().unwrap();
        driver.state().push(1);
    });
}
