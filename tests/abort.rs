//! Cancellation by request and the join handle's drop policy:
//! `JoinHandle::abort`, `AbortOnDrop`, `detach`, and what the handles say
//! once the driver is gone.

mod auxiliary;

use auxiliary::driver::{Log, log, ms, virtual_driver};
use auxiliary::{Log as DropLog, LogOnDrop};
use coshare::driver::{JoinError, Task};
use coshare::{Eff, Yields};

#[test]
fn abort_before_start_never_runs_the_body_and_abort_after_the_end_does_nothing() {
    let mut d = virtual_driver();
    let drops = DropLog::new();
    let token = LogOnDrop(drops.clone(), "body dropped unrun");
    let never = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            let _token = &token;
            log(t, "ran");
            Ok(())
        })
        .unwrap();
    never.abort();
    assert!(matches!(
        d.block_on(never).unwrap(),
        Err(JoinError::Cancelled)
    ));
    assert_eq!(drops.take(), ["body dropped unrun"]);
    let done = d
        .spawn(|_: &mut Task<Log>| -> Eff<Yields, u8> { Ok(3) })
        .unwrap();
    d.run().unwrap();
    done.abort();
    let mut done = done;
    assert_eq!(done.try_join().unwrap().unwrap(), 3);
    assert!(d.state().is_empty());
}

#[test]
fn a_task_that_handles_its_requested_cancellation_returns_its_value() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, &'static str> {
            if t.sleep(ms(100)).is_err() {
                assert!(t.is_cancelled());
                // Every later unshielded wait is interrupted at once.
                assert!(t.sleep(ms(1)).is_err());
                return Ok("stopped cleanly");
            }
            Ok("slept")
        })
        .unwrap();
    d.run_for(ms(1)).unwrap();
    h.abort();
    assert_eq!(d.block_on(h).unwrap().unwrap(), "stopped cleanly");
}

#[test]
fn a_task_can_abort_itself_and_stops_at_its_next_wait() {
    let mut d = virtual_driver();
    let (tx, mut rx) = d.handle().channel::<coshare::driver::JoinHandle<()>>(1);
    let me = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            let own = t.recv(&mut rx)?.unwrap();
            own.abort();
            log(t, "still running");
            t.sleep(ms(10))?;
            log(t, "not reached");
            Ok(())
        })
        .unwrap();
    // The task gets its own handle through a channel.
    let id = me.id();
    tx.try_send(me).unwrap();
    d.run().unwrap();
    assert_eq!(d.state(), &["still running"]);
    assert!(d.tasks().iter().all(|t| t.id != id));
}

#[test]
fn abort_on_drop_stops_the_task_and_detach_handle_lets_it_run() {
    let mut d = virtual_driver();
    let guarded = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
            t.sleep(ms(10))?;
            log(t, "guarded ran to its end");
            Ok(())
        })
        .unwrap()
        .abort_on_drop();
    let released = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
            t.sleep(ms(10))?;
            log(t, "released ran to its end");
            Ok(())
        })
        .unwrap()
        .abort_on_drop()
        .detach_handle();
    d.run_until_idle();
    assert!(!guarded.is_finished());
    drop(guarded);
    drop(released);
    d.run().unwrap();
    assert_eq!(d.state(), &["released ran to its end"]);
}

#[test]
fn an_abort_on_drop_guard_can_be_joined_from_a_task() {
    let mut d = virtual_driver();
    let worker = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, u32> {
            t.sleep(ms(10))?;
            Ok(5)
        })
        .unwrap()
        .abort_on_drop();
    let h = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, u32> {
            let mut worker = worker;
            Ok(t.join(&mut worker)?.unwrap())
        })
        .unwrap();
    assert_eq!(d.block_on(h).unwrap().unwrap(), 5);
}

#[test]
fn dropping_the_driver_ends_every_handle_as_cancelled() {
    let mut d = virtual_driver();
    let drops = DropLog::new();
    let inside = drops.clone();
    let waiting = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            let _guard = LogOnDrop(inside, "cleaned up");
            let slept = t.sleep(ms(100));
            // Cleanup that waits: unwound by force during the teardown.
            let _ = t.sleep(ms(1));
            slept
        })
        .unwrap();
    let scoped = d
        .spawn(
            |t: &mut Task<Log>| -> Eff<Yields, Option<coshare::driver::JoinHandle<()>>> {
                let mut child = None;
                t.scope(|s| {
                    child = Some(
                        s.spawn(|t: &mut Task<Log>| -> Eff<Yields, Result<(), ()>> {
                            t.sleep(ms(100))?;
                            Ok(Ok(()))
                        })
                        .unwrap(),
                    );
                    Ok(Ok(()))
                })?
                .unwrap();
                Ok(child)
            },
        )
        .unwrap();
    d.run_until_idle();
    drop(d);
    assert_eq!(drops.take(), ["cleaned up"]);
    let (mut waiting, mut scoped) = (waiting, scoped);
    assert!(matches!(
        waiting.try_join(),
        Some(Err(JoinError::Cancelled))
    ));
    assert!(matches!(scoped.try_join(), Some(Err(JoinError::Cancelled))));
}
