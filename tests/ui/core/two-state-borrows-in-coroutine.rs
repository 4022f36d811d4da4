// G2: a coroutine cannot hold two `&mut` to the state at once; borrow the
// fields from one `co.state()` instead.
use coshare::{Co, Eff, Stage, Yields};

struct Mailbox {
    inbox: Vec<u32>,
    outbox: Vec<u32>,
}

fn main() {
    let mut stage = Stage::new(Mailbox {
        inbox: vec![1, 2],
        outbox: Vec::new(),
    });
    let h = stage
        .spawn(|co: &mut Co<Mailbox>, ()| -> Eff<Yields, ()> {
            let inbox = &mut co.state().inbox;
            let outbox = &mut co.state().outbox; //~ ERROR E0499: cannot borrow `*co` as mutable more than once at a time
            outbox.extend(inbox.drain(..));
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
