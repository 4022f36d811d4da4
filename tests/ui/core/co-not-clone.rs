// The capability is unique: `Co` is not `Clone`.
use coshare::{Co, Eff, Stage, Yields};

fn main() {
    let mut stage = Stage::new(0u32);
    let h = stage
        .spawn(|co: &mut Co<u32>, ()| -> Eff<Yields, ()> {
            let mut twin = co.clone(); //~ ERROR E0599: no method named `clone` found for mutable reference `&mut Co<u32>`
            *twin.state() += 1;
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
