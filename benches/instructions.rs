//! Instruction counts of the hot paths, under callgrind (through gungraun),
//! with a hard limit per benchmark: the gate that keeps the crate fast.
//!
//! ```text
//! cargo install gungraun-runner --version 0.20.0   # once; must match the library
//! cargo bench --bench instructions
//! ```
//!
//! Each benchmark runs a workload `N` times in one function; everything it
//! needs is built in a setup function that callgrind does not count, so the
//! count divided by `N` is the cost of one step (the call into the function
//! adds a few instructions in all, not per step). Instruction counts do not
//! move with the noise of a shared machine, so every benchmark has a hard
//! limit: its count when the baseline was taken ([`BASELINE`]), plus 3%.
//! Above it, gungraun reports a regression and the run fails (CI runs it).
//! After a deliberate change, take the new counts from the output, update
//! [`BASELINE`], and say why in the commit.
//!
//! The pairs to compare, each measured here against its hand-written
//! baseline in the same run:
//!
//! * `round_trip`: a resume + suspend round trip through a stage handle,
//!   against raw corosensei (`raw_round_trip`);
//! * `spawn_run_drop`: spawn a coroutine, run it to its end, drop it, with
//!   a warm pool, against raw corosensei lending it one stack by reference
//!   (`raw_spawn_run_drop`);
//! * `with_state` and `part_access` (through the derive), against a plain
//!   `&mut` update (`plain_update`);
//! * `driver_pingpong`: two driver tasks exchange a message over two
//!   channels (one step = one round trip);
//! * `thread_ring`: 503 driver tasks pass a token around a ring of
//!   channels (one step = one hop);
//! * `deadline_scope` and `task_scope`: a block run inside a cancel scope
//!   whose deadline never fires (`Task::timeout`), and inside a task scope
//!   with no children (`Task::scope`), against the same block run plainly
//!   in the same task (`plain_block`). The difference is what a scope
//!   costs.

// The benchmark macros generate undocumented modules.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, ScopedCoroutine, Yielder};
use coshare::driver::{Driver, DriverBuilder, Sender, Task};
use coshare::prelude::*;
use coshare::{Co, CoroutineShareable, Eff, Handle, Resumed, Stage, StageBuilder, Yields};
use gungraun::{
    Callgrind, EventKind, LibraryBenchmarkConfig, library_benchmark, library_benchmark_group, main,
};

/// Steps per benchmark.
const N: u64 = 10_000;

/// The instruction count of each benchmark (all `N` steps) when the
/// baseline was taken; the limit is 3% above.
const BASELINE: &[(&str, u64)] = &[
    ("raw_round_trip", 370_050),
    ("round_trip", 630_064),
    ("raw_spawn_run_drop", 530_026),
    ("spawn_run_drop", 1_600_025),
    ("plain_update", 110_010),
    ("with_state", 120_010),
    ("part_access", 120_010),
    ("driver_pingpong", 5_622_726),
    ("thread_ring", 2_793_588),
    ("plain_block", 131_396),
    ("deadline_scope", 1_971_748),
    ("task_scope", 201_408),
];

/// The configuration of benchmark `name`: a hard limit 3% above its
/// baseline.
fn limit(name: &str) -> LibraryBenchmarkConfig {
    let baseline = BASELINE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, count)| count)
        .unwrap_or_else(|| panic!("no baseline for `{name}`"));
    let mut config = LibraryBenchmarkConfig::default();
    config.tool(Callgrind::default().hard_limits([(EventKind::Ir, baseline * 103 / 100)]));
    config
}

// ---------------------------------------------------------------------------
// The core: round trip

type RawLoop = Coroutine<u64, u64, (), DefaultStack>;

fn raw_loop() -> RawLoop {
    Coroutine::with_stack(
        DefaultStack::new(256 * 1024).expect("map a stack"),
        |yielder: &Yielder<u64, u64>, mut x: u64| loop {
            x = yielder.suspend(x);
        },
    )
}

#[library_benchmark(config = limit("raw_round_trip"))]
#[bench::n(setup = raw_loop)]
fn raw_round_trip(mut co: RawLoop) -> RawLoop {
    let mut x = 0u64;
    for _ in 0..N {
        match co.resume(black_box(x)) {
            CoroutineResult::Yield(v) => x = v.wrapping_add(1),
            CoroutineResult::Return(()) => unreachable!(),
        }
    }
    co
}

fn stage_loop() -> (Stage<()>, Handle<u64, u64, ()>) {
    let mut stage = Stage::new(());
    let h = stage
        .spawn(|co: &mut Co<(), u64, u64>, mut x: u64| -> Eff<Yields, ()> {
            loop {
                x = co.suspend(x)?;
            }
        })
        .expect("spawn");
    (stage, h)
}

#[library_benchmark(config = limit("round_trip"))]
#[bench::n(setup = stage_loop)]
fn round_trip((mut stage, h): (Stage<()>, Handle<u64, u64, ()>)) -> Stage<()> {
    let mut x = 0u64;
    for _ in 0..N {
        match stage.resume(h, black_box(x)) {
            Ok(Resumed::Yield(v)) => x = v.wrapping_add(1),
            _ => unreachable!(),
        }
    }
    stage
}

// ---------------------------------------------------------------------------
// The core: spawn + run + drop

fn a_stack() -> DefaultStack {
    DefaultStack::new(256 * 1024).expect("map a stack")
}

#[library_benchmark(config = limit("raw_spawn_run_drop"))]
#[bench::n(setup = a_stack)]
fn raw_spawn_run_drop(mut stack: DefaultStack) -> DefaultStack {
    for _ in 0..N {
        let co: ScopedCoroutine<u64, (), u64, &mut DefaultStack> =
            ScopedCoroutine::with_stack(&mut stack, |_: &Yielder<u64, ()>, x: u64| x);
        black_box(co.scope(|mut co| co.resume(black_box(1)).as_return()));
    }
    stack
}

/// A stage whose pool holds a warm stack.
fn warm_stage() -> Stage<()> {
    let mut stage = Stage::new(());
    let h = stage
        .spawn(|_: &mut Co<(), u64>, x: u64| -> Eff<Yields, u64> { Ok(x) })
        .expect("spawn");
    stage.resume(h, 0).expect("runs");
    stage
}

#[library_benchmark(config = limit("spawn_run_drop"))]
#[bench::n(setup = warm_stage)]
fn spawn_run_drop(mut stage: Stage<()>) -> Stage<()> {
    for _ in 0..N {
        let h = stage
            .spawn(|_: &mut Co<(), u64>, x: u64| -> Eff<Yields, u64> { Ok(x) })
            .expect("spawn");
        match stage.resume(h, black_box(1)) {
            Ok(Resumed::Return(v)) => {
                black_box(v);
            }
            _ => unreachable!(),
        }
    }
    stage
}

// ---------------------------------------------------------------------------
// State access

#[derive(Default)]
struct Counters {
    events: u64,
    sum: u64,
}

fn bump(state: &mut Counters, value: u64) {
    state.events += 1;
    state.sum = state.sum.wrapping_add(value);
}

#[derive(Default, CoroutineShareable)]
struct Parts {
    names: Vec<String>,
    counters: Counters,
    ticks: u64,
}

#[library_benchmark(config = limit("plain_update"))]
#[bench::n(setup = Counters::default)]
fn plain_update(mut counters: Counters) -> Counters {
    for _ in 0..N {
        bump(black_box(&mut counters), black_box(1));
    }
    counters
}

fn counters_stage() -> Stage<Counters> {
    Stage::new(Counters::default())
}

fn parts_stage() -> Stage<Parts> {
    Stage::new(Parts::default())
}

#[library_benchmark(config = limit("with_state"))]
#[bench::n(setup = counters_stage)]
fn with_state(mut stage: Stage<Counters>) -> Stage<Counters> {
    for _ in 0..N {
        black_box(&mut stage).with_state(|s| bump(s, black_box(1)));
    }
    stage
}

#[library_benchmark(config = limit("part_access"))]
#[bench::n(setup = parts_stage)]
fn part_access(mut stage: Stage<Parts>) -> Stage<Parts> {
    for _ in 0..N {
        bump(black_box(&mut stage).part::<Counters>(), black_box(1));
    }
    stage
}

// ---------------------------------------------------------------------------
// The driver

/// Two tasks: the pinger waits for the go signal on `start`, then sends `N`
/// pings and waits for each pong.
fn pingpong() -> (Driver<Counters>, Sender<u64>) {
    let mut driver = DriverBuilder::new()
        .virtual_clock()
        .build(Counters::default());
    let (ping_tx, mut ping_rx) = driver.handle().channel::<u64>(1);
    let (pong_tx, mut pong_rx) = driver.handle().channel::<u64>(1);
    let (start_tx, mut start_rx) = driver.handle().channel::<u64>(1);
    driver
        .spawn(move |t: &mut Task<Counters>| -> Eff<Yields, ()> {
            while let Ok(v) = t.recv(&mut ping_rx)? {
                t.with_state(|s| bump(s, v));
                if t.send(&pong_tx, v + 1)?.is_err() {
                    break;
                }
            }
            Ok(())
        })
        .expect("spawn");
    driver
        .spawn(move |t: &mut Task<Counters>| -> Eff<Yields, ()> {
            let rounds = t.recv(&mut start_rx)?.expect("the go signal");
            for i in 0..rounds {
                t.send(&ping_tx, black_box(i))?.expect("send");
                let v = t.recv(&mut pong_rx)?.expect("recv");
                t.with_state(|s| bump(s, v));
            }
            Ok(())
        })
        .expect("spawn");
    driver.run_until_idle(); // both wait
    (driver, start_tx)
}

#[library_benchmark(config = limit("driver_pingpong"))]
#[bench::n(setup = pingpong)]
fn driver_pingpong((mut driver, start): (Driver<Counters>, Sender<u64>)) -> Driver<Counters> {
    start.try_send(N).expect("room");
    driver.run_until_idle();
    assert_eq!(driver.state().events, 2 * N);
    driver
}

const RING: usize = 503;

/// 503 tasks, each waiting on its own channel; returns the first channel.
fn ring() -> (Driver<u64>, Sender<u64>) {
    let mut driver = DriverBuilder::new()
        .virtual_clock()
        .stage(
            StageBuilder::new()
                .stack_size(16 * 1024)
                .expect("a valid size"),
        )
        .build(0u64);
    let channels: Vec<_> = (0..RING)
        .map(|_| driver.handle().channel::<u64>(1))
        .collect();
    let senders: Vec<_> = channels.iter().map(|(tx, _)| tx.clone()).collect();
    for (id, (_, mut rx)) in channels.into_iter().enumerate() {
        let next = senders[(id + 1) % RING].clone();
        driver
            .spawn(move |t: &mut Task<u64>| -> Eff<Yields, ()> {
                while let Ok(token) = t.recv(&mut rx)? {
                    if token == 0 {
                        *t.state() = id as u64 + 1;
                        return Ok(());
                    }
                    t.send(&next, token - 1)?.expect("the ring is closed");
                }
                Ok(())
            })
            .expect("spawn");
    }
    driver.run_until_idle();
    (driver, senders[0].clone())
}

#[library_benchmark(config = limit("thread_ring"))]
#[bench::n(setup = ring)]
fn thread_ring((mut driver, first): (Driver<u64>, Sender<u64>)) -> Driver<u64> {
    first.try_send(N).expect("room");
    driver.run_until_idle();
    assert_eq!(*driver.state(), N % RING as u64 + 1);
    driver
}

// ---------------------------------------------------------------------------
// Scopes

/// How a block is run `N` times by the scope benchmarks.
#[derive(Clone, Copy)]
enum Wrap {
    Plain,
    Deadline,
    TaskScope,
}

/// One task that, given the go signal, runs a small block `N` times,
/// wrapped as `wrap` says.
fn scoped(wrap: Wrap) -> (Driver<Counters>, Sender<u64>) {
    let mut driver = DriverBuilder::new()
        .virtual_clock()
        .build(Counters::default());
    let (start_tx, mut start_rx) = driver.handle().channel::<u64>(1);
    driver
        .spawn(move |t: &mut Task<Counters>| -> Eff<Yields, ()> {
            let rounds = t.recv(&mut start_rx)?.expect("the go signal");
            for i in 0..rounds {
                match wrap {
                    Wrap::Plain => black_box(&mut *t).with_state(|s| bump(s, i)),
                    Wrap::Deadline => {
                        let done = t.timeout(Duration::from_secs(3600), |t| {
                            black_box(&mut *t).with_state(|s| bump(s, i));
                            Ok(())
                        })?;
                        black_box(done).expect("the deadline never fires");
                    }
                    Wrap::TaskScope => {
                        let done = t.scope(|s| {
                            black_box(&mut **s).with_state(|s| bump(s, i));
                            Ok(Ok::<(), ()>(()))
                        })?;
                        black_box(done).expect("no child fails");
                    }
                }
            }
            Ok(())
        })
        .expect("spawn");
    driver.run_until_idle();
    (driver, start_tx)
}

fn plain() -> (Driver<Counters>, Sender<u64>) {
    scoped(Wrap::Plain)
}

fn deadline() -> (Driver<Counters>, Sender<u64>) {
    scoped(Wrap::Deadline)
}

fn nursery() -> (Driver<Counters>, Sender<u64>) {
    scoped(Wrap::TaskScope)
}

fn run_blocks((mut driver, start): (Driver<Counters>, Sender<u64>)) -> Driver<Counters> {
    start.try_send(N).expect("room");
    driver.run_until_idle();
    assert_eq!(driver.state().events, N);
    driver
}

#[library_benchmark(config = limit("plain_block"))]
#[bench::n(setup = plain)]
fn plain_block(setup: (Driver<Counters>, Sender<u64>)) -> Driver<Counters> {
    run_blocks(setup)
}

#[library_benchmark(config = limit("deadline_scope"))]
#[bench::n(setup = deadline)]
fn deadline_scope(setup: (Driver<Counters>, Sender<u64>)) -> Driver<Counters> {
    run_blocks(setup)
}

#[library_benchmark(config = limit("task_scope"))]
#[bench::n(setup = nursery)]
fn task_scope(setup: (Driver<Counters>, Sender<u64>)) -> Driver<Counters> {
    run_blocks(setup)
}

library_benchmark_group!(
    name = core;
    benchmarks = raw_round_trip, round_trip, raw_spawn_run_drop, spawn_run_drop
);
library_benchmark_group!(
    name = state;
    benchmarks = plain_update, with_state, part_access
);
library_benchmark_group!(
    name = driver;
    benchmarks = driver_pingpong, thread_ring
);

library_benchmark_group!(
    name = scopes;
    benchmarks = plain_block, deadline_scope, task_scope
);

main!(library_benchmark_groups = core, state, driver, scopes);
