// G8: `co` cannot reach another thread, not even a scoped one that ends
// before the body continues.
use coshare::{Co, Eff, Stage, Yields};

fn main() {
    let mut stage = Stage::new(0u32);
    let h = stage
        .spawn(|co: &mut Co<u32>, ()| -> Eff<Yields, ()> {
            std::thread::scope(|scope| {
                scope.spawn(|| *co.state() += 1); //~ ERROR E0277: cannot be sent between threads safely
            });
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
