//! Stacks: sizes, the pool, reuse only after completion, and allocation
//! failures as typed errors.

mod auxiliary;

use auxiliary::{in_child, run_child_ok};

use coshare::{
    Co, Eff, ErrorKind, MAX_STACK_SIZE, Resumed, SpawnOptions, Stage, StageBuilder, Yields,
};

fn noop(_: &mut Co<()>, (): ()) -> Eff<Yields, ()> {
    Ok(())
}

#[test]
fn zero_and_absurd_stack_sizes_are_rejected_and_the_body_is_returned() {
    let mut stage = Stage::new(());
    for size in [0, MAX_STACK_SIZE + 1, usize::MAX] {
        let err = stage
            .spawn_with(&SpawnOptions::new().stack_size(size), noop)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidStackSize);
        assert!(err.to_string().contains(&format!("{size} bytes")), "{err}");
        let body = err.into_body();
        let h = stage.spawn(body).unwrap();
        assert!(stage.resume(h, ()).is_ok());
    }
    let err = StageBuilder::new().stack_size(0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidStackSize);
    assert!(
        StageBuilder::new().stack_size(1).is_ok(),
        "rounded up to a page"
    );
}

#[test]
fn stack_sizes_are_rounded_up_to_pages() {
    let page = 4096; // x86_64 and aarch64 Linux defaults
    let mut stage = Stage::new(0u64);
    let noop = |_: &mut Co<u64>, ()| -> Eff<Yields, ()> { Ok(()) };
    let tiny = stage
        .spawn_with(&SpawnOptions::new().stack_size(1), noop)
        .unwrap();
    assert_eq!(stage.stack_usage(tiny).unwrap().size, page);
    stage.cancel(tiny).unwrap();
    let odd = 5 * page + 1;
    let h = stage
        .spawn_with(
            &SpawnOptions::new().stack_size(odd),
            |co: &mut Co<u64>, ()| -> Eff<Yields, ()> {
                *co.state() += 1;
                co.suspend(())?;
                *co.state() += 1;
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(stage.stack_usage(h).unwrap().size, 6 * page);
    stage.resume(h, ()).unwrap();
    stage.resume(h, ()).unwrap();
    assert_eq!(*stage.state(), 2);
    assert_eq!(
        stage.stack_usage(h).unwrap_err().kind(),
        ErrorKind::Finished
    );
}

/// The high-water mark shows how deep a coroutine went, so a stack size can
/// be chosen with evidence.
#[test]
fn the_high_water_mark_follows_stack_use() {
    let mut stage = StageBuilder::new().max_pooled_stacks(0).build(());
    let shallow = stage
        .spawn(|co: &mut Co<()>, ()| -> Eff<Yields, ()> { co.suspend(()) })
        .unwrap();
    let deep = stage
        .spawn(|co: &mut Co<()>, ()| -> Eff<Yields, ()> {
            let mut big = [7u8; 48 * 1024];
            std::hint::black_box(&mut big);
            co.suspend(())?;
            std::hint::black_box(&mut big);
            Ok(())
        })
        .unwrap();
    let fresh = stage.stack_usage(shallow).unwrap();
    assert_eq!(fresh.size, coshare::DEFAULT_STACK_SIZE);
    stage.resume(shallow, ()).unwrap();
    stage.resume(deep, ()).unwrap();
    let shallow_use = stage.stack_usage(shallow).unwrap().high_water;
    let deep_use = stage.stack_usage(deep).unwrap().high_water;
    assert!(shallow_use < 32 * 1024, "{shallow_use}");
    assert!(deep_use >= 48 * 1024, "{deep_use}");
    assert!(deep_use <= coshare::DEFAULT_STACK_SIZE);
}

#[test]
fn the_budget_of_a_stage_is_a_typed_error_and_the_stage_keeps_working() {
    let mut stage = StageBuilder::new().max_coroutines(3).build(());
    let hs: Vec<_> = (0..3).map(|_| stage.spawn(noop).unwrap()).collect();
    let err = stage.spawn(noop).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Budget);
    assert!(err.to_string().contains("max_coroutines"), "{err}");
    stage.resume(hs[0], ()).unwrap();
    let h = stage.spawn(err.into_body()).unwrap();
    assert!(stage.resume(h, ()).unwrap().is_return());
}

/// A finished coroutine's stack goes back to the pool; a suspended one's
/// does not. New coroutines reuse pooled stacks instead of mapping.
#[test]
fn stacks_are_pooled_only_after_their_coroutine_completed() {
    let mut stage = Stage::new(());
    let suspended = stage
        .spawn(|co: &mut Co<()>, ()| -> Eff<Yields, ()> { co.suspend(()) })
        .unwrap();
    stage.resume(suspended, ()).unwrap();
    assert_eq!(stage.stats().pooled_stacks, 0);
    let done = stage.spawn(noop).unwrap();
    assert_eq!(stage.stats().pooled_stacks, 0, "not started: stack in use");
    stage.resume(done, ()).unwrap();
    assert_eq!(stage.stats().pooled_stacks, 1);
    let again = stage.spawn(noop).unwrap();
    assert_eq!(
        stage.stats().pooled_stacks,
        0,
        "the pooled stack was reused"
    );
    stage.cancel(again).unwrap();
    stage.cancel(suspended).unwrap();
    assert_eq!(stage.stats().pooled_stacks, 2);
}

/// Data on a suspended coroutine's stack survives any amount of spawning,
/// running and cancelling of other coroutines (which reuse pooled stacks).
#[test]
fn a_suspended_stack_is_never_handed_to_another_coroutine() {
    let mut stage = StageBuilder::new().max_pooled_stacks(4).build(0u64);
    let keeper = stage
        .spawn(|co: &mut Co<u64>, ()| -> Eff<Yields, u64> {
            let mut frame = [0u64; 512];
            for (i, x) in frame.iter_mut().enumerate() {
                *x = i as u64 * 31 + 7;
            }
            co.suspend(())?;
            let intact = frame
                .iter()
                .enumerate()
                .all(|(i, &x)| x == i as u64 * 31 + 7);
            assert!(intact, "stack data was overwritten while suspended");
            Ok(std::hint::black_box(&frame).iter().sum())
        })
        .unwrap();
    stage.resume(keeper, ()).unwrap();
    for round in 0..200u64 {
        let h = stage
            .spawn(move |co: &mut Co<u64>, ()| -> Eff<Yields, ()> {
                // Scribble over our own stack.
                let scribble = [round; 512];
                *co.state() += std::hint::black_box(&scribble)[0];
                co.suspend(())?;
                Ok(())
            })
            .unwrap();
        stage.resume(h, ()).unwrap();
        if round % 2 == 0 {
            stage.resume(h, ()).unwrap();
        } else {
            stage.cancel(h).unwrap();
        }
    }
    let expected: u64 = (0..512u64).map(|i| i * 31 + 7).sum();
    assert_eq!(stage.resume(keeper, ()).unwrap(), Resumed::Return(expected));
}

/// A failed `mmap` is a typed error with the OS error as its source. The
/// address space is limited in a child process so nothing else is affected.
#[test]
fn a_failed_stack_mapping_is_a_typed_error() {
    if !in_child() {
        run_child_ok("a_failed_stack_mapping_is_a_typed_error");
        return;
    }
    let mut stage = Stage::new(());
    // Warm up everything that allocates lazily before limiting memory.
    let h = stage.spawn(noop).unwrap();
    stage.resume(h, ()).unwrap();
    let limit = libc::rlimit {
        rlim_cur: 1 << 30,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit with a valid pointer; only this child process is affected.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) }, 0);
    let err = stage
        .spawn_with(&SpawnOptions::new().stack_size(MAX_STACK_SIZE), noop)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StackAllocation);
    assert!(
        err.to_string().contains("refused to map a coroutine stack"),
        "{err}"
    );
    assert!(std::error::Error::source(err.error()).is_some());
    // Nothing lost, and the stage keeps working with a smaller stack.
    let h = stage
        .spawn_with(&SpawnOptions::new().stack_size(64 * 1024), err.into_body())
        .unwrap();
    assert!(stage.resume(h, ()).unwrap().is_return());
    println!("CHILD OK");
}

/// Spawning up to the process-wide stack limit (derived from
/// `vm.max_map_count`) gives a typed error that names the setting; after
/// some coroutines end, spawning works again.
#[test]
fn the_process_stack_limit_is_a_typed_error_that_names_the_setting() {
    if !in_child() {
        run_child_ok("the_process_stack_limit_is_a_typed_error_that_names_the_setting");
        return;
    }
    let limit = Stage::new(()).stats().process_stack_limit;
    if limit == usize::MAX {
        println!("no vm.max_map_count here; CHILD OK");
        return;
    }
    let mut stage = StageBuilder::new()
        .stack_size(16 * 1024)
        .unwrap()
        .max_pooled_stacks(0)
        .build(());
    let mut handles = Vec::new();
    let err = loop {
        match stage.spawn(noop) {
            Ok(h) => handles.push(h),
            Err(err) => break err,
        }
    };
    assert_eq!(err.kind(), ErrorKind::StackLimit);
    assert_eq!(handles.len(), limit);
    let message = err.to_string();
    assert!(message.contains("vm.max_map_count"), "{message}");
    assert!(message.contains("sysctl -w vm.max_map_count="), "{message}");
    // End some, then spawn again.
    for h in handles.drain(..10) {
        stage.resume(h, ()).unwrap();
    }
    let h = stage.spawn(err.into_body()).unwrap();
    assert!(stage.resume(h, ()).unwrap().is_return());
    drop(stage);
    assert_eq!(Stage::new(()).stats().process_mapped_stacks, 0);
    println!("spawned {limit} coroutines; CHILD OK");
}
