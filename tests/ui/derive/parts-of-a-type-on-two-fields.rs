// Two fields of one type, borrowed together by type: the lookup cannot
// tell which is which, and says so in the crate's own words (not as
// "type annotations needed"); borrow them by name, with `fields`.
use coshare::prelude::*;
use coshare::{CoroutineShareable, HList, Stage, hlist_pat};

#[derive(CoroutineShareable)]
struct Link {
    sent: u32,
    errors: u32,
}

fn main() {
    let mut stage = Stage::new(Link { sent: 0, errors: 0 });
    let hlist_pat![sent, errors] = stage.parts::<HList![u32, u32]>(); //~ ERROR the shared state `Link` has no distinct parts of types
    *sent += *errors;
}
