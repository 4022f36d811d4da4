// A part found by name is a borrow of `co` like any other.
use coshare::prelude::*;
use coshare::{Co, CoroutineShareable, Eff, Label, Stage, Yields};

#[derive(CoroutineShareable)]
struct Link {
    sent: u32,
    errors: u32,
}

fn main() {
    let mut stage = Stage::new(Link { sent: 0, errors: 0 });
    stage
        .spawn(|co: &mut Co<Link>, ()| -> Eff<Yields, ()> {
            let sent = co.field::<Label!(sent)>();
            co.suspend(())?; //~ ERROR E0499: cannot borrow `*co` as mutable more than once at a time
            *sent += 1;
            Ok(())
        })
        .unwrap();
}
