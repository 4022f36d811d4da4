//! Cancel scopes and shields: `Task::timeout`, `Task::deadline`,
//! `Task::shield`, `Task::shield_for`; how their interrupt arrives, what it
//! leaves behind, where it stops, and how it meets a cancellation.

mod auxiliary;

use auxiliary::driver::{Log, at, log, ms, virtual_driver};
use auxiliary::{Log as DropLog, LogOnDrop};
use coshare::driver::{Elapsed, JoinError, Task, WaitOn, wait};
use coshare::{Eff, Yields};
use frunk::{Coproduct, hlist};

#[test]
fn a_block_that_finishes_in_time_gives_its_value() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, Result<u32, Elapsed>> {
            t.timeout(ms(100), |t| {
                t.sleep(ms(30))?;
                t.sleep(ms(30))?;
                Ok(7)
            })
        })
        .unwrap();
    assert_eq!(d.block_on(h).unwrap().unwrap(), Ok(7));
    assert_eq!(d.now(), at(60));
    assert!(d.tasks().is_empty());
    // No timer is left behind: the run ended when the block did.
    d.run().unwrap();
    assert_eq!(d.now(), at(60));
}

#[test]
fn the_deadline_covers_every_wait_of_the_block_not_each_one() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, Result<(), Elapsed>> {
            t.timeout(ms(100), |t| {
                for n in 0.. {
                    t.sleep(ms(30))?;
                    let now = t.now();
                    log(t, format!("nap {n} over at {now}"));
                }
                Ok(())
            })
        })
        .unwrap();
    let elapsed = d.block_on(h).unwrap().unwrap().unwrap_err();
    assert_eq!(elapsed.deadline(), at(100));
    assert_eq!(
        d.state(),
        &[
            "nap 0 over at 30ms",
            "nap 1 over at 60ms",
            "nap 2 over at 90ms"
        ]
    );
    assert_eq!(d.now(), at(100));
}

/// The deadline and a message arrive in the same round: the deadline wins,
/// and the message stays in the channel for the next receive.
#[test]
fn a_message_arriving_as_the_deadline_fires_stays_in_the_channel() {
    let mut d = virtual_driver();
    let (tx, mut rx) = d.handle().channel::<&str>(1);
    // The sender's timer is older than the receiver's deadline timer, so
    // it fires, and the sender runs, first.
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        t.sleep(ms(10))?;
        tx.try_send("late").unwrap();
        Ok(())
    })
    .unwrap();
    let h = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, Option<&str>> {
            let got = t.timeout(ms(10), |t| t.recv(&mut rx))?;
            assert_eq!(got.map_err(|e| e.deadline()), Err(at(10)));
            Ok(rx.try_recv().ok())
        })
        .unwrap();
    assert_eq!(d.block_on(h).unwrap().unwrap(), Some("late"));
}

#[test]
fn nested_scopes_take_the_earliest_deadline_and_the_outermost_expired_reports_it() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
            // The inner deadline is the earlier one: the inner scope reports.
            let outer = t.timeout(ms(50), |t| {
                let inner = t.timeout(ms(20), |t| t.sleep(ms(100)))?;
                log(t, format!("inner: {:?}", inner.map_err(|e| e.deadline())));
                t.sleep(ms(100))?;
                log(t, "not reached");
                Ok(())
            })?;
            log(t, format!("outer: {:?}", outer.map_err(|e| e.deadline())));
            // The outer deadline is the earlier one: the inner scope passes
            // the interrupt on, the outer one reports.
            let start = t.now();
            let outer = t.deadline(start + ms(10), |t| {
                let inner = t.timeout(ms(40), |t| t.sleep(ms(100)))?;
                log(t, format!("inner again: {inner:?}"));
                Ok(())
            })?;
            log(
                t,
                format!("outer again: {:?}", outer.map_err(|e| e.deadline())),
            );
            Ok(())
        })
        .unwrap();
    d.block_on(h).unwrap().unwrap();
    assert_eq!(
        d.state(),
        &[
            "inner: Err(Instant(20ms))",
            "outer: Err(Instant(50ms))",
            "outer again: Err(Instant(60ms))"
        ]
    );
}

#[test]
fn an_expired_scope_interrupts_every_later_wait_at_once_without_polling() {
    let mut d = virtual_driver();
    let (tx, mut rx) = d.handle().channel::<u32>(4);
    let h = d
        .spawn(
            move |t: &mut Task<Log>| -> Eff<Yields, (Result<u32, Elapsed>, Option<u32>)> {
                let scoped = t.timeout(ms(10), |t| {
                    let first = t.sleep(ms(50));
                    log(t, format!("sleep: {}", first.is_err()));
                    // Ignore it and wait again: a ready message, a sleep, a
                    // yield. Each returns the interrupt at once; the message
                    // stays where it is.
                    tx.try_send(5).unwrap();
                    let recv = t.recv(&mut rx);
                    let sleep = t.sleep(ms(1));
                    let yielded = t.yield_now();
                    let now = t.now();
                    log(
                        t,
                        format!(
                            "again at {now}: recv {}, sleep {}, yield {}",
                            recv.is_err(),
                            sleep.is_err(),
                            yielded.is_err()
                        ),
                    );
                    // A block that returns a value after all gives it.
                    Ok(99)
                })?;
                Ok((scoped, rx.try_recv().ok()))
            },
        )
        .unwrap();
    assert_eq!(d.block_on(h).unwrap().unwrap(), (Ok(99), Some(5)));
    assert_eq!(
        d.state(),
        &[
            "sleep: true",
            "again at 10ms: recv true, sleep true, yield true"
        ]
    );
}

#[test]
fn a_deadline_already_passed_interrupts_even_a_ready_wait_and_a_block_that_does_not_wait_finishes()
{
    let mut d = virtual_driver();
    let (tx, mut rx) = d.handle().channel::<u32>(4);
    tx.try_send(1).unwrap();
    let h = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            t.sleep(ms(5))?;
            let past = at(1);
            let ready = t.deadline(past, |t| t.recv(&mut rx))?;
            log(t, format!("ready recv: {}", ready.is_err()));
            let quiet = t.deadline(past, |t| Ok(t.now()))?;
            log(t, format!("no wait: {quiet:?}"));
            log(t, format!("still there: {:?}", rx.try_recv()));
            Ok(())
        })
        .unwrap();
    d.block_on(h).unwrap().unwrap();
    assert_eq!(
        d.state(),
        &[
            "ready recv: true",
            "no wait: Ok(Instant(5ms))",
            "still there: Ok(1)"
        ]
    );
}

#[test]
fn an_expired_scope_is_not_a_cancellation_of_the_task() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, bool> {
            let mut seen = false;
            let out = t.timeout(ms(10), |t| {
                let slept = t.sleep(ms(20));
                seen = t.is_cancelled();
                slept
            })?;
            assert!(out.is_err());
            Ok(seen)
        })
        .unwrap();
    // Returned normally: no "smuggled interrupt" panic, no cancellation.
    assert!(!d.block_on(h).unwrap().unwrap());
}

#[test]
fn a_cancellation_arriving_inside_a_scope_passes_through_it() {
    let mut d = virtual_driver();
    let drops = DropLog::new();
    let (d1, d2) = (drops.clone(), drops.clone());
    let hard = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            let _guard = LogOnDrop(d1, "hard: cleaned up");
            let out = t.timeout(ms(100), |t| t.sleep(ms(500)));
            let text = format!("hard: {:?}", out.as_ref().map(|r| r.is_err()));
            log(t, text);
            out?.ok();
            Ok(())
        })
        .unwrap();
    let soft = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            let _guard = LogOnDrop(d2, "soft: cleaned up");
            let out = t.timeout(ms(100), |t| t.sleep(ms(500)));
            let text = format!(
                "soft: {:?}, cancelled {}",
                out.as_ref().map(|r| r.is_err()),
                t.is_cancelled()
            );
            log(t, text);
            out?.ok();
            Ok(())
        })
        .unwrap();
    d.run_for(ms(10)).unwrap();
    d.cancel(&hard).unwrap();
    soft.abort();
    d.run().unwrap();
    assert_eq!(d.now(), at(10), "no scope timer outlived its task");
    assert_eq!(
        d.state(),
        &[
            "hard: Err(Interrupt<Yields>)",
            "soft: Err(Interrupt<Yields>), cancelled true"
        ]
    );
    assert_eq!(drops.take(), ["hard: cleaned up", "soft: cleaned up"]);
    let mut hard = hard;
    let mut soft = soft;
    assert!(matches!(hard.try_join(), Some(Err(JoinError::Cancelled))));
    assert!(matches!(soft.try_join(), Some(Err(JoinError::Cancelled))));
}

#[test]
fn a_select_interrupted_by_its_scope_passes_on_what_it_was_handed() {
    let mut d = virtual_driver();
    let pool = d.handle().semaphore(0);
    let notify = d.handle().notify();
    let (p, n) = (pool.clone(), notify.clone());
    let a = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            let out = t.timeout(ms(100), |t| {
                t.select(hlist![wait::acquire(&p), wait::notified(&n)])
            })?;
            log(
                t,
                format!("a: {}", if out.is_err() { "timed out" } else { "got it" }),
            );
            Ok(())
        })
        .unwrap();
    let (p, n) = (pool.clone(), notify.clone());
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        let _permit = t.acquire(&p)?;
        t.notified(&n)?;
        log(t, "b: got both");
        Ok(())
    })
    .unwrap();
    d.run_until_idle();
    // Hand both to `a`, the longest waiting; then stop it before it runs.
    pool.add_permits(1);
    notify.notify_one();
    notify.notify_one();
    a.abort();
    d.run().unwrap();
    assert_eq!(d.state(), &["b: got both"]);
    assert_eq!(pool.available_permits(), 1);
}

#[test]
fn a_shield_keeps_enclosing_scopes_out_and_has_a_deadline_of_its_own() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
            let outer = t.timeout(ms(10), |t| {
                let slept = t.sleep(ms(50));
                log(t, format!("work interrupted: {}", slept.is_err()));
                // Cleanup waits although the scope has expired.
                t.shield(|t| t.sleep(ms(20)))?;
                let now = t.now();
                log(t, format!("cleanup done at {now}"));
                let bounded = t.shield_for(ms(5), |t| t.sleep(ms(1000)))?;
                let now = t.now();
                log(t, format!("bounded cleanup: {bounded:?} at {now}"));
                // After the shields, the expired scope interrupts again.
                let after = t.sleep(ms(1));
                log(t, format!("after: {}", after.is_err()));
                after
            })?;
            log(t, format!("outer: {}", outer.is_err()));
            Ok(())
        })
        .unwrap();
    d.block_on(h).unwrap().unwrap();
    assert_eq!(
        d.state(),
        &[
            "work interrupted: true",
            "cleanup done at 30ms",
            "bounded cleanup: Err(Elapsed { deadline: Instant(35ms) }) at 35ms",
            "after: true",
            "outer: true"
        ]
    );
}

#[test]
fn a_shield_holds_a_requested_cancellation_until_it_ends() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
            t.shield(|t| t.sleep(ms(30)))?;
            log(t, "shield over");
            let next = t.sleep(ms(30));
            log(t, format!("next wait: {}", next.is_err()));
            next
        })
        .unwrap();
    d.run_for(ms(10)).unwrap();
    h.abort();
    d.run_for(ms(10)).unwrap();
    assert_eq!(d.tasks()[0].wait, WaitOn::Sleep { until: at(30) });
    assert!(matches!(d.block_on(h).unwrap(), Err(JoinError::Cancelled)));
    assert_eq!(d.state(), &["shield over", "next wait: true"]);
    assert_eq!(d.now(), at(30));
}

/// A cancellation through the core runs the task's cleanup to its end at
/// once: a shielded wait still takes what is ready, and one that would
/// park is the body ignoring its interrupt, unwound by force.
#[test]
fn a_shield_cannot_hold_off_a_cancellation_through_the_core() {
    let mut d = virtual_driver();
    let drops = DropLog::new();
    let inside = drops.clone();
    let (tx, mut rx) = d.handle().channel::<u32>(4);
    let h = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            let _guard = LogOnDrop(inside, "frame dropped");
            let work = t.sleep(ms(100));
            log(t, format!("cancelled: {}", t.is_cancelled()));
            let ready = t.shield(|t| t.recv(&mut rx))?;
            log(t, format!("shielded ready recv: {ready:?}"));
            let _ = t.shield(|t| t.sleep(ms(5)));
            log(t, "not reached: the shielded sleep was unwound by force");
            work
        })
        .unwrap();
    d.run_until_idle();
    tx.try_send(8).unwrap();
    d.cancel(&h).unwrap();
    assert_eq!(
        d.state(),
        &["cancelled: true", "shielded ready recv: Ok(8)"]
    );
    assert_eq!(drops.take(), ["frame dropped"]);
    let mut h = h;
    assert!(matches!(h.try_join(), Some(Err(JoinError::Cancelled))));
}

#[test]
fn scope_timers_follow_the_earliest_visible_deadline_and_leave_with_their_scope() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
            let _ = t.timeout(ms(100), |t| {
                // A shield hides the outer deadline: only its own counts.
                let _ = t.shield(|t| t.sleep(ms(150)));
                let now = t.now();
                log(t, format!("shield woke at {now}"));
                Ok(())
            })?;
            // No scope is left: a plain wait is not woken at 100 or 150.
            t.sleep(ms(500))?;
            let now = t.now();
            log(t, format!("plain sleep woke at {now}"));
            Ok(())
        })
        .unwrap();
    d.block_on(h).unwrap().unwrap();
    assert_eq!(
        d.state(),
        &["shield woke at 150ms", "plain sleep woke at 650ms"]
    );
}

#[test]
fn a_scope_in_a_panicking_block_is_left_cleanly() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = t.timeout(ms(10), |t| -> Eff<Yields, ()> {
                    t.sleep(ms(1))?;
                    panic!("boom inside the scope");
                });
            }));
            assert!(caught.is_err());
            // The scope's level is gone: its deadline interrupts nothing.
            t.sleep(ms(50))?;
            let now = t.now();
            log(t, format!("slept to {now}"));
            Ok(())
        })
        .unwrap();
    d.block_on(h).unwrap().unwrap();
    assert_eq!(d.state(), &["slept to 51ms"]);
}

#[test]
fn select_in_a_scope_loses_to_the_deadline_like_any_wait() {
    let mut d = virtual_driver();
    let event = d.handle().event();
    let e = event.clone();
    let h = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, String> {
            let out = t.timeout(ms(20), |t| {
                Ok(
                    match t.select(hlist![wait::event(&e), wait::sleep(ms(40))])? {
                        Coproduct::Inl(()) => "event",
                        Coproduct::Inr(_) => "sleep",
                    },
                )
            })?;
            Ok(format!("{out:?}"))
        })
        .unwrap();
    assert_eq!(
        d.block_on(h).unwrap().unwrap(),
        "Err(Elapsed { deadline: Instant(20ms) })"
    );
    drop(event);
}
