// By name too, a multi-part borrow hands out each field at most once.
use coshare::prelude::*;
use coshare::{CoroutineShareable, HList, Label, Stage, hlist_pat};

#[derive(CoroutineShareable)]
struct Link {
    sent: u32,
    errors: u32,
}

fn main() {
    let mut stage = Stage::new(Link { sent: 0, errors: 0 });
    let hlist_pat![a, b] = stage.fields::<HList![Label!(sent), Label!(sent)]>(); //~ ERROR the shared state `Link` has no distinct parts named
    *a += *b;
}
