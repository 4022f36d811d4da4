// A remote channel's receiver stays on the driver's thread: its waits
// name the driver's tasks.

use coshare::driver::Driver;

fn main() {
    let driver = Driver::new(());
    let (_tx, mut rx) = driver.handle().remote_channel::<u32>();
    std::thread::spawn(move || {
        //~^ ERROR cannot be sent between threads safely
        let _ = rx.try_recv();
    });
}
