// G1: a `HashMap` entry borrowed from the state must not be alive at a yield point.
use std::collections::HashMap;

use coshare::{Co, Eff, Stage, Yields};

struct Counts {
    by_name: HashMap<&'static str, u32>,
}

fn main() {
    let mut stage = Stage::new(Counts {
        by_name: HashMap::new(),
    });
    let h = stage
        .spawn(
            |co: &mut Co<Counts, &'static str>, name| -> Eff<Yields, ()> {
                let slot = co.state().by_name.entry(name);
                co.suspend(())?; //~ ERROR E0499: cannot borrow `*co` as mutable more than once at a time
                *slot.or_insert(0) += 1;
                Ok(())
            },
        )
        .unwrap();
    stage.resume(h, "pump").unwrap();
}
