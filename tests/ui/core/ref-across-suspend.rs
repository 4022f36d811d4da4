// G1: a reference into the state must not be alive at a yield point.
use coshare::{Co, Eff, Stage, Yields};

fn main() {
    let mut stage = Stage::new(vec![1, 2, 3]);
    let h = stage
        .spawn(|co: &mut Co<Vec<i32>>, ()| -> Eff<Yields, ()> {
            let first = &co.state()[0];
            co.suspend(())?; //~ ERROR E0499: cannot borrow `*co` as mutable more than once at a time
            println!("first was {first}");
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
