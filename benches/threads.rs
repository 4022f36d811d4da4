//! Other threads and futures, beside tokio, in one run, with a table of
//! ratios at the end.
//!
//! ```text
//! cargo bench --bench threads
//! ```
//!
//! The groups, each figure next to its baseline:
//!
//! * `remote_latency`: a thread sends one message into an idle driver (a
//!   task blocked in `t.recv` on a remote channel, the driver blocked in its
//!   poll) and waits for the task's reply; against a tokio current-thread
//!   runtime on its own thread, fed by `tokio::sync::mpsc` (unbounded, as
//!   the remote channel is), whose task replies the same way. One iteration
//!   is one round trip; the reply goes back over a `std::sync::mpsc`
//!   channel in both.
//! * `remote_throughput`: the thread sends a batch of 1 000 messages
//!   without waiting, into a driver kept busy by a task that yields in a
//!   loop (the driver never blocks; it takes the inbox at the start of each
//!   round); the task replies to the last one. The tokio side has the same
//!   busy task. One iteration is one batch.
//! * `shards`: a task of shard 0 calls shard 1 (`Mesh::call`: the request
//!   with its `Reply` into shard 1's bounded queue, shard 1's task answers,
//!   the answer wakes the caller), each shard a driver on its own thread;
//!   against two plain threads that ping-pong over two `std::sync::mpsc`
//!   channels. One iteration is one round trip, timed from inside.
//! * `future`: a task awaiting an already-complete future
//!   (`t.wait_future(async { .. })`), against the same value computed
//!   inline in the task. One iteration is one await.

use std::cell::Cell;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use coshare::driver::shards::{Reply, Shard, ShardsBuilder};
use coshare::driver::{Driver, DriverBuilder, RemoteSender, Task};
use coshare::{Eff, Yields};
use criterion::Criterion;

const BATCH: u64 = 1_000;

/// A peer on its own thread: messages go in through `send`, replies come
/// back on `replies`.
struct Peer {
    send: Box<dyn Fn(u64)>,
    replies: mpsc::Receiver<u64>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Dropping the sender ends the peer.
        self.send = Box::new(|_| {});
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Peer {
    /// One message, then its reply.
    fn round_trip(&self, n: u64) {
        (self.send)(n);
        black_box(self.replies.recv().unwrap());
    }

    /// A batch of messages; only the last is answered.
    fn batch(&self) {
        for _ in 1..BATCH {
            (self.send)(0);
        }
        (self.send)(1);
        black_box(self.replies.recv().unwrap());
    }
}

/// A driver on its own thread; its task answers every message but 0. With
/// `busy`, another task yields in a loop until the channel closes.
fn coshare_peer(busy: bool) -> Peer {
    let (setup, sender) = mpsc::channel::<RemoteSender<u64>>();
    let (reply, replies) = mpsc::channel::<u64>();
    let thread = std::thread::spawn(move || {
        let mut driver = Driver::new(false);
        let (tx, mut rx) = driver.handle().remote_channel::<u64>();
        setup.send(tx).unwrap();
        driver
            .spawn(move |t: &mut Task<bool>| -> Eff<Yields, ()> {
                while let Ok(n) = t.recv(&mut rx)? {
                    if n != 0 {
                        reply.send(n).unwrap();
                    }
                }
                *t.state() = true; // done
                Ok(())
            })
            .unwrap();
        if busy {
            driver
                .spawn(|t: &mut Task<bool>| -> Eff<Yields, ()> {
                    while !*t.state() {
                        t.yield_now()?;
                    }
                    Ok(())
                })
                .unwrap();
        }
        driver.run().unwrap();
    });
    let tx = sender.recv().unwrap();
    Peer {
        send: Box::new(move |n| tx.send(n).unwrap()),
        replies,
        thread: Some(thread),
    }
}

/// The same on a tokio current-thread runtime with a `LocalSet`, fed by an
/// unbounded `tokio::sync::mpsc` channel.
fn tokio_peer(busy: bool) -> Peer {
    let (setup, sender) = mpsc::channel::<tokio::sync::mpsc::UnboundedSender<u64>>();
    let (reply, replies) = mpsc::channel::<u64>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        setup.send(tx).unwrap();
        local.block_on(&rt, async move {
            let done = Rc::new(Cell::new(false));
            let spinner = busy.then(|| {
                let done = Rc::clone(&done);
                tokio::task::spawn_local(async move {
                    while !done.get() {
                        tokio::task::yield_now().await;
                    }
                })
            });
            while let Some(n) = rx.recv().await {
                if n != 0 {
                    reply.send(n).unwrap();
                }
            }
            done.set(true);
            if let Some(spinner) = spinner {
                spinner.await.unwrap();
            }
        });
    });
    let tx = sender.recv().unwrap();
    Peer {
        send: Box::new(move |n| tx.send(n).unwrap()),
        replies,
        thread: Some(thread),
    }
}

fn remote(c: &mut Criterion) {
    let mut group = c.benchmark_group("remote_latency");
    for (name, peer) in [
        ("coshare", coshare_peer(false)),
        ("tokio", tokio_peer(false)),
    ] {
        group.bench_function(name, |b| b.iter(|| peer.round_trip(black_box(1))));
    }
    group.finish();
    let mut group = c.benchmark_group("remote_throughput");
    for (name, peer) in [("coshare", coshare_peer(true)), ("tokio", tokio_peer(true))] {
        group.bench_function(name, |b| b.iter(|| peer.batch()));
    }
    group.finish();
}

/// `iters` calls from a task of shard 0 to shard 1, timed on shard 0.
fn shard_calls(iters: u64) -> Duration {
    let (told, took) = mpsc::channel();
    let shards = ShardsBuilder::new()
        .shards(2)
        .start(
            |_, _| (),
            move |t: &mut Task<()>, mut shard: Shard<(u64, Reply<u64>), ()>| -> Eff<Yields, ()> {
                if shard.index() == 0 {
                    let start = Instant::now();
                    for n in 0..iters {
                        let back = shard.mesh().call(t, 1, |reply| (n, reply))?.unwrap();
                        black_box(back);
                    }
                    told.send(start.elapsed()).unwrap();
                    return Ok(());
                }
                while let Ok((n, reply)) = t.recv(shard.inbox())? {
                    let _ = reply.send(n);
                }
                Ok(())
            },
            |_| (),
        )
        .unwrap();
    let took = took.recv().unwrap();
    shards.shutdown();
    for end in shards.join() {
        end.unwrap();
    }
    took
}

/// `iters` round trips between two plain threads over two `std::sync::mpsc`
/// channels, timed on the first.
fn mpsc_calls(iters: u64) -> Duration {
    let (ask, asked) = mpsc::channel::<u64>();
    let (answer, answered) = mpsc::channel::<u64>();
    let server = std::thread::spawn(move || {
        while let Ok(n) = asked.recv() {
            answer.send(n).unwrap();
        }
    });
    let start = Instant::now();
    for n in 0..iters {
        ask.send(n).unwrap();
        black_box(answered.recv().unwrap());
    }
    let took = start.elapsed();
    drop(ask);
    server.join().unwrap();
    took
}

fn shards(c: &mut Criterion) {
    let mut group = c.benchmark_group("shards");
    group.bench_function("call", |b| b.iter_custom(shard_calls));
    group.bench_function("std_mpsc", |b| b.iter_custom(mpsc_calls));
    group.finish();
}

/// `iters` awaits of a complete future (or, `inline`, the same value
/// computed in place) by one task, timed from inside the task.
fn awaits(iters: u64, inline: bool) -> Duration {
    let mut driver = DriverBuilder::new().virtual_clock().build(0u64);
    let h = driver
        .spawn(move |t: &mut Task<u64>| -> Eff<Yields, Duration> {
            let start = Instant::now();
            for i in 0..iters {
                let v = if inline {
                    black_box(i)
                } else {
                    t.wait_future(async move { black_box(i) })?
                };
                *t.state() = t.state().wrapping_add(v);
            }
            Ok(start.elapsed())
        })
        .unwrap();
    driver.block_on(h).unwrap().unwrap()
}

fn future(c: &mut Criterion) {
    let mut group = c.benchmark_group("future");
    group.bench_function("wait_future", |b| {
        b.iter_custom(|iters| awaits(iters, false))
    });
    group.bench_function("inline", |b| b.iter_custom(|iters| awaits(iters, true)));
    group.finish();
}

/// The median of `id` (`group/bench`) from this run, in nanoseconds.
fn median(dir: &Path, id: &str, since: SystemTime) -> Option<f64> {
    let path = dir.join(id).join("new").join("estimates.json");
    if std::fs::metadata(&path).ok()?.modified().ok()? < since {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn print_table(dir: &Path, since: SystemTime) {
    println!();
    println!("| what | coshare | baseline | ratio (coshare / baseline) |");
    println!("|---|---:|---:|---:|");
    let rows = [
        (
            "message into an idle driver and back (round trip)",
            "remote_latency/coshare",
            "remote_latency/tokio",
            1.0,
        ),
        (
            "message into a busy driver (per message, batches of 1 000)",
            "remote_throughput/coshare",
            "remote_throughput/tokio",
            BATCH as f64,
        ),
        (
            "a call to another shard and its answer (round trip; baseline: std mpsc between two threads)",
            "shards/call",
            "shards/std_mpsc",
            1.0,
        ),
        (
            "a task awaits a complete future (per await; baseline: inline)",
            "future/wait_future",
            "future/inline",
            1.0,
        ),
    ];
    for (what, this, base, per) in rows {
        match (median(dir, this, since), median(dir, base, since)) {
            (Some(t), Some(b)) => println!(
                "| {what} | {:.1} ns | {:.1} ns | {:.2}x |",
                t / per,
                b / per,
                t / b
            ),
            _ => println!("| {what} | not run | not run | - |"),
        }
    }
}

/// Where criterion writes its estimates (as in `benches/compare.rs`).
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
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
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .without_plots()
        .output_directory(&dir)
        .configure_from_args();
    remote(&mut criterion);
    shards(&mut criterion);
    future(&mut criterion);
    criterion.final_summary();
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--bench") && !has("--test") && !has("--list") && !has("--profile-time") {
        print_table(&dir, since);
    }
}
