//! Task scopes: `Task::scope`, `Driver::scope`.

mod auxiliary;

use auxiliary::driver::{Log, at, log, ms, virtual_driver};
use auxiliary::{Log as DropLog, LogOnDrop, panic_message};
use coshare::driver::{Failure, JoinError, Scope, Task};
use coshare::{Eff, Yields};

/// A child that sleeps `n` ms, logs, and returns `n`; it logs its
/// cancellation too.
fn sleeper(s: &mut Scope<'_, '_, Log, String>, n: u64) -> coshare::driver::JoinHandle<u64> {
    s.spawn(
        move |t: &mut Task<Log>| -> Eff<Yields, Result<u64, String>> {
            if let Err(interrupt) = t.sleep(ms(n)) {
                let now = t.now();
                log(t, format!("{n}: cancelled at {now}"));
                return Err(interrupt);
            }
            log(t, format!("{n}: done"));
            Ok(Ok(n))
        },
    )
    .unwrap()
}

#[test]
fn a_scope_returns_when_every_child_has_finished() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, u64> {
            let mut handles = Vec::new();
            let body = t.scope(|s| {
                handles.push(sleeper(s, 30));
                handles.push(sleeper(s, 10));
                log(s, "body done");
                Ok(Ok::<_, String>("value"))
            })?;
            assert_eq!(body.unwrap(), "value");
            let now = t.now();
            log(t, format!("scope done at {now}"));
            Ok(handles
                .iter_mut()
                .map(|h| h.try_join().unwrap().unwrap())
                .sum())
        })
        .unwrap();
    assert_eq!(d.block_on(h).unwrap().unwrap(), 40);
    assert_eq!(
        d.state(),
        &["body done", "10: done", "30: done", "scope done at 30ms"]
    );
}

#[test]
fn a_failing_child_cancels_its_siblings_and_the_body_and_later_failures_are_kept() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
            let out = t.scope(|s| {
                let mut first = sleeper(s, 50);
                s.spawn(|t: &mut Task<Log>| -> Eff<Yields, Result<(), String>> {
                    t.sleep(ms(10))?;
                    Ok(Err("child failed".into()))
                })
                .unwrap();
                // This one fails again while it is being cancelled.
                s.spawn(|t: &mut Task<Log>| -> Eff<Yields, Result<(), String>> {
                    let _ = t.sleep(ms(100));
                    Ok(Err("failed in cleanup".into()))
                })
                .unwrap();
                let body = s.sleep(ms(1000));
                let now = s.now();
                log(s, format!("body interrupted at {now}: {}", body.is_err()));
                body?;
                assert!(first.try_join().is_none());
                Ok(Ok(()))
            })?;
            let error = out.unwrap_err();
            let first = error.first();
            assert_eq!(first.error().map(String::as_str), Some("child failed"));
            assert!(first.task().is_some());
            let others: Vec<_> = error.others().iter().filter_map(Failure::error).collect();
            assert_eq!(others, ["failed in cleanup"]);
            log(t, format!("{error}"));
            Ok(())
        })
        .unwrap();
    d.block_on(h).unwrap().unwrap();
    let state = d.state().clone();
    // The children are cancelled, then the body: they run in that order.
    assert_eq!(state[0], "50: cancelled at 10ms");
    assert_eq!(state[1], "body interrupted at 10ms: true");
    assert!(
        state[2].ends_with("failed: child failed (and 1 more failure(s))"),
        "{state:?}"
    );
    assert_eq!(d.now(), at(10));
}

#[test]
fn the_bodys_own_error_cancels_the_children() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, Option<String>> {
            let out = t.scope(|s| -> Eff<Yields, Result<(), String>> {
                sleeper(s, 40);
                s.sleep(ms(5))?;
                Ok(Err("body gave up".into()))
            })?;
            let failure = out.unwrap_err().into_first();
            assert_eq!(failure.task(), None);
            Ok(failure.into_error())
        })
        .unwrap();
    assert_eq!(
        d.block_on(h).unwrap().unwrap().as_deref(),
        Some("body gave up")
    );
    assert_eq!(d.state(), &["40: cancelled at 5ms"]);
}

#[test]
fn a_panicking_child_fails_the_scope_with_its_payload() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, String> {
            let mut handle = None;
            let out = t.scope(|s| {
                sleeper(s, 40);
                handle = Some(
                    s.spawn(|t: &mut Task<Log>| -> Eff<Yields, Result<(), String>> {
                        t.sleep(ms(5))?;
                        panic!("child boom");
                    })
                    .unwrap(),
                );
                Ok(Ok::<_, String>(()))
            })?;
            let mut handle = handle.unwrap();
            assert!(matches!(
                handle.try_join(),
                Some(Err(JoinError::Panicked(None)))
            ));
            let error = out.unwrap_err();
            assert!(error.first().is_panic());
            Ok(error.to_string())
        })
        .unwrap();
    let text = d.block_on(h).unwrap().unwrap();
    assert!(text.ends_with("panicked: child boom"), "{text}");
    assert_eq!(d.state(), &["40: cancelled at 5ms"]);
}

#[test]
fn a_failed_child_s_handle_says_so() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
            let mut failed = None;
            let _ = t.scope(|s| {
                failed = Some(
                    s.spawn(|_: &mut Task<Log>| -> Eff<Yields, Result<u8, &str>> { Ok(Err("no")) })
                        .unwrap(),
                );
                Ok(Ok::<_, &str>(()))
            })?;
            let joined = failed.unwrap().try_join();
            assert!(matches!(joined, Some(Err(JoinError::Failed))));
            assert_eq!(
                JoinError::Failed.to_string(),
                "the task failed; its error went to its scope"
            );
            Ok(())
        })
        .unwrap();
    d.block_on(h).unwrap().unwrap();
}

#[test]
fn an_expiring_deadline_around_a_scope_cancels_the_children_and_waits_for_their_cleanup() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
            let out = t.timeout(ms(20), |t| {
                t.scope(|s| {
                    s.spawn(|t: &mut Task<Log>| -> Eff<Yields, Result<(), String>> {
                        let work = t.sleep(ms(100));
                        // Cleanup that waits: shielded.
                        t.shield(|t| t.sleep(ms(15)))?;
                        let now = t.now();
                        log(t, format!("child cleaned up at {now}"));
                        work?;
                        Ok(Ok(()))
                    })
                    .unwrap();
                    Ok(Ok::<_, String>(()))
                })
            })?;
            let now = t.now();
            log(t, format!("timed out: {} at {now}", out.is_err()));
            Ok(())
        })
        .unwrap();
    d.block_on(h).unwrap().unwrap();
    assert_eq!(
        d.state(),
        &["child cleaned up at 35ms", "timed out: true at 35ms"]
    );
}

#[test]
fn a_parent_asked_to_stop_stops_its_children_first() {
    let mut d = virtual_driver();
    let parent = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
            let out = t.scope(|s| {
                sleeper(s, 100);
                sleeper(s, 200);
                s.sleep(ms(1000))?;
                Ok(Ok::<_, String>(()))
            });
            let now = t.now();
            log(t, format!("scope returned at {now}: {}", out.is_err()));
            out?.unwrap();
            Ok(())
        })
        .unwrap();
    d.run_for(ms(10)).unwrap();
    parent.abort();
    assert!(matches!(
        d.block_on(parent).unwrap(),
        Err(JoinError::Cancelled)
    ));
    assert_eq!(
        d.state(),
        &[
            "100: cancelled at 10ms",
            "200: cancelled at 10ms",
            "scope returned at 10ms: true"
        ]
    );
    assert!(d.tasks().is_empty());
}

#[test]
fn a_parent_cancelled_through_the_core_cancels_its_children_first_in_spawn_order() {
    let mut d = virtual_driver();
    let drops = DropLog::new();
    let inside = drops.clone();
    let parent = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            let _guard = LogOnDrop(inside.clone(), "parent");
            let (a, b) = (inside.clone(), inside.clone());
            t.scope(|s| {
                s.spawn(
                    move |t: &mut Task<Log>| -> Eff<Yields, Result<(), String>> {
                        let _guard = LogOnDrop(a, "child a");
                        t.sleep(ms(100))?;
                        Ok(Ok(()))
                    },
                )
                .unwrap();
                s.spawn(
                    move |t: &mut Task<Log>| -> Eff<Yields, Result<(), String>> {
                        let _guard = LogOnDrop(b, "child b");
                        t.sleep(ms(100))?;
                        Ok(Ok(()))
                    },
                )
                .unwrap();
                Ok(Ok::<_, String>(()))
            })?
            .unwrap();
            Ok(())
        })
        .unwrap();
    d.run_until_idle();
    d.cancel(&parent).unwrap();
    assert_eq!(drops.take(), ["child a", "child b", "parent"]);
    assert!(d.tasks().is_empty());
}

#[test]
fn a_panicking_body_cancels_its_children_before_the_panic_goes_on() {
    let mut d = virtual_driver();
    let drops = DropLog::new();
    let inside = drops.clone();
    let parent = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            let child = inside.clone();
            let _ = t.scope(|s| -> Eff<Yields, Result<(), String>> {
                s.spawn(
                    move |t: &mut Task<Log>| -> Eff<Yields, Result<(), String>> {
                        let _guard = LogOnDrop(child, "child");
                        t.sleep(ms(100))?;
                        Ok(Ok(()))
                    },
                )
                .unwrap();
                s.sleep(ms(5))?;
                panic!("body boom");
            })?;
            Ok(())
        })
        .unwrap();
    match d.block_on(parent).unwrap() {
        Err(JoinError::Panicked(Some(payload))) => {
            assert_eq!(panic_message(&*payload), "body boom");
        }
        other => panic!("expected the body's panic, got {other:?}"),
    }
    assert_eq!(drops.take(), ["child"]);
    assert!(d.tasks().is_empty());
}

#[test]
fn cancel_all_stops_the_children_and_those_spawned_later_never_run() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
            let out = t.scope(|s| {
                sleeper(s, 100);
                s.sleep(ms(10))?;
                s.cancel_all();
                let mut late = s
                    .spawn(|t: &mut Task<Log>| -> Eff<Yields, Result<(), String>> {
                        log(t, "late child ran");
                        Ok(Ok(()))
                    })
                    .unwrap();
                // The body itself goes on.
                s.sleep(ms(5))?;
                assert!(matches!(late.try_join(), Some(Err(JoinError::Cancelled))));
                assert_eq!(s.live_children(), 0);
                Ok(Ok::<_, String>("body finished"))
            })?;
            let text = out.unwrap().to_owned();
            log(t, text);
            Ok(())
        })
        .unwrap();
    d.block_on(h).unwrap().unwrap();
    assert_eq!(d.state(), &["100: cancelled at 10ms", "body finished"]);
}

#[test]
fn dropping_a_scoped_child_s_handle_changes_nothing() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
            t.scope(|s| {
                drop(sleeper(s, 20));
                Ok(Ok::<_, String>(()))
            })?
            .unwrap();
            log(t, "scope over");
            Ok(())
        })
        .unwrap();
    d.block_on(h).unwrap().unwrap();
    assert_eq!(d.state(), &["20: done", "scope over"]);
}

#[test]
fn a_driver_scope_runs_the_driver_until_its_children_have_ended() {
    let mut d = virtual_driver();
    let outside = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
            t.sleep(ms(500))?;
            log(t, "unrelated task done");
            Ok(())
        })
        .unwrap();
    let out = d
        .scope(|s| {
            for n in [20, 10] {
                s.spawn(
                    move |t: &mut Task<Log>| -> Eff<Yields, Result<(), String>> {
                        t.sleep(ms(n))?;
                        log(t, format!("{n}: done"));
                        Ok(Ok(()))
                    },
                )
                .unwrap();
            }
            s.state().push("body done".into());
            Ok(Ok::<_, String>(()))
        })
        .unwrap();
    assert!(out.is_ok());
    assert_eq!(d.now(), at(20));
    assert_eq!(d.state(), &["body done", "10: done", "20: done"]);
    assert!(!outside.is_finished());
    d.run().unwrap();
}

#[test]
fn a_driver_scope_reports_failures_and_a_deadlock() {
    let mut d = virtual_driver();
    let out = d
        .scope(|s| {
            s.spawn(|t: &mut Task<Log>| -> Eff<Yields, Result<(), String>> {
                t.sleep(ms(5))?;
                Ok(Err("bad".into()))
            })
            .unwrap();
            s.spawn(|t: &mut Task<Log>| -> Eff<Yields, Result<(), String>> {
                let slept = t.sleep(ms(50));
                log(t, format!("sibling interrupted: {}", slept.is_err()));
                slept?;
                Ok(Ok(()))
            })
            .unwrap();
            Ok(Ok::<_, String>(()))
        })
        .unwrap();
    assert_eq!(out.unwrap_err().error().map(String::as_str), Some("bad"));
    assert_eq!(d.state(), &["sibling interrupted: true"]);

    let (_tx, rx) = d.handle().channel::<u32>(1);
    let drops = DropLog::new();
    let inside = drops.clone();
    let deadlock = d
        .scope(move |s| {
            let mut rx = rx;
            s.spawn(
                move |t: &mut Task<Log>| -> Eff<Yields, Result<(), String>> {
                    let _guard = LogOnDrop(inside, "stuck child cleaned up");
                    t.recv(&mut rx)?.ok();
                    Ok(Ok(()))
                },
            )
            .unwrap();
            Ok(Ok::<_, String>(()))
        })
        .unwrap_err();
    assert_eq!(deadlock.tasks.len(), 1);
    assert_eq!(drops.take(), ["stuck child cleaned up"]);
    assert!(d.tasks().is_empty(), "no child outlives its scope");
}

#[test]
fn a_childless_scope_delivers_at_its_end_a_deadline_that_passed_in_a_shield() {
    let mut driver = virtual_driver();
    let h = driver
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, bool> {
            let outcome = t.timeout(ms(1), |t| {
                t.scope(|s| {
                    // The deadline passes here, held off by the shield.
                    s.shield(|t| t.sleep(ms(2)))?;
                    Ok(Ok::<(), ()>(()))
                })
            })?;
            let now = t.now();
            log(t, format!("after the timeout at {now}"));
            Ok(outcome.is_err())
        })
        .unwrap();
    assert!(
        driver.block_on(h).unwrap().unwrap(),
        "the scope's end is a wait point: the expired deadline arrives there"
    );
    assert_eq!(driver.state(), &["after the timeout at 2ms"]);
}
