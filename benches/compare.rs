//! coshare beside its baselines, in one run, with a table at the end.
//!
//! ```text
//! cargo bench --bench compare
//! ```
//!
//! runs every group below with short warm-up and measurement times (the
//! whole run takes a few minutes on two cores), then reads criterion's
//! estimates back and prints a table of medians and of ratios to each
//! baseline, with the issue's target for each ratio and whether it was met.
//! A filter works as usual (`cargo bench --bench compare -- switch`); rows
//! whose benchmarks did not run in this process are shown as not run, never
//! with numbers from an earlier run.
//!
//! The groups, each figure next to its baseline:
//!
//! * `switch`: one resume + suspend round trip through a stage handle, and
//!   the same with raw corosensei.
//! * `switch_state`: the same with one update of the shared state per event,
//!   through `co.with_state` and through `co.state()`, against raw
//!   corosensei with the state behind a raw pointer and behind
//!   `Rc<RefCell<_>>`.
//! * `access`: `with_state` alone (on the stage, and inside a coroutine)
//!   against a plain `&mut` update.
//! * `spawn`: spawn + run to completion + drop with a warm stack pool,
//!   against raw corosensei lending it one stack by reference and against
//!   raw corosensei on a freshly mapped stack each time.
//! * `pingpong`: two parties exchange events that update shared state: a
//!   hand-written enum state machine (the lower bound), two coroutines
//!   dispatched by the main stack, two driver tasks over driver channels,
//!   the same two parties on raw corosensei coroutines with a minimal
//!   hand-written run queue and one-message channels (the floor for a
//!   stackful scheduler that dispatches from the main stack), and two tokio
//!   tasks over tokio
//!   channels with `Rc<RefCell<_>>` state on a current-thread runtime with
//!   a `LocalSet`. One iteration is one round trip.
//! * `driver`: many tasks (10k, and 100k or the most this process may map)
//!   waiting on virtual-clock timers and on channels; one iteration is one
//!   batch of wake-ups, reported as events per second.

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, ScopedCoroutine, Yielder};
use coshare::driver::{Driver, DriverBuilder, Sender, Task};
use coshare::parts::IndexedPartAccess;
use coshare::{
    Co, CoroutineShareable, DEFAULT_STACK_SIZE, Eff, ErrorKind, Label, Resumed, Stage,
    StageBuilder, Yields,
};
use criterion::{Criterion, SamplingMode};

/// The shared state of every workload: an event count and a running sum.
#[derive(Default)]
struct Counters {
    events: u64,
    sum: u64,
}

/// The one state update done per event, in every variant.
#[inline(always)]
fn bump(state: &mut Counters, value: u64) {
    state.events += 1;
    state.sum = state.sum.wrapping_add(value);
}

/// Times `iters` calls of `f` with the same loop shape as criterion's `iter`.
#[inline(always)]
fn timed(iters: u64, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed()
}

// ---------------------------------------------------------------------------
// switch: resume + suspend round trip

fn switch(c: &mut Criterion) {
    let mut g = c.benchmark_group("switch");

    let mut raw: Coroutine<u64, u64, (), DefaultStack> = Coroutine::with_stack(
        DefaultStack::new(DEFAULT_STACK_SIZE).expect("map a stack"),
        |yielder: &Yielder<u64, u64>, mut x: u64| loop {
            x = yielder.suspend(x);
        },
    );
    let mut x = 0u64;
    g.bench_function("raw", |b| {
        b.iter(|| match raw.resume(black_box(x)) {
            CoroutineResult::Yield(v) => x = v.wrapping_add(1),
            CoroutineResult::Return(()) => unreachable!(),
        })
    });

    let mut stage = Stage::new(());
    let h = stage
        .spawn(|co: &mut Co<(), u64, u64>, mut x: u64| -> Eff<Yields, ()> {
            loop {
                x = co.suspend(x)?;
            }
        })
        .expect("spawn");
    let mut x = 0u64;
    g.bench_function("coshare", |b| {
        b.iter(|| match stage.resume(h, black_box(x)) {
            Ok(Resumed::Yield(v)) => x = v.wrapping_add(1),
            _ => unreachable!(),
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------
// switch_state: the round trip plus one state update per event

fn switch_state(c: &mut Criterion) {
    let mut g = c.benchmark_group("switch_state");

    // Raw corosensei, the state behind a raw pointer (what coshare does
    // inside, without the types that make it safe).
    let state: *mut Counters = Box::into_raw(Box::default());
    let mut raw_ptr: Coroutine<u64, (), (), DefaultStack> = Coroutine::with_stack(
        DefaultStack::new(DEFAULT_STACK_SIZE).expect("map a stack"),
        move |yielder: &Yielder<u64, ()>, mut x: u64| loop {
            // SAFETY: the box outlives the coroutine (freed after it is
            // dropped below) and only this coroutine touches it meanwhile.
            bump(unsafe { &mut *state }, x);
            x = yielder.suspend(());
        },
    );
    g.bench_function("raw_ptr", |b| {
        b.iter(|| raw_ptr.resume(black_box(1)).as_yield())
    });
    drop(raw_ptr);
    // SAFETY: from `Box::into_raw` above; the coroutine using it is gone.
    drop(unsafe { Box::from_raw(state) });

    // Raw corosensei, the state behind `Rc<RefCell<_>>`.
    let state = Rc::new(RefCell::new(Counters::default()));
    let shared = Rc::clone(&state);
    let mut raw_refcell: Coroutine<u64, (), (), DefaultStack> = Coroutine::with_stack(
        DefaultStack::new(DEFAULT_STACK_SIZE).expect("map a stack"),
        move |yielder: &Yielder<u64, ()>, mut x: u64| loop {
            bump(&mut shared.borrow_mut(), x);
            x = yielder.suspend(());
        },
    );
    g.bench_function("raw_refcell", |b| {
        b.iter(|| raw_refcell.resume(black_box(1)).as_yield())
    });
    drop(raw_refcell);
    black_box(state.borrow().sum);

    let mut stage = Stage::new(Counters::default());
    let with_state = stage
        .spawn(
            |co: &mut Co<Counters, u64>, mut x: u64| -> Eff<Yields, ()> {
                loop {
                    co.with_state(|s| bump(s, x));
                    x = co.suspend(())?;
                }
            },
        )
        .expect("spawn");
    let state_ref = stage
        .spawn(
            |co: &mut Co<Counters, u64>, mut x: u64| -> Eff<Yields, ()> {
                loop {
                    bump(co.state(), x);
                    x = co.suspend(())?;
                }
            },
        )
        .expect("spawn");
    g.bench_function("coshare_with_state", |b| {
        b.iter(|| stage.resume(with_state, black_box(1)).is_ok())
    });
    g.bench_function("coshare_state", |b| {
        b.iter(|| stage.resume(state_ref, black_box(1)).is_ok())
    });
    black_box(stage.state().sum);
    g.finish();
}

// ---------------------------------------------------------------------------
// access: with_state alone

fn access(c: &mut Criterion) {
    let mut g = c.benchmark_group("access");

    // Each variant goes through an opaque access path per update
    // (`black_box(&mut ..)`), so neither the `&mut` nor the stage's pointer
    // to its state can be hoisted out of the loop.
    let mut plain = Counters::default();
    g.bench_function("plain_mut", |b| {
        b.iter_custom(|iters| timed(iters, || bump(black_box(&mut plain), black_box(1))))
    });
    black_box(plain.sum);

    let mut stage = Stage::new(Counters::default());
    g.bench_function("stage_with_state", |b| {
        b.iter_custom(|iters| {
            timed(iters, || {
                black_box(&mut stage).with_state(|s| bump(s, black_box(1)))
            })
        })
    });

    // Inside a coroutine: the coroutine runs the timed loop itself and
    // hands the elapsed time back.
    let h = stage
        .spawn(
            |co: &mut Co<Counters, u64, Duration>, mut iters: u64| -> Eff<Yields, ()> {
                loop {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(&mut *co).with_state(|s| bump(s, black_box(1)));
                    }
                    iters = co.suspend(start.elapsed())?;
                }
            },
        )
        .expect("spawn");
    g.bench_function("co_with_state", |b| {
        b.iter_custom(|iters| match stage.resume(h, iters) {
            Ok(Resumed::Yield(elapsed)) => elapsed,
            _ => unreachable!(),
        })
    });
    black_box(stage.state().sum);

    // Part access through `#[derive(CoroutineShareable)]`: by type and by
    // field name. Both must compile to the field access itself.
    let mut parts = Stage::new(Parts::default());
    g.bench_function("stage_part", |b| {
        b.iter_custom(|iters| {
            timed(iters, || {
                bump(black_box(&mut parts).part::<Counters, _>(), black_box(1))
            })
        })
    });
    g.bench_function("stage_field", |b| {
        b.iter_custom(|iters| {
            timed(iters, || {
                bump(
                    black_box(&mut parts).field::<Label!(counters), Counters, _>(),
                    black_box(1),
                )
            })
        })
    });
    black_box(parts.state().counters.sum);
    g.finish();
}

/// A derived shared state for the part-access benches.
#[derive(Default, CoroutineShareable)]
struct Parts {
    names: Vec<String>,
    counters: Counters,
    ticks: u64,
}

// ---------------------------------------------------------------------------
// spawn: spawn + run to completion + drop

fn spawn(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn");

    // Raw corosensei lending one stack by reference: the cheapest way to
    // create and run a coroutine. (`Coroutine` needs a `'static` stack, so
    // a borrowed one goes through `ScopedCoroutine`, a thin wrapper around
    // it; corosensei's own `coroutine_call` bench does the same.)
    let mut stack = DefaultStack::new(DEFAULT_STACK_SIZE).expect("map a stack");
    g.bench_function("raw_reuse", |b| {
        b.iter(|| {
            let co: ScopedCoroutine<u64, (), u64, &mut DefaultStack> =
                ScopedCoroutine::with_stack(&mut stack, |_: &Yielder<u64, ()>, x: u64| x);
            co.scope(|mut co| co.resume(black_box(1)).as_return())
        })
    });
    drop(stack);

    // coshare with a warm pool: after the first spawn, every spawn takes the
    // stack its predecessor gave back.
    let mut stage = Stage::new(());
    g.bench_function("coshare", |b| {
        b.iter(|| {
            let h = stage
                .spawn(|_: &mut Co<(), u64>, x: u64| -> Eff<Yields, u64> { Ok(x) })
                .expect("spawn");
            match stage.resume(h, black_box(1)) {
                Ok(Resumed::Return(v)) => v,
                _ => unreachable!(),
            }
        })
    });
    assert_eq!(stage.stats().live, 0);
    drop(stage);

    // Raw corosensei on a fresh guarded stack each time (mmap + mprotect +
    // munmap): what spawning costs without a pool.
    g.bench_function("raw_fresh", |b| {
        b.iter(|| {
            let stack = DefaultStack::new(DEFAULT_STACK_SIZE).expect("map a stack");
            let mut co: Coroutine<u64, (), u64, DefaultStack> =
                Coroutine::with_stack(stack, |_: &Yielder<u64, ()>, x: u64| x);
            co.resume(black_box(1)).as_return()
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------
// pingpong: events that update shared state, five ways

/// The events of the ping-pong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Msg {
    Ping(u64),
    Pong(u64),
}

/// The pinger as a hand-written state machine: it sent `Ping(sent)` and
/// waits for `Pong(sent + 1)`.
enum Pinger {
    AwaitPong { sent: u64 },
    Failed,
}

impl Pinger {
    #[inline]
    fn on(&mut self, state: &mut Counters, msg: Msg) -> Msg {
        match (&*self, msg) {
            (Pinger::AwaitPong { sent }, Msg::Pong(v)) if v == sent + 1 => {
                bump(state, v);
                *self = Pinger::AwaitPong { sent: v };
                Msg::Ping(v)
            }
            _ => {
                *self = Pinger::Failed;
                panic!("pinger: unexpected {msg:?}")
            }
        }
    }
}

/// The ponger as a hand-written state machine: it answers `Ping(v)` with
/// `Pong(v + 1)`.
enum Ponger {
    AwaitPing,
    Failed,
}

impl Ponger {
    #[inline]
    fn on(&mut self, state: &mut Counters, msg: Msg) -> Msg {
        match (&*self, msg) {
            (Ponger::AwaitPing, Msg::Ping(v)) => {
                bump(state, v);
                Msg::Pong(v + 1)
            }
            _ => {
                *self = Ponger::Failed;
                panic!("ponger: unexpected {msg:?}")
            }
        }
    }
}

fn pingpong(c: &mut Criterion) {
    let mut g = c.benchmark_group("pingpong");

    // The lower bound: two enum state machines and a dispatch loop.
    let mut state = Counters::default();
    let mut pinger = Pinger::AwaitPong { sent: 0 };
    let mut ponger = Ponger::AwaitPing;
    let mut msg = Msg::Ping(0);
    g.bench_function("state_machine", |b| {
        b.iter(|| {
            let pong = ponger.on(&mut state, black_box(msg));
            msg = pinger.on(&mut state, pong);
        })
    });
    black_box(state.sum);

    // Two coroutines, dispatched by the main stack in the same loop.
    let mut stage = Stage::new(Counters::default());
    let pinger = stage
        .spawn(
            |co: &mut Co<Counters, Msg, Msg>, mut msg: Msg| -> Eff<Yields, ()> {
                let mut sent = 0;
                loop {
                    match msg {
                        Msg::Pong(v) if v == sent + 1 => {
                            co.with_state(|s| bump(s, v));
                            sent = v;
                            msg = co.suspend(Msg::Ping(v))?;
                        }
                        other => panic!("pinger: unexpected {other:?}"),
                    }
                }
            },
        )
        .expect("spawn");
    let ponger = stage
        .spawn(
            |co: &mut Co<Counters, Msg, Msg>, mut msg: Msg| -> Eff<Yields, ()> {
                loop {
                    match msg {
                        Msg::Ping(v) => {
                            co.with_state(|s| bump(s, v));
                            msg = co.suspend(Msg::Pong(v + 1))?;
                        }
                        other => panic!("ponger: unexpected {other:?}"),
                    }
                }
            },
        )
        .expect("spawn");
    let mut msg = Msg::Ping(0);
    g.bench_function("coshare_stage", |b| {
        b.iter(|| {
            let Ok(Resumed::Yield(pong)) = stage.resume(ponger, black_box(msg)) else {
                unreachable!()
            };
            let Ok(Resumed::Yield(ping)) = stage.resume(pinger, pong) else {
                unreachable!()
            };
            msg = ping;
        })
    });
    black_box(stage.state().sum);
    drop(stage);

    // Two driver tasks over two driver channels of capacity 1. The pinger
    // times its own loop, so building the driver and mapping its stacks is
    // not counted.
    g.bench_function("coshare_driver", |b| b.iter_custom(driver_pingpong));

    // The same two parties on raw corosensei coroutines, with a minimal
    // hand-written run queue and one-message channels: what a stackful
    // scheduler dispatching from the main stack costs at the least. Timed
    // the same way.
    g.bench_function("raw_scheduler", |b| b.iter_custom(raw_scheduler_pingpong));

    // Two tokio tasks over two tokio channels of capacity 1, the state in an
    // `Rc<RefCell<_>>`, timed the same way.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| tokio_pingpong(&runtime, iters))
    });
    g.finish();
}

fn driver_pingpong(iters: u64) -> Duration {
    let mut driver = DriverBuilder::new()
        .virtual_clock()
        .build(Counters::default());
    let (ping_tx, mut ping_rx) = driver.handle().channel::<u64>(1);
    let (pong_tx, mut pong_rx) = driver.handle().channel::<u64>(1);
    driver
        .spawn(move |t: &mut Task<'_, Counters>| -> Eff<Yields, ()> {
            while let Ok(v) = t.recv(&mut ping_rx)? {
                t.with_state(|s| bump(s, v));
                if t.send(&pong_tx, v + 1)?.is_err() {
                    break;
                }
            }
            Ok(())
        })
        .expect("spawn");
    let pinger = driver
        .spawn(move |t: &mut Task<'_, Counters>| -> Eff<Yields, Duration> {
            let start = Instant::now();
            for i in 0..iters {
                t.send(&ping_tx, black_box(i))?.expect("send");
                let v = t.recv(&mut pong_rx)?.expect("recv");
                assert!(v == i + 1, "pinger: unexpected {v}");
                t.with_state(|s| bump(s, v));
            }
            Ok(start.elapsed())
        })
        .expect("spawn");
    let elapsed = driver
        .block_on(pinger)
        .expect("no deadlock")
        .expect("the pinger returns");
    assert_eq!(driver.state().events, 2 * iters);
    elapsed
}

/// The run queue and channels of `raw_scheduler_pingpong`: about the least
/// a stackful scheduler can do. The queue is a fixed ring of party numbers,
/// each channel holds one message, and each party records the one channel
/// end it waits on. Nothing is checked or described: no task table, no
/// wake-up sequence numbers, no cancellation, no deadlock report.
#[derive(Default)]
struct RawScheduler {
    /// Ready parties, `len` of them from `head` (two parties, so a party
    /// is never queued twice and four places are enough).
    ring: [Cell<u8>; 4],
    head: Cell<u8>,
    len: Cell<u8>,
    /// The two channels of capacity 1.
    chans: [Cell<Option<u64>>; 2],
    /// Per party: 0 if it does not wait, else `1 + 2 * channel + is_send`.
    waits: [Cell<u8>; 2],
}

impl RawScheduler {
    #[inline(always)]
    fn push(&self, party: u8) {
        let at = (self.head.get() + self.len.get()) & 3;
        self.ring[usize::from(at)].set(party);
        self.len.set(self.len.get() + 1);
    }

    #[inline(always)]
    fn pop(&self) -> Option<u8> {
        if self.len.get() == 0 {
            return None;
        }
        let party = self.ring[usize::from(self.head.get())].get();
        self.head.set((self.head.get() + 1) & 3);
        self.len.set(self.len.get() - 1);
        Some(party)
    }

    /// Makes `party` ready if it waits on the channel end `wait`.
    #[inline(always)]
    fn wake(&self, party: usize, wait: u8) {
        if self.waits[party].get() == wait {
            self.waits[party].set(0);
            self.push(party as u8);
        }
    }

    /// Sends `v` on `chan` from `me` to `peer`, waiting while it is full.
    #[inline(always)]
    fn send(&self, y: &Yielder<(), ()>, me: usize, peer: usize, chan: usize, v: u64) {
        let end = 1 + 2 * chan as u8;
        while self.chans[chan].get().is_some() {
            self.waits[me].set(end + 1);
            y.suspend(());
        }
        self.chans[chan].set(Some(v));
        self.wake(peer, end);
    }

    /// Receives on `chan` for `me` from `peer`, waiting while it is empty.
    #[inline(always)]
    fn recv(&self, y: &Yielder<(), ()>, me: usize, peer: usize, chan: usize) -> u64 {
        let end = 1 + 2 * chan as u8;
        loop {
            if let Some(v) = self.chans[chan].take() {
                self.wake(peer, end + 1);
                return v;
            }
            self.waits[me].set(end);
            y.suspend(());
        }
    }
}

fn raw_scheduler_pingpong(iters: u64) -> Duration {
    const PINGER: usize = 0;
    const PONGER: usize = 1;
    const PING: usize = 0;
    const PONG: usize = 1;
    let sched = Rc::new(RawScheduler::default());
    let state = Rc::new(RefCell::new(Counters::default()));
    let ponger: Coroutine<(), (), Option<Duration>> = Coroutine::new({
        let (sched, state) = (Rc::clone(&sched), Rc::clone(&state));
        move |y: &Yielder<(), ()>, ()| {
            for _ in 0..iters {
                let v = sched.recv(y, PONGER, PINGER, PING);
                bump(&mut state.borrow_mut(), v);
                sched.send(y, PONGER, PINGER, PONG, v + 1);
            }
            None
        }
    });
    let pinger: Coroutine<(), (), Option<Duration>> = Coroutine::new({
        let (sched, state) = (Rc::clone(&sched), Rc::clone(&state));
        move |y: &Yielder<(), ()>, ()| {
            let start = Instant::now();
            for i in 0..iters {
                sched.send(y, PINGER, PONGER, PING, black_box(i));
                let v = sched.recv(y, PINGER, PONGER, PONG);
                assert!(v == i + 1, "pinger: unexpected {v}");
                bump(&mut state.borrow_mut(), v);
            }
            Some(start.elapsed())
        }
    });
    let mut parties = [pinger, ponger];
    sched.push(PONGER as u8);
    sched.push(PINGER as u8);
    let mut elapsed = None;
    while let Some(party) = sched.pop() {
        if let CoroutineResult::Return(Some(time)) = parties[usize::from(party)].resume(()) {
            elapsed = Some(time);
        }
    }
    assert_eq!(state.borrow().events, 2 * iters);
    elapsed.expect("the pinger returns")
}

fn tokio_pingpong(runtime: &tokio::runtime::Runtime, iters: u64) -> Duration {
    use tokio::sync::mpsc;
    let local = tokio::task::LocalSet::new();
    let state = Rc::new(RefCell::new(Counters::default()));
    let elapsed = local.block_on(runtime, {
        let state = Rc::clone(&state);
        async move {
            let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
            let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
            let ponger = tokio::task::spawn_local({
                let state = Rc::clone(&state);
                async move {
                    while let Some(v) = ping_rx.recv().await {
                        bump(&mut state.borrow_mut(), v);
                        if pong_tx.send(v + 1).await.is_err() {
                            break;
                        }
                    }
                }
            });
            let pinger = tokio::task::spawn_local(async move {
                let start = Instant::now();
                for i in 0..iters {
                    ping_tx.send(black_box(i)).await.expect("send");
                    let v = pong_rx.recv().await.expect("recv");
                    assert!(v == i + 1, "pinger: unexpected {v}");
                    bump(&mut state.borrow_mut(), v);
                }
                start.elapsed()
            });
            let elapsed = pinger.await.expect("the pinger returns");
            ponger.await.expect("the ponger returns");
            elapsed
        }
    });
    assert_eq!(state.borrow().events, 2 * iters);
    elapsed
}

// ---------------------------------------------------------------------------
// driver: many waiting tasks

/// The task counts the issue asks for.
const TASK_COUNTS: [usize; 2] = [10_000, 100_000];

/// Stack size of the many-task workloads.
const SMALL_STACK: usize = 16 * 1024;

/// Timer periods, in milliseconds, given to tasks in turn. Each divides
/// [`TIMER_WINDOW_MS`], so every window fires the same timers.
const PERIODS_MS: [u64; 4] = [1, 2, 5, 10];

/// How far one iteration of the timer workload moves the virtual clock.
const TIMER_WINDOW_MS: u64 = 10;

/// A driver with `wanted` tasks, or as many as the process may map (spawn
/// stops at the first `ErrorKind::StackLimit`). `task` makes the body of
/// task `i`.
fn many_tasks<F>(
    wanted: usize,
    mut task: impl FnMut(&mut Driver<Counters>, usize) -> F,
) -> Driver<Counters>
where
    F: FnOnce(&mut Task<'_, Counters>) -> Eff<Yields, ()> + 'static,
{
    let stage = StageBuilder::new()
        .stack_size(SMALL_STACK)
        .expect("stack size");
    let mut driver = DriverBuilder::new()
        .virtual_clock()
        .stage(stage)
        .build(Counters::default());
    for i in 0..wanted {
        let body = task(&mut driver, i);
        match driver.spawn(body) {
            Ok(_) => {}
            Err(err) if err.kind() == ErrorKind::StackLimit => break,
            Err(err) => panic!("spawning task {i}: {}", err.error()),
        }
    }
    driver
}

/// One many-task workload, set up lazily (only if criterion runs it).
struct Workload {
    driver: Driver<Counters>,
    tasks: usize,
    /// Wake-ups per iteration.
    events: u64,
    /// For the channel workload: one sender per task.
    senders: Vec<Sender<u64>>,
}

fn timer_workload(wanted: usize) -> Workload {
    let mut driver = many_tasks(wanted, |_, i| {
        let period = Duration::from_millis(PERIODS_MS[i % PERIODS_MS.len()]);
        move |t: &mut Task<'_, Counters>| -> Eff<Yields, ()> {
            loop {
                t.sleep(period)?;
                t.with_state(|s| bump(s, 1));
            }
        }
    });
    let tasks = driver.stats().live;
    let events = (0..tasks)
        .map(|i| TIMER_WINDOW_MS / PERIODS_MS[i % PERIODS_MS.len()])
        .sum();
    // Start every task (each registers its first timer) and run one window,
    // which also touches every stack once.
    let window = Duration::from_millis(TIMER_WINDOW_MS);
    driver.run_for(window).expect("no deadlock");
    let before = driver.state().events;
    driver.run_for(window).expect("no deadlock");
    assert_eq!(
        driver.state().events - before,
        events,
        "timer events per window"
    );
    Workload {
        driver,
        tasks,
        events,
        senders: Vec::new(),
    }
}

fn channel_workload(wanted: usize) -> Workload {
    let mut senders = Vec::with_capacity(wanted.min(TASK_COUNTS[1]));
    let mut driver = many_tasks(wanted, |driver, _| {
        let (tx, mut rx) = driver.handle().channel::<u64>(1);
        senders.push(tx);
        move |t: &mut Task<'_, Counters>| -> Eff<Yields, ()> {
            while let Ok(v) = t.recv(&mut rx)? {
                t.with_state(|s| bump(s, v));
            }
            Ok(())
        }
    });
    let tasks = driver.stats().live;
    // The sender made for a spawn that failed has no receiver any more.
    senders.truncate(tasks);
    driver.run_until_idle();
    let workload = Workload {
        driver,
        tasks,
        events: tasks as u64,
        senders,
    };
    let mut workload = workload;
    let before = workload.driver.state().events;
    channel_round(&mut workload);
    assert_eq!(
        workload.driver.state().events - before,
        workload.events,
        "channel events per round"
    );
    workload
}

/// One message to every task from the main stack, then run until idle.
fn channel_round(w: &mut Workload) {
    for tx in &w.senders {
        tx.try_send(black_box(1)).expect("room in the channel");
    }
    w.driver.run_until_idle();
}

/// What the table needs to know about a many-task benchmark.
struct DriverRun {
    id: String,
    label: String,
    tasks: Rc<Cell<usize>>,
    events: Rc<Cell<u64>>,
    wanted: usize,
}

fn driver(c: &mut Criterion, report: &mut Report) {
    for wanted in TASK_COUNTS {
        driver_one(c, report, "timers", wanted, timer_workload, |w| {
            w.driver
                .run_for(Duration::from_millis(TIMER_WINDOW_MS))
                .expect("no deadlock")
        });
        driver_one(
            c,
            report,
            "channels",
            wanted,
            channel_workload,
            channel_round,
        );
    }
}

fn driver_one(
    c: &mut Criterion,
    report: &mut Report,
    kind: &str,
    wanted: usize,
    setup: fn(usize) -> Workload,
    round: fn(&mut Workload),
) {
    let id = format!("{kind}_{wanted}");
    let tasks = Rc::new(Cell::new(0));
    let events = Rc::new(Cell::new(0));
    let mut g = c.benchmark_group("driver");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(3));
    let mut workload: Option<Workload> = None;
    g.bench_function(&id, |b| {
        let w = workload.get_or_insert_with(|| {
            let w = setup(wanted);
            tasks.set(w.tasks);
            events.set(w.events);
            if w.tasks < wanted {
                let stats = budget_line(w.driver.stats());
                eprintln!(
                    "note: {wanted} live tasks cannot exist in this process: {stats}; \
                     benchmarking {} tasks instead",
                    w.tasks
                );
            }
            w
        });
        b.iter(|| round(w))
    });
    g.finish();
    drop(workload);
    report.drivers.push(DriverRun {
        id: format!("driver/{id}"),
        label: format!("{kind}, {wanted} tasks wanted"),
        tasks,
        events,
        wanted,
    });
}

/// A one-line description of the process's stack budget.
fn budget_line(stats: coshare::Stats) -> String {
    let max_map_count = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned());
    format!(
        "vm.max_map_count = {max_map_count} allows {} guarded stacks per process \
         (two maps each, 2048 maps left to the rest), {} are mapped now",
        stats.process_stack_limit, stats.process_mapped_stacks
    )
}

// ---------------------------------------------------------------------------
// The table

/// What a ratio (this / baseline) must be.
#[derive(Clone, Copy)]
enum Target {
    /// At most this many times the baseline.
    AtMost(f64),
    /// Faster than the baseline.
    Faster,
    /// At least this many times faster than the baseline.
    FasterBy(f64),
    /// No target: the ratio is reported.
    Report,
}

struct Comparison {
    what: &'static str,
    this: &'static str,
    baseline: &'static str,
    target: Target,
}

const COMPARISONS: &[Comparison] = &[
    Comparison {
        what: "resume+suspend round trip",
        this: "switch/coshare",
        baseline: "switch/raw",
        target: Target::AtMost(1.25),
    },
    Comparison {
        what: "round trip + with_state update",
        this: "switch_state/coshare_with_state",
        baseline: "switch_state/raw_ptr",
        target: Target::AtMost(1.15),
    },
    Comparison {
        what: "round trip + state() update",
        this: "switch_state/coshare_state",
        baseline: "switch_state/raw_ptr",
        target: Target::AtMost(1.15),
    },
    Comparison {
        what: "round trip + with_state update",
        this: "switch_state/coshare_with_state",
        baseline: "switch_state/raw_refcell",
        target: Target::Faster,
    },
    Comparison {
        what: "round trip + state() update",
        this: "switch_state/coshare_state",
        baseline: "switch_state/raw_refcell",
        target: Target::Faster,
    },
    Comparison {
        what: "stage.with_state access",
        this: "access/stage_with_state",
        baseline: "access/plain_mut",
        target: Target::AtMost(1.05),
    },
    Comparison {
        what: "co.with_state access",
        this: "access/co_with_state",
        baseline: "access/plain_mut",
        target: Target::AtMost(1.05),
    },
    Comparison {
        what: "part access by type (derive)",
        this: "access/stage_part",
        baseline: "access/plain_mut",
        target: Target::AtMost(1.05),
    },
    Comparison {
        what: "part access by field name (derive)",
        this: "access/stage_field",
        baseline: "access/plain_mut",
        target: Target::AtMost(1.05),
    },
    Comparison {
        what: "spawn+run+drop, warm pool",
        this: "spawn/coshare",
        baseline: "spawn/raw_reuse",
        target: Target::AtMost(2.0),
    },
    Comparison {
        what: "spawn+run+drop, warm pool",
        this: "spawn/coshare",
        baseline: "spawn/raw_fresh",
        target: Target::FasterBy(300.0),
    },
    Comparison {
        what: "ping-pong, stage coroutines",
        this: "pingpong/coshare_stage",
        baseline: "pingpong/state_machine",
        target: Target::Report,
    },
    Comparison {
        what: "ping-pong, driver channels",
        this: "pingpong/coshare_driver",
        baseline: "pingpong/state_machine",
        target: Target::Report,
    },
    Comparison {
        what: "ping-pong, tokio channels",
        this: "pingpong/tokio",
        baseline: "pingpong/state_machine",
        target: Target::Report,
    },
    Comparison {
        what: "ping-pong, driver channels",
        this: "pingpong/coshare_driver",
        baseline: "pingpong/tokio",
        target: Target::FasterBy(10.0),
    },
    Comparison {
        what: "ping-pong, driver channels",
        this: "pingpong/coshare_driver",
        baseline: "pingpong/raw_scheduler",
        target: Target::Report,
    },
    Comparison {
        what: "ping-pong, minimal raw scheduler",
        this: "pingpong/raw_scheduler",
        baseline: "pingpong/tokio",
        target: Target::Report,
    },
    Comparison {
        what: "ping-pong, stage coroutines",
        this: "pingpong/coshare_stage",
        baseline: "pingpong/tokio",
        target: Target::Report,
    },
];

#[derive(Default)]
struct Report {
    drivers: Vec<DriverRun>,
}

/// A median read back from criterion, with its confidence interval.
struct Estimate {
    median: f64,
    low: f64,
    high: f64,
}

/// The median of `id` (`group/bench`) from this run, in nanoseconds, or
/// `None` if it did not run in this process.
fn estimate(dir: &Path, id: &str, since: SystemTime) -> Option<Estimate> {
    let path = dir.join(id).join("new").join("estimates.json");
    let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
    if modified < since {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    let median = &json["median"];
    Some(Estimate {
        median: median["point_estimate"].as_f64()?,
        low: median["confidence_interval"]["lower_bound"].as_f64()?,
        high: median["confidence_interval"]["upper_bound"].as_f64()?,
    })
}

fn fmt_time(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.2} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

fn fmt_estimate(e: &Estimate) -> String {
    let spread = (e.high - e.low) / 2.0 / e.median * 100.0;
    format!("{} ±{spread:.0}%", fmt_time(e.median))
}

fn fmt_rate(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{:.2} M/s", per_second / 1e6)
    } else {
        format!("{:.0} k/s", per_second / 1e3)
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores available")
}

fn print_table(report: &Report, dir: &Path, since: SystemTime) {
    println!();
    println!("## coshare vs baselines ({})", machine());
    println!();
    println!("Medians of criterion's samples (± half the 95% interval of the median).");
    println!("Ratio = this / baseline: lower is better.");
    println!();
    println!("| what | this | median | baseline | median | ratio | target | result |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut missed = 0;
    for c in COMPARISONS {
        let this = estimate(dir, c.this, since);
        let base = estimate(dir, c.baseline, since);
        let (this_s, base_s) = (
            this.as_ref().map_or("not run".into(), fmt_estimate),
            base.as_ref().map_or("not run".into(), fmt_estimate),
        );
        let (ratio, target, result) = match (&this, &base) {
            (Some(t), Some(b)) => {
                let ratio = t.median / b.median;
                let (target, met) = match c.target {
                    Target::AtMost(max) => (format!("≤ {max:.2}x"), Some(ratio <= max)),
                    Target::Faster => ("< 1x".to_owned(), Some(ratio < 1.0)),
                    Target::FasterBy(by) => (
                        format!("≥ {by:.0}x faster"),
                        Some(b.median / t.median >= by),
                    ),
                    Target::Report => ("report".to_owned(), None),
                };
                let ratio = if ratio < 0.1 {
                    format!("{ratio:.4}x (1/{:.0})", 1.0 / ratio)
                } else if ratio < 1.0 {
                    format!("{ratio:.3}x (1/{:.1})", 1.0 / ratio)
                } else {
                    format!("{ratio:.3}x")
                };
                let result = match met {
                    Some(true) => "met",
                    Some(false) => {
                        missed += 1;
                        "**MISSED**"
                    }
                    None => "",
                };
                (ratio, target, result.to_owned())
            }
            _ => ("-".into(), "-".into(), "not run".into()),
        };
        println!(
            "| {} | `{}` | {this_s} | `{}` | {base_s} | {ratio} | {target} | {result} |",
            c.what, c.this, c.baseline
        );
    }
    println!();
    println!(
        "Driver workloads (virtual clock, {SMALL_STACK}-byte stacks); one iteration wakes every task"
    );
    println!("once per timer expiry or message:");
    println!();
    println!("| workload | tasks | events / iteration | median / iteration | events / s |");
    println!("|---|---|---|---|---|");
    for d in &report.drivers {
        match estimate(dir, &d.id, since) {
            Some(e) => {
                let tasks = d.tasks.get();
                let note = if tasks < d.wanted {
                    format!("{tasks} (limit; {} wanted)", d.wanted)
                } else {
                    tasks.to_string()
                };
                let events = d.events.get();
                println!(
                    "| `{}` | {note} | {events} | {} | {} |",
                    d.id,
                    fmt_estimate(&e),
                    fmt_rate(events as f64 / (e.median * 1e-9))
                );
            }
            None => println!("| `{}` ({}) | - | - | not run | - |", d.id, d.label),
        }
    }
    if report
        .drivers
        .iter()
        .any(|d| d.tasks.get() < d.wanted && d.tasks.get() > 0)
    {
        println!();
        println!(
            "Task counts marked \"limit\" are the most guarded stacks this process may map: \
             each stack takes two memory maps and Linux allows vm.max_map_count \
             ({}) per process. Raise it (sysctl vm.max_map_count) to run more.",
            std::fs::read_to_string("/proc/sys/vm/max_map_count")
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|_| "unknown".into())
        );
    }
    println!();
    if missed == 0 {
        println!("All targets that ran were met.");
    } else {
        println!("{missed} target(s) MISSED.");
    }
}

/// Where criterion writes its estimates: `$CRITERION_HOME`, or
/// `criterion/` in the target directory this binary was built in.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    // The bench binary is <target>/<profile>/deps/compare-<hash>.
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.join("criterion")))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

fn main() {
    let since = SystemTime::now();
    let dir = criterion_dir();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
        .nresamples(10_000)
        .without_plots()
        .output_directory(&dir)
        .configure_from_args();
    let mut report = Report::default();

    switch(&mut criterion);
    switch_state(&mut criterion);
    access(&mut criterion);
    spawn(&mut criterion);
    pingpong(&mut criterion);
    driver(&mut criterion, &mut report);
    criterion.final_summary();

    // Only a benchmark run (`cargo bench`) writes estimates; `cargo test
    // --benches`, `--list` and `--profile-time` do not.
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--bench") && !has("--test") && !has("--list") && !has("--profile-time") {
        print_table(&report, &dir, since);
    }
}
