// G1: `with_state` does not let a reference into the state out of its
// closure, so the body cannot return one to the main stack either.
//
// rustc reports this as a lifetime error ("lifetime may not live long
// enough"); no diagnostic attribute applies to lifetime errors, so the
// message cannot name `with_state`. The docs of `Co::with_state` show this
// case and say what the two lifetimes in the message are.
use coshare::{Co, Eff, Stage, Yields};

struct Counter {
    count: u32,
}

fn main() {
    let mut stage = Stage::new(Counter { count: 0 });
    let h = stage
        .spawn(
            |co: &mut Co<Counter>, ()| -> Eff<Yields, &'static mut u32> {
                let count = co.with_state(|s| &mut s.count); //~ ERROR lifetime may not live long enough
                Ok(count)
            },
        )
        .unwrap();
    let count = stage.resume(h, ()).unwrap().returned().unwrap();
    *count += 1;
}
