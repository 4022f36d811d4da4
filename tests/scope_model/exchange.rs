//! No message and no wake-up is lost, under timeouts, scopes and
//! cancellations: random senders and a receiver exchange messages over a
//! bounded channel and hold permits of a semaphore, every wait possibly
//! under a timeout, all of them children of one task scope; the main
//! stack aborts some, cancels others through the core, or cancels the
//! scope's task, at random times.
//!
//! Checked, with invariants rather than a model:
//!
//! * at every instant the driver is idle, no task waits for something that
//!   is there: room in the channel, a message, a free permit (a lost
//!   wake-up would leave one waiting);
//! * every message whose send returned `Ok` was received exactly once or is
//!   still in the channel at the end, and no other was; every message is
//!   dropped exactly once;
//! * every permit is back at the end;
//! * the run ends (everything is bounded by a deadline), with no task
//!   left, and a second run gives the same events.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use coshare::driver::{DriverBuilder, Instant, Receiver, Semaphore, Sender, Task, WaitOn};
use coshare::{Eff, Yields};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Every actor's whole body runs under this deadline (ms).
const LIMIT: u64 = 400;

#[derive(Clone, Debug)]
enum Op {
    Sleep(u64),
    /// Send a new message; under a timeout if `Some`.
    Send(Option<u64>),
    /// Receive (the receiver only; a sender sleeps instead).
    Recv(Option<u64>),
    /// Acquire a permit (under a timeout if `Some`), hold it `ms`.
    Hold(Option<u64>, u64),
    /// Stop another actor (index modulo their number), at once.
    Kill(usize, Kill),
}

#[derive(Clone, Copy, Debug)]
enum Kill {
    Abort,
    Cancel,
}

#[derive(Clone, Debug)]
struct Exchange {
    capacity: usize,
    permits: usize,
    /// Actor 0 is the receiver.
    actors: Vec<Vec<Op>>,
    /// At a time (ms), kill an actor (index modulo their number), or the
    /// scope's task (`None`).
    kills: Vec<(u64, Option<usize>, Kill)>,
}

fn op() -> impl Strategy<Value = Op> {
    let timeout = || prop::option::weighted(0.5, 1..30u64);
    prop_oneof![
        2 => (1..20u64).prop_map(Op::Sleep),
        6 => timeout().prop_map(Op::Send),
        4 => timeout().prop_map(Op::Recv),
        4 => (timeout(), 1..20u64).prop_map(|(t, ms)| Op::Hold(t, ms)),
        3 => (0..8usize, prop_oneof![Just(Kill::Abort), Just(Kill::Cancel)])
            .prop_map(|(who, how)| Op::Kill(who, how)),
    ]
}

fn exchange() -> impl Strategy<Value = Exchange> {
    let kill = prop_oneof![Just(Kill::Abort), Just(Kill::Cancel)];
    (
        1..3usize,
        1..3usize,
        vec(vec(op(), 1..12), 3..7),
        vec(
            (1..120u64, prop::option::weighted(0.8, 0..8usize), kill),
            0..3,
        ),
    )
        .prop_map(|(capacity, permits, actors, kills)| Exchange {
            capacity,
            permits,
            actors,
            kills,
        })
}

/// A message that counts its drops.
struct Msg {
    id: u64,
    drops: Rc<RefCell<BTreeMap<u64, usize>>>,
}

impl Drop for Msg {
    fn drop(&mut self) {
        *self.drops.borrow_mut().entry(self.id).or_default() += 1;
    }
}

#[derive(Default)]
struct Books {
    events: Vec<String>,
    next_id: u64,
    sent: Vec<u64>,
    received: Vec<u64>,
    drops: Rc<RefCell<BTreeMap<u64, usize>>>,
    /// The receiver, given back when its task ends.
    receiver: Option<Receiver<Msg>>,
}

type Shared = Rc<RefCell<Books>>;

/// The actors' handles, for stopping each other.
type Handles = Rc<RefCell<Vec<Option<coshare::driver::JoinHandle<()>>>>>;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Gives the receiver back to the books when its task's frame goes.
struct GiveBack(Option<Receiver<Msg>>, Shared);

impl Drop for GiveBack {
    fn drop(&mut self) {
        if let Some(rx) = self.0.take() {
            self.1.borrow_mut().receiver = Some(rx);
        }
    }
}

fn under<T>(
    t: &mut Task<'_, ()>,
    timeout: Option<u64>,
    f: impl FnOnce(&mut Task<'_, ()>) -> Eff<Yields, T>,
) -> Eff<Yields, Option<T>> {
    match timeout {
        Some(d) => Ok(t.timeout(ms(d), f)?.ok()),
        None => f(t).map(Some),
    }
}

#[allow(clippy::too_many_arguments)]
fn actor(
    t: &mut Task<'_, ()>,
    me: usize,
    ops: &[Op],
    books: &Shared,
    handles: &Handles,
    tx: &Sender<Msg>,
    rx: &mut Option<Receiver<Msg>>,
    sem: &Semaphore,
) -> Eff<Yields, ()> {
    let log = |line: String| books.borrow_mut().events.push(line);
    for op in ops {
        match op {
            Op::Sleep(d) => t.sleep(ms(*d))?,
            Op::Send(timeout) => {
                let msg = {
                    let mut b = books.borrow_mut();
                    b.next_id += 1;
                    Msg {
                        id: b.next_id,
                        drops: Rc::clone(&b.drops),
                    }
                };
                let id = msg.id;
                if let Some(Ok(())) = under(t, *timeout, |t| t.send(tx, msg))? {
                    books.borrow_mut().sent.push(id);
                    log(format!("{me} sent {id} at {}", t.now()));
                }
            }
            Op::Recv(timeout) => match rx {
                Some(rx) => {
                    if let Some(Ok(msg)) = under(t, *timeout, |t| t.recv(rx))? {
                        books.borrow_mut().received.push(msg.id);
                        log(format!("{me} received {} at {}", msg.id, t.now()));
                    }
                }
                None => t.sleep(ms(timeout.unwrap_or(5)))?,
            },
            Op::Hold(timeout, hold) => {
                if let Some(permit) = under(t, *timeout, |t| t.acquire(sem))? {
                    log(format!("{me} holds a permit at {}", t.now()));
                    t.sleep(ms(*hold))?;
                    drop(permit);
                }
            }
            Op::Kill(who, how) => {
                let taken = {
                    let mut all = handles.borrow_mut();
                    let n = all.len();
                    if n == 0 {
                        None
                    } else {
                        all[who % n].take().map(|h| (who % n, h))
                    }
                };
                if let Some((at, handle)) = taken {
                    log(format!("{me} stops {at} ({how:?}) at {}", t.now()));
                    match how {
                        Kill::Abort => handle.abort(),
                        Kill::Cancel => {
                            let _ = t.cancel(&handle)?;
                        }
                    }
                    handles.borrow_mut()[at] = Some(handle);
                }
            }
        }
    }
    Ok(())
}

/// No task waits for something that is there.
fn nobody_stuck(
    tasks: &[coshare::driver::TaskInfo],
    tx: &Sender<Msg>,
    capacity: usize,
    sem: &Semaphore,
) -> Result<(), String> {
    let len = tx.len();
    for task in tasks {
        let waits = match &task.wait {
            WaitOn::Any(all) => all.clone(),
            one => vec![one.clone()],
        };
        for wait in waits {
            let stuck = match wait {
                WaitOn::Send { .. } => len < capacity,
                WaitOn::Recv { .. } => len > 0,
                WaitOn::Semaphore { .. } => sem.available_permits() > 0,
                _ => false,
            };
            if stuck {
                return Err(format!(
                    "{task} although it is there (channel {len}/{capacity}, {} permit(s) free)",
                    sem.available_permits()
                ));
            }
        }
    }
    Ok(())
}

fn run(ex: &Exchange) -> Result<Vec<String>, TestCaseError> {
    let mut d = DriverBuilder::new().virtual_clock().build(());
    let books: Shared = Rc::default();
    let (tx, rx) = d.handle().channel::<Msg>(ex.capacity);
    let sem = d.handle().semaphore(ex.permits);
    let handles: Handles = Rc::default();
    let (b, s, h, actors) = (
        Rc::clone(&books),
        sem.clone(),
        Rc::clone(&handles),
        ex.actors.clone(),
    );
    let scope_tx = tx.clone();
    let root = d
        .spawn(move |t: &mut Task<'_, ()>| -> Eff<Yields, ()> {
            let mut rx = Some(rx);
            let out = t.scope(|scope| {
                for (me, ops) in actors.into_iter().enumerate() {
                    let (books, sem, tx) = (Rc::clone(&b), s.clone(), scope_tx.clone());
                    let peers = Rc::clone(&h);
                    let mut own_rx =
                        GiveBack(if me == 0 { rx.take() } else { None }, Rc::clone(&b));
                    let child = scope
                        .spawn(move |t: &mut Task<'_, ()>| -> Eff<Yields, Result<(), ()>> {
                            t.timeout(ms(LIMIT), |t| {
                                actor(t, me, &ops, &books, &peers, &tx, &mut own_rx.0, &sem)
                            })?
                            .ok();
                            Ok(Ok(()))
                        })
                        .unwrap_or_else(|_| panic!("spawn"));
                    h.borrow_mut().push(Some(child));
                }
                Ok(Ok::<(), ()>(()))
            })?;
            assert!(out.is_ok(), "no actor fails");
            Ok(())
        })
        .unwrap_or_else(|_| panic!("spawn the root"));
    let mut kills = ex.kills.clone();
    kills.sort_by_key(|k| k.0);
    let mut now = 0;
    while now <= LIMIT + 50 {
        for &(_, who, kill) in kills.iter().filter(|k| k.0 == now) {
            let taken = {
                let mut all = handles.borrow_mut();
                let n = all.len();
                match who {
                    Some(i) if n > 0 => all[i % n].take().map(|h| (i % n, h)),
                    _ => None,
                }
            };
            match (who, kill) {
                (Some(_), _) => {
                    if let Some((at, handle)) = taken {
                        match kill {
                            Kill::Abort => handle.abort(),
                            Kill::Cancel => {
                                let _ = d.cancel(&handle);
                            }
                        }
                        handles.borrow_mut()[at] = Some(handle);
                    }
                }
                (None, Kill::Abort) => root.abort(),
                (None, Kill::Cancel) => {
                    let _ = d.cancel(&root);
                }
            }
        }
        d.run_until(Instant::ZERO + ms(now))
            .map_err(|e| TestCaseError::fail(format!("deadlock: {e}")))?;
        nobody_stuck(&d.tasks(), &tx, ex.capacity, &sem)
            .map_err(|e| TestCaseError::fail(format!("at {now} ms: {e}")))?;
        now += 1;
    }
    prop_assert!(d.tasks().is_empty(), "tasks left: {:?}", d.tasks());
    prop_assert_eq!(sem.available_permits(), ex.permits, "a permit was lost");
    drop(d);
    drop(handles);
    let mut drained = Vec::new();
    let mut rx = books.borrow_mut().receiver.take().expect("given back");
    while let Ok(msg) = rx.try_recv() {
        drained.push(msg.id);
    }
    drop(rx);
    drop(tx);
    let books = books.borrow();
    let mut accounted: Vec<u64> = books.received.iter().chain(&drained).copied().collect();
    accounted.sort_unstable();
    let mut sent = books.sent.clone();
    sent.sort_unstable();
    prop_assert_eq!(&accounted, &sent, "sent messages vs received and left");
    let drops = books.drops.borrow();
    prop_assert_eq!(
        drops.len() as u64,
        books.next_id,
        "every message was dropped"
    );
    prop_assert!(
        drops.values().all(|&n| n == 1),
        "a message dropped twice: {:?}",
        drops
    );
    Ok(books.events.clone())
}

pub fn check(config: Config) {
    let mut runner = TestRunner::new(config);
    let result = runner.run(&exchange(), |ex| {
        let first = run(&ex)?;
        let second = run(&ex)?;
        prop_assert_eq!(first, second, "a second run differs");
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}
