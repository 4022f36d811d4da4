// G2: the main stack cannot hold two `&mut` to the state at once either.
use coshare::Stage;

struct Mailbox {
    inbox: Vec<u32>,
    outbox: Vec<u32>,
}

fn main() {
    let mut stage = Stage::new(Mailbox {
        inbox: vec![1, 2],
        outbox: Vec::new(),
    });
    let inbox = &mut stage.state().inbox;
    let outbox = &mut stage.state().outbox; //~ ERROR E0499: cannot borrow `stage` as mutable more than once at a time
    outbox.extend(inbox.drain(..));
}
