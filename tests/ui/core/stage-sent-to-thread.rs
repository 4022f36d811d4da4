// G8: a `Stage` stays on the thread that made it.
use coshare::Stage;

fn main() {
    let mut stage = Stage::new(0u32);
    *stage.state() += 1;
    let worker = std::thread::spawn(move || stage.into_state()); //~ ERROR E0277: cannot be sent between threads safely
    assert_eq!(worker.join().unwrap(), 1);
}
