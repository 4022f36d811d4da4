// Between two yield points, one `co.state()` can be split into disjoint
// field borrows, all alive at once.
use coshare::{Co, Eff, Stage, Yields};

struct Mailbox {
    inbox: Vec<u32>,
    outbox: Vec<u32>,
    moved: usize,
}

fn main() {
    let mut stage = Stage::new(Mailbox {
        inbox: vec![1, 2],
        outbox: Vec::new(),
        moved: 0,
    });
    let h = stage
        .spawn(
            |co: &mut Co<Mailbox, u32>, mut next: u32| -> Eff<Yields, ()> {
                while next != 0 {
                    let s = co.state();
                    let inbox = &mut s.inbox;
                    let outbox = &mut s.outbox;
                    let moved = &mut s.moved;
                    inbox.push(next);
                    for item in inbox.drain(..) {
                        outbox.push(item * 10);
                        *moved += 1;
                    }
                    next = co.suspend(())?;
                }
                Ok(())
            },
        )
        .unwrap();
    assert!(stage.resume(h, 3).unwrap().is_yield());
    assert_eq!(stage.state().outbox, [10, 20, 30]);
    assert!(stage.resume(h, 4).unwrap().is_yield());
    assert!(stage.resume(h, 0).unwrap().is_return());
    let state = stage.into_state();
    assert_eq!(state.outbox, [10, 20, 30, 40]);
    assert_eq!(state.moved, 4);
    assert!(state.inbox.is_empty());
}
