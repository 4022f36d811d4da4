// G8: a `Handle` stays on the thread of its stage.
use coshare::{Co, Eff, Stage, Yields};

fn main() {
    let mut stage = Stage::new(0u32);
    let h = stage
        .spawn(|co: &mut Co<u32>, ()| -> Eff<Yields, ()> {
            *co.state() += 1;
            Ok(())
        })
        .unwrap();
    let worker = std::thread::spawn(move || h.id()); //~ ERROR E0277: cannot be sent between threads safely
    println!("{:?}", worker.join().unwrap());
    stage.resume(h, ()).unwrap();
}
