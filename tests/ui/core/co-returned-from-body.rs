// The capability must not leak: the body cannot return `co` to its resumer.
use coshare::{Co, Eff, Stage, Yields};

fn main() {
    let mut stage = Stage::new(0u32);
    let h = stage
        .spawn(
            |co: &mut Co<u32>, ()| -> Eff<Yields, &'static mut Co<u32>> {
                Ok(co) //~ ERROR lifetime may not live long enough
            },
        )
        .unwrap();
    let co = stage.resume(h, ()).unwrap().returned().unwrap();
    *co.state() += 1;
}
