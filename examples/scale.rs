//! What a suspended coroutine costs, and how fast coroutines are created.
//!
//! For 1k, 10k and then as many coroutines as the process may map (spawning
//! until `ErrorKind::StackLimit`), this spawns coroutines that each touch a
//! little of their stack and suspend, and reports:
//!
//! * resident memory per suspended coroutine: the growth of the process's
//!   resident set (`/proc/self/statm`) over spawning and first resuming
//!   them, divided by their number. It includes the coroutine's stack
//!   pages, its slot in the stage's table and the handle the example keeps;
//!   the kernel's page tables for the stacks are shown apart (`VmPTE` in
//!   `/proc/self/status`), as they are not part of the resident set;
//! * the creation rate on a cold pool (every spawn maps a fresh guarded
//!   stack), the rate of the first resumes, and the creation rate on a warm
//!   pool (spawn + run to completion, reusing the stacks of the finished
//!   coroutines).
//!
//! Run it with `cargo run --release --example scale` (about a second), or
//! `cargo run --release --example scale -- 1000000` to add a row of a
//! million coroutines on 16 KiB stacks (that needs `vm.max_map_count`
//! above 2 000 000 and about 4.5 GB of memory). On
//! a 2-core AMD EPYC virtual machine (shared with other work, so the
//! rates vary by a factor of two from run to run; the memory figures do not):
//!
//! ```text
//! each coroutine touches 512 bytes of its stack and suspends; page size 4096 bytes
//! coroutines   stack   resident/co  pagetable/co  cold spawn   1st resume resume round warm spawn+run high water
//!       1000 256 KiB      4.33 KiB      0.51 KiB     125 k/s     8.50 M/s   120.45 M/s      88.13 M/s      4 KiB
//!      10000 256 KiB      4.28 KiB      0.51 KiB     121 k/s     5.80 M/s    69.48 M/s      90.53 M/s      4 KiB
//!      10000  16 KiB      4.02 KiB      0.04 KiB     131 k/s     5.93 M/s    74.37 M/s      91.31 M/s      4 KiB
//!      31741 256 KiB      4.21 KiB      0.51 KiB     115 k/s     5.66 M/s    11.09 M/s      78.68 M/s      4 KiB
//! a row spawned until the limit: cannot map another coroutine stack: 31741 guarded
//! stacks are mapped in this process and the limit is 31741, derived from the kernel setting
//! vm.max_map_count = 65530 (each stack takes two memory maps); raise it, for example
//! `sysctl -w vm.max_map_count=262120`, or let coroutines finish
//! ```
//!
//! and with `-- 1000000` where `vm.max_map_count` is 2 200 000, one more row:
//!
//! ```text
//!    1000000  16 KiB      4.25 KiB      0.04 KiB      64 k/s     4.27 M/s     6.48 M/s      89.86 M/s      4 KiB
//! ```
//!
//! Reading it: a suspended coroutine costs one stack page plus its slot
//! (about 4.2 KiB resident), and the kernel's page tables add about 0.5 KiB
//! with 256 KiB stacks (one page-table page maps 2 MiB, about 8 such
//! stacks) but only 0.04 KiB with 16 KiB stacks. Each guarded stack also
//! takes two kernel memory maps, which is what limits the count. A cold
//! spawn maps a stack (`mmap` + `mprotect`, and the first write to its top
//! page); a warm spawn reuses a pooled one. Resuming many suspended
//! coroutines in turn costs more per resume as they outgrow the caches and
//! the TLB.

use std::hint::black_box;
use std::time::{Duration, Instant};

use coshare::{Co, Eff, ErrorKind, Handle, Resumed, StageBuilder, Yields};

/// Bytes of stack each coroutine touches before it suspends.
const TOUCHED: usize = 512;

/// The resident set of this process, in bytes.
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .expect("resident pages in /proc/self/statm");
    pages * page_size()
}

/// The memory of this process's page tables, in bytes (0 if unknown).
fn page_table_bytes() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmPTE:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<usize>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page).unwrap_or(4096)
}

/// A coroutine that touches `TOUCHED` bytes of its stack, counts itself in
/// the shared state, and suspends until it is resumed with `false`.
fn body(co: &mut Co<u64, bool>, _: bool) -> Eff<Yields, ()> {
    let mut scratch = [0u8; TOUCHED];
    black_box(&mut scratch);
    co.with_state(|live| *live += 1);
    while co.suspend(())? {
        black_box(&mut scratch);
    }
    co.with_state(|live| *live -= 1);
    Ok(())
}

struct Row {
    count: usize,
    stack_size: usize,
    resident: usize,
    page_tables: usize,
    cold_spawn: Duration,
    first_resume: Duration,
    round: Duration,
    warm: Duration,
    high_water: usize,
    limit_error: Option<String>,
}

/// Spawns up to `wanted` coroutines (fewer if the process's stack limit is
/// reached), resumes each once so it suspends with its stack touched, and
/// measures.
fn measure(wanted: usize, stack_size: usize) -> Row {
    let mut stage = StageBuilder::new()
        .stack_size(stack_size)
        .expect("a valid stack size")
        // Keep every stack for the warm-pool round below.
        .max_pooled_stacks(wanted)
        .build(0u64);
    let mut handles: Vec<Handle<bool, (), ()>> = Vec::with_capacity(wanted);
    let (resident_before, page_tables_before) = (resident_bytes(), page_table_bytes());

    let start = Instant::now();
    let mut limit_error = None;
    for _ in 0..wanted {
        match stage.spawn(body) {
            Ok(h) => handles.push(h),
            Err(err) if err.kind() == ErrorKind::StackLimit => {
                limit_error = Some(err.error().to_string());
                break;
            }
            Err(err) => panic!("spawn failed: {}", err.error()),
        }
    }
    let cold_spawn = start.elapsed();

    let start = Instant::now();
    for &h in &handles {
        assert!(matches!(stage.resume(h, true), Ok(Resumed::Yield(()))));
    }
    let first_resume = start.elapsed();
    let count = handles.len();
    assert_eq!(*stage.state(), count as u64);
    let resident = resident_bytes().saturating_sub(resident_before);
    let page_tables = page_table_bytes().saturating_sub(page_tables_before);
    let high_water = stage
        .stack_usage(handles[0])
        .map_or(0, |usage| usage.high_water);

    // Rounds over all of them, each suspended again: resuming many
    // coroutines in turn, each on its own stack pages. The fastest of three
    // rounds, as one round is short and the machine may be busy.
    let round = (0..3)
        .map(|_| {
            let start = Instant::now();
            for &h in &handles {
                assert!(matches!(stage.resume(h, true), Ok(Resumed::Yield(()))));
            }
            start.elapsed()
        })
        .min()
        .expect("three rounds");

    // Finish them all: their stacks go back to the pool.
    for &h in &handles {
        assert!(matches!(stage.resume(h, false), Ok(Resumed::Return(()))));
    }
    assert_eq!(stage.stats().live, 0);

    // Warm pool: spawn + run to completion, reusing those stacks.
    let start = Instant::now();
    for _ in 0..count {
        let h = stage
            .spawn(|_: &mut Co<u64, bool>, _: bool| -> Eff<Yields, ()> { Ok(()) })
            .expect("a pooled stack");
        assert!(matches!(stage.resume(h, true), Ok(Resumed::Return(()))));
    }
    let warm = start.elapsed();

    Row {
        count,
        stack_size,
        resident,
        page_tables,
        cold_spawn,
        first_resume,
        round,
        warm,
        high_water,
        limit_error,
    }
}

fn rate(count: usize, elapsed: Duration) -> String {
    let per_second = count as f64 / elapsed.as_secs_f64();
    if per_second >= 1e6 {
        format!("{:.2} M/s", per_second / 1e6)
    } else {
        format!("{:.0} k/s", per_second / 1e3)
    }
}

fn kib(bytes: f64) -> String {
    format!("{:.2} KiB", bytes / 1024.0)
}

/// Prints the report. The fourth row spawns until the process's stack
/// limit, or until `cap` coroutines if the limit is higher; `large`, if
/// given, adds a row of that many coroutines on 16 KiB stacks.
fn report(cap: usize, large: Option<usize>) {
    const DEFAULT: usize = coshare::DEFAULT_STACK_SIZE;
    println!(
        "each coroutine touches {TOUCHED} bytes of its stack and suspends; page size {} bytes",
        page_size()
    );
    println!(
        "{:>10} {:>7} {:>13} {:>13} {:>11} {:>12} {:>12} {:>14} {:>10}",
        "coroutines",
        "stack",
        "resident/co",
        "pagetable/co",
        "cold spawn",
        "1st resume",
        "resume round",
        "warm spawn+run",
        "high water",
    );
    let mut limit = None;
    let rows = [
        (1_000, DEFAULT),
        (10_000, DEFAULT),
        (10_000, 16 * 1024),
        (cap, DEFAULT),
    ];
    for (wanted, stack_size) in rows.into_iter().chain(large.map(|n| (n, 16 * 1024))) {
        let row = measure(wanted, stack_size);
        let n = row.count as f64;
        println!(
            "{:>10} {:>3} KiB {:>13} {:>13} {:>11} {:>12} {:>12} {:>14} {:>6} KiB",
            row.count,
            row.stack_size / 1024,
            kib(row.resident as f64 / n),
            kib(row.page_tables as f64 / n),
            rate(row.count, row.cold_spawn),
            rate(row.count, row.first_resume),
            rate(row.count, row.round),
            rate(row.count, row.warm),
            row.high_water / 1024,
        );
        if row.limit_error.is_some() {
            limit = row.limit_error;
        }
    }
    match limit {
        Some(message) => println!("a row spawned until the limit: {message}"),
        None => println!("no row reached the process's stack limit"),
    }
}

fn main() {
    // `scale N` adds a row of N coroutines on 16 KiB stacks: a million
    // needs `vm.max_map_count` above 2 000 000 and about 5 GiB of memory.
    let large = match std::env::args().nth(1) {
        None => None,
        Some(arg) => match arg.replace('_', "").parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                eprintln!("usage: scale [COROUTINES]  (a positive count, e.g. 1000000)");
                std::process::exit(2);
            }
        },
    };
    // Past 200k the fourth row would take more than a few seconds and about
    // 1 GiB.
    report(200_000, large);
}

#[test]
fn run() {
    // Under a second in a debug build where vm.max_map_count is the default
    // (the limit is then about 31k stacks); capped for machines that raised it.
    report(40_000, None);
}
