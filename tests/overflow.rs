//! Stack overflow inside a coroutine: it hits the guard page, and the
//! process stops with a message that names the coroutine, its stack size
//! and how to raise it. Each case runs in a child process.

use std::hint::black_box;
use std::os::unix::process::ExitStatusExt;

use coshare::{Co, Eff, SpawnOptions, Stage, Yields};

mod auxiliary;

use auxiliary::{in_child, run_child};

/// Not a tail call, and each frame holds a buffer, so it really recurses.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 32]);
    if depth == u64::MAX {
        return 0;
    }
    recurse(depth + 1).wrapping_add(black_box(frame)[3])
}

#[test]
fn a_coroutine_stack_overflow_is_reported_then_aborts() {
    if in_child() {
        let mut stage = Stage::new(());
        // Some other coroutines, so the lookup has to find the right one.
        for _ in 0..3 {
            let h = stage
                .spawn(|co: &mut Co<()>, ()| -> Eff<Yields, ()> { co.suspend(()) })
                .unwrap();
            stage.resume(h, ()).unwrap();
        }
        let h = stage
            .spawn_with(
                &SpawnOptions::new()
                    .name("deep-recursion")
                    .stack_size(64 * 1024),
                |_: &mut Co<()>, ()| -> Eff<Yields, u64> { Ok(recurse(0)) },
            )
            .unwrap();
        let _ = stage.resume(h, ());
        unreachable!("the overflow must stop the process");
    }
    let out = run_child("a_coroutine_stack_overflow_is_reported_then_aborts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "status {:?}, stderr:\n{stderr}",
        out.status
    );
    assert!(
        stderr.contains(
            "coshare: stack overflow: coroutine `deep-recursion` (#3.0) overflowed its stack of 65536 bytes"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("SpawnOptions::stack_size"), "{stderr}");
}

#[test]
fn an_unnamed_coroutine_is_reported_by_id() {
    if in_child() {
        let mut stage = coshare::StageBuilder::new()
            .stack_size(32 * 1024)
            .unwrap()
            .build(());
        let h = stage
            .spawn(|_: &mut Co<()>, ()| -> Eff<Yields, u64> { Ok(recurse(0)) })
            .unwrap();
        let _ = stage.resume(h, ());
        unreachable!();
    }
    let out = run_child("an_unnamed_coroutine_is_reported_by_id");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{stderr}");
    assert!(
        stderr.contains("coroutine #0.0 overflowed its stack of 32768 bytes"),
        "{stderr}"
    );
}

/// A fault that is not in a coroutine's guard page goes to the handler that
/// was there before: here, the standard library's report of a thread stack
/// overflow.
#[test]
fn other_overflows_still_reach_the_standard_handler() {
    if in_child() {
        let mut stage = Stage::new(());
        let h = stage
            .spawn(|_: &mut Co<()>, ()| -> Eff<Yields, ()> { Ok(()) })
            .unwrap();
        stage.resume(h, ()).unwrap();
        std::thread::Builder::new()
            .name("plain-thread".into())
            .stack_size(256 * 1024)
            .spawn(|| recurse(0))
            .unwrap()
            .join()
            .unwrap();
        unreachable!();
    }
    let out = run_child("other_overflows_still_reach_the_standard_handler");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("thread 'plain-thread'"), "{stderr}");
    assert!(stderr.contains("has overflowed its stack"), "{stderr}");
    assert!(!stderr.contains("coshare: stack overflow"), "{stderr}");
}
