//! thread-ring: 503 tasks pass a token around a ring; each hop decrements
//! it, and the task that receives 0 answers its number, `(hops mod 503) + 1`.
//!
//! ```text
//! cargo bench --bench thread_ring -- <driver|stage|tokio> <hops>
//! ```
//!
//! prints `<answer> <ns per hop>` for one program; `benches/ring/run.sh`
//! runs them all, with Go, Lua 5.4 and LuaJIT, and prints the table.
//!
//! * `driver`: 503 driver tasks, each waiting on its own one-message
//!   channel and sending to the next task's (the peers' shape: Go's
//!   goroutines and unbuffered channels, tokio's tasks and `mpsc(1)`).
//! * `stage`: 503 bare coroutines that the main stack resumes in turn,
//!   handing the token in and out through `resume`/`suspend` (the shape of
//!   the Lua programs).
//! * `tokio`: 503 tasks on a current-thread runtime in a `LocalSet`, over
//!   `tokio::sync::mpsc` channels of capacity 1.
//!
//! With no arguments (as `cargo bench` runs every bench) it runs each
//! program once with few hops and checks the answers.

use std::hint::black_box;
use std::time::Instant;

use coshare::driver::{DriverBuilder, Task};
use coshare::{Co, Eff, Resumed, StageBuilder, Yields};

const RING: usize = 503;

/// The answer the ring must give for `hops`.
fn expected(hops: u64) -> u64 {
    hops % RING as u64 + 1
}

fn driver(hops: u64) -> (u64, f64) {
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
    let first = channels[0].0.clone();
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
    drop(senders);
    driver.run_until_idle(); // every task waits on its channel
    let start = Instant::now();
    first.try_send(black_box(hops)).expect("room for the token");
    driver.run_until_idle();
    let elapsed = start.elapsed();
    (*driver.state(), elapsed.as_nanos() as f64 / hops as f64)
}

fn stage(hops: u64) -> (u64, f64) {
    let mut stage = StageBuilder::new()
        .stack_size(16 * 1024)
        .expect("a valid size")
        .build(());
    let ring: Vec<_> = (0..RING)
        .map(|id| {
            stage
                .spawn(
                    move |co: &mut Co<(), u64, u64>, mut token| -> Eff<Yields, u64> {
                        while token != 0 {
                            token = co.suspend(token - 1)?;
                        }
                        Ok(id as u64 + 1)
                    },
                )
                .expect("spawn")
        })
        .collect();
    let start = Instant::now();
    let mut token = black_box(hops);
    let mut at = 0;
    let answer = loop {
        match stage.resume(ring[at], token).expect("a live coroutine") {
            Resumed::Yield(next) => token = next,
            Resumed::Return(answer) => break answer,
        }
        at = (at + 1) % RING;
    };
    let elapsed = start.elapsed();
    (answer, elapsed.as_nanos() as f64 / hops as f64)
}

fn tokio(hops: u64) -> (u64, f64) {
    use tokio::sync::mpsc;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let (done_tx, mut done_rx) = mpsc::channel::<u64>(1);
        let channels: Vec<_> = (0..RING).map(|_| mpsc::channel::<u64>(1)).collect();
        let senders: Vec<_> = channels.iter().map(|(tx, _)| tx.clone()).collect();
        let first = senders[0].clone();
        for (id, (_, mut rx)) in channels.into_iter().enumerate() {
            let next = senders[(id + 1) % RING].clone();
            let done = done_tx.clone();
            tokio::task::spawn_local(async move {
                while let Some(token) = rx.recv().await {
                    if token == 0 {
                        let _ = done.send(id as u64 + 1).await;
                        return;
                    }
                    if next.send(token - 1).await.is_err() {
                        return;
                    }
                }
            });
        }
        drop(senders);
        let start = Instant::now();
        first
            .send(black_box(hops))
            .await
            .expect("room for the token");
        let answer = done_rx.recv().await.expect("an answer");
        let elapsed = start.elapsed();
        (answer, elapsed.as_nanos() as f64 / hops as f64)
    })
}

fn run(program: &str, hops: u64) -> (u64, f64) {
    match program {
        "driver" => driver(hops),
        "stage" => stage(hops),
        "tokio" => tokio(hops),
        other => {
            eprintln!("unknown program `{other}`: expected driver, stage or tokio");
            std::process::exit(2);
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; keep only the positional arguments.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    match args.as_slice() {
        [program, hops] => {
            let hops: u64 = hops.parse().expect("hops is a number");
            let (answer, ns) = run(program, hops);
            assert_eq!(answer, expected(hops), "{program}: wrong answer");
            println!("{answer} {ns:.2}");
        }
        [] => {
            for program in ["driver", "stage", "tokio"] {
                let hops = 100_000;
                let (answer, ns) = run(program, hops);
                assert_eq!(answer, expected(hops), "{program}: wrong answer");
                println!("thread-ring {program:>6}: answer {answer}, {ns:.1} ns/hop");
            }
        }
        _ => {
            eprintln!("usage: thread_ring <driver|stage|tokio> <hops>");
            std::process::exit(2);
        }
    }
}
