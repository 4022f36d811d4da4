// G1: `with_state` does not let a reference into the state out of its
// closure, so it cannot be kept across a yield point.
use coshare::{Co, Eff, Stage, Yields};

struct Counter {
    count: u32,
}

fn main() {
    let mut stage = Stage::new(Counter { count: 0 });
    let h = stage
        .spawn(|co: &mut Co<Counter>, ()| -> Eff<Yields, ()> {
            let count = co.with_state(|s| &mut s.count); //~ ERROR lifetime may not live long enough
            co.suspend(())?;
            *count += 1;
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
