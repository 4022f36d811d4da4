// G1: a guard (`RefMut`) borrowed from a `RefCell` inside the state must not be
// alive at a yield point, even though `RefCell::borrow_mut` only needs `&self`.
use std::cell::RefCell;

use coshare::{Co, Eff, Stage, Yields};

struct Log {
    lines: RefCell<Vec<String>>,
}

fn main() {
    let mut stage = Stage::new(Log {
        lines: RefCell::new(Vec::new()),
    });
    let h = stage
        .spawn(|co: &mut Co<Log>, ()| -> Eff<Yields, ()> {
            let mut lines = co.state().lines.borrow_mut();
            lines.push("start".to_string());
            co.suspend(())?; //~ ERROR E0499: cannot borrow `*co` as mutable more than once at a time
            lines.push("end".to_string());
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
