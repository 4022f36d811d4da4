// Asking for a field name the state does not have names the label and the
// state. A terminal shows the label as `(d, r, o, p, p, e, d)`; trybuild's
// wide diagnostic width makes rustc print each letter's full path instead.
use coshare::prelude::*;
use coshare::{CoroutineShareable, Label, Stage};

#[derive(CoroutineShareable)]
struct Link {
    sent: u32,
    errors: u32,
}

fn main() {
    let mut stage = Stage::new(Link { sent: 0, errors: 0 });
    *stage.field::<Label!(dropped)>() += 1; //~ ERROR the shared state `Link` has no part named `(d, r, o, p, p, e, d)`
}
