//! The event driver: timers, channels, joins, notify/event, wait-for-any,
//! cancellation cleanup, errors, listings and determinism.

mod auxiliary;

use auxiliary::driver::{Log, at, ms, virtual_driver};
use auxiliary::panic_message;
use coshare::driver::{
    Driver, DriverBuilder, Instant, JoinError, RecvError, Task, TryRecvError, TrySendError, WaitOn,
    wait,
};
use coshare::{Eff, SpawnOptions, Yields};
use frunk::{Coproduct, hlist};

#[test]
fn timers_fire_by_deadline_then_creation_order() {
    let mut d = virtual_driver();
    for (name, delay) in [("c", 30), ("a", 10), ("b", 10), ("d", 20)] {
        d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            t.sleep(ms(delay))?;
            let now = t.now();
            t.state().push(format!("{name}@{now}"));
            Ok(())
        })
        .unwrap();
    }
    d.run().unwrap();
    assert_eq!(d.state(), &["a@10ms", "b@10ms", "d@20ms", "c@30ms"]);
    assert_eq!(d.now(), at(30));
}

#[test]
fn a_virtual_run_is_deterministic() {
    fn scenario() -> Log {
        let mut d = virtual_driver();
        let (tx, mut rx) = d.handle().channel::<u32>(2);
        for i in 0..5u32 {
            let tx = tx.clone();
            d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
                for k in 0..3 {
                    t.sleep(ms(u64::from((i * 7 + k) % 5)))?;
                    t.send(&tx, i * 10 + k)?.unwrap();
                    t.yield_now()?;
                }
                Ok(())
            })
            .unwrap();
        }
        drop(tx);
        d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            while let Ok(v) = t.recv(&mut rx)? {
                let now = t.now();
                t.state().push(format!("{v}@{now}"));
            }
            Ok(())
        })
        .unwrap();
        d.run().unwrap();
        std::mem::take(d.state())
    }
    let first = scenario();
    assert_eq!(first.len(), 15);
    for _ in 0..5 {
        assert_eq!(scenario(), first);
    }
}

#[test]
fn a_full_channel_suspends_the_sender_until_there_is_room() {
    let mut d = virtual_driver();
    let (tx, mut rx) = d.handle().channel::<u32>(2);
    d.spawn_with(
        &SpawnOptions::new().name("producer"),
        move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            for i in 0..5 {
                t.send(&tx, i)?.unwrap();
                let now = t.now();
                t.state().push(format!("sent {i}@{now}"));
            }
            Ok(())
        },
    )
    .unwrap();
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        while let Ok(v) = t.recv(&mut rx)? {
            t.sleep(ms(10))?; // a slow consumer
            let now = t.now();
            t.state().push(format!("got {v}@{now}"));
        }
        Ok(())
    })
    .unwrap();
    d.run_until_idle();
    // Two fit; the third send waits: the producer is parked on the channel.
    let tasks = d.tasks();
    let producer = tasks
        .iter()
        .find(|t| t.name.as_deref() == Some("producer"))
        .unwrap();
    assert!(
        matches!(producer.wait, WaitOn::Send { capacity: 2, .. }),
        "{producer}"
    );
    d.run().unwrap();
    let log = d.state().join(" ");
    assert_eq!(
        log,
        "sent 0@0ns sent 1@0ns sent 2@0ns got 0@10ms sent 3@10ms got 1@20ms sent 4@20ms \
         got 2@30ms got 3@40ms got 4@50ms"
    );
}

#[test]
fn the_main_stack_talks_to_tasks_through_channels() {
    let mut d = virtual_driver();
    let (to_task, mut task_rx) = d.handle().channel::<String>(4);
    let (task_tx, mut from_task) = d.handle().channel::<String>(4);
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        while let Ok(line) = t.recv(&mut task_rx)? {
            t.send(&task_tx, line.to_uppercase())?.unwrap();
        }
        Ok(())
    })
    .unwrap();
    to_task.try_send("hello".into()).unwrap();
    to_task.try_send("world".into()).unwrap();
    d.run_until_idle();
    assert_eq!(from_task.try_recv().unwrap(), "HELLO");
    assert_eq!(from_task.try_recv().unwrap(), "WORLD");
    assert_eq!(from_task.try_recv(), Err(TryRecvError::Empty));
    drop(to_task);
    d.run().unwrap();
    assert_eq!(from_task.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn try_send_reports_full_and_closed_and_gives_the_message_back() {
    let d = virtual_driver();
    let (tx, rx) = d.handle().channel::<&str>(1);
    tx.try_send("a").unwrap();
    match tx.try_send("b") {
        Err(TrySendError::Full(msg)) => assert_eq!(msg, "b"),
        other => panic!("expected Full, got {other:?}"),
    }
    drop(rx);
    let err = tx.try_send("c").unwrap_err();
    assert!(err.to_string().contains("receiver is gone"), "{err}");
    assert_eq!(err.into_inner(), "c");
    assert!(tx.is_closed());
}

#[test]
fn send_and_recv_report_the_other_side_gone() {
    let mut d = virtual_driver();
    let (tx, rx) = d.handle().channel::<u32>(1);
    let (tx2, mut rx2) = d.handle().channel::<u32>(1);
    drop(rx);
    drop(tx2);
    let h = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, (u32, RecvError)> {
            let back = t.send(&tx, 7)?.unwrap_err().0;
            let err = t.recv(&mut rx2)?.unwrap_err();
            Ok((back, err))
        })
        .unwrap();
    let (back, err) = d.block_on(h).unwrap().unwrap();
    assert_eq!(back, 7);
    assert!(err.to_string().contains("every sender is gone"), "{err}");
}

#[test]
fn a_waiting_receiver_is_woken_when_the_last_sender_goes() {
    let mut d = virtual_driver();
    let (tx, mut rx) = d.handle().channel::<u32>(1);
    let h = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, bool> { Ok(t.recv(&mut rx)?.is_err()) })
        .unwrap();
    d.run_until_idle();
    assert!(!h.is_finished());
    drop(tx);
    assert!(d.block_on(h).unwrap().unwrap());
}

#[test]
fn join_returns_the_result_or_why_there_is_none() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, (u32, String, String)> {
            let mut ok = t
                .spawn(|t: &mut Task<Log>| -> Eff<Yields, u32> {
                    t.sleep(ms(5))?;
                    Ok(42)
                })
                .unwrap();
            let mut doomed = t
                .spawn(|t: &mut Task<Log>| -> Eff<Yields, u32> {
                    t.sleep(ms(100))?;
                    Ok(0)
                })
                .unwrap();
            let mut bomb = t
                .spawn(|t: &mut Task<Log>| -> Eff<Yields, u32> {
                    t.sleep(ms(1))?;
                    panic!("task exploded");
                })
                .unwrap();
            let value = t.join(&mut ok)?.unwrap();
            t.cancel(&doomed)?.unwrap();
            let cancelled = t.join(&mut doomed)?.unwrap_err();
            let panicked = t.join(&mut bomb)?.unwrap_err();
            assert!(panicked.is_panic());
            let again = t.join(&mut ok)?.unwrap_err();
            assert!(matches!(again, JoinError::AlreadyJoined));
            Ok((value, cancelled.to_string(), panicked.to_string()))
        })
        .unwrap();
    let (value, cancelled, panicked) = d.block_on(h).unwrap().unwrap();
    assert_eq!(value, 42);
    assert!(cancelled.contains("cancelled"), "{cancelled}");
    assert_eq!(panicked, "the task panicked: task exploded");
}

#[test]
fn a_panic_payload_reaches_the_joiner_intact() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|_: &mut Task<Log>| -> Eff<Yields, ()> { std::panic::resume_unwind(Box::new(17u8)) })
        .unwrap();
    match d.block_on(h).unwrap() {
        Err(JoinError::Panicked(Some(payload))) => {
            assert_eq!(payload.downcast_ref::<u8>(), Some(&17))
        }
        other => panic!("unexpected {other:?}"),
    }
    // The driver keeps working.
    let h = d
        .spawn(|_: &mut Task<Log>| -> Eff<Yields, u8> { Ok(1) })
        .unwrap();
    assert_eq!(d.block_on(h).unwrap().unwrap(), 1);
}

#[test]
fn notify_one_wakes_one_or_stores_a_permit() {
    let mut d = virtual_driver();
    let notify = d.handle().notify();
    for name in ["first", "second"] {
        let n = notify.clone();
        d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            t.notified(&n)?;
            t.state().push(name.into());
            Ok(())
        })
        .unwrap();
    }
    d.run_until_idle();
    notify.notify_one();
    d.run_until_idle();
    assert_eq!(d.state(), &["first"]);
    notify.notify_one();
    d.run_until_idle();
    assert_eq!(d.state(), &["first", "second"]);
    // No waiter: the permit is stored and consumed by the next wait.
    notify.notify_one();
    let n = notify.clone();
    let h = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> { t.notified(&n) })
        .unwrap();
    d.run_until_idle();
    assert!(h.is_finished());
}

#[test]
fn notify_waiters_wakes_everyone_waiting_and_stores_nothing() {
    let mut d = virtual_driver();
    let notify = d.handle().notify();
    for i in 0..3 {
        let n = notify.clone();
        d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            t.notified(&n)?;
            t.state().push(format!("woke {i}"));
            Ok(())
        })
        .unwrap();
    }
    d.run_until_idle();
    notify.notify_waiters();
    d.run_until_idle();
    assert_eq!(d.state(), &["woke 0", "woke 1", "woke 2"]);
    let n = notify.clone();
    let late = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> { t.notified(&n) })
        .unwrap();
    d.run_until_idle();
    assert!(
        !late.is_finished(),
        "notify_waiters must not store a permit"
    );
}

#[test]
fn a_notification_handed_to_a_cancelled_task_is_passed_on() {
    let mut d = virtual_driver();
    let notify = d.handle().notify();
    let n1 = notify.clone();
    let first = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> { t.notified(&n1) })
        .unwrap();
    let n2 = notify.clone();
    let second = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> { t.notified(&n2) })
        .unwrap();
    d.run_until_idle();
    notify.notify_one(); // handed to `first`, which has not run yet
    d.cancel(&first).unwrap();
    d.run_until_idle();
    assert!(second.is_finished(), "the notification must not be lost");
}

#[test]
fn an_event_is_a_latch() {
    let mut d = virtual_driver();
    let ev = d.handle().event();
    let e = ev.clone();
    let waiter = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> { t.wait_event(&e) })
        .unwrap();
    d.run_until_idle();
    assert!(!waiter.is_finished());
    ev.set();
    d.run_until_idle();
    assert!(waiter.is_finished());
    let e = ev.clone();
    let late = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> { t.wait_event(&e) })
        .unwrap();
    d.run_until_idle();
    assert!(late.is_finished(), "a set event lets later waits through");
}

#[test]
fn select_reports_which_source_fired() {
    let mut d = virtual_driver();
    let (tx, mut rx) = d.handle().channel::<&'static str>(4);
    let shutdown = d.handle().event();
    let sd = shutdown.clone();
    let h = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, Vec<String>> {
            let mut seen = Vec::new();
            loop {
                let fired = t.select(hlist![
                    wait::recv(&mut rx),
                    wait::sleep(ms(100)),
                    wait::event(&sd),
                ])?;
                let now = t.now();
                match fired {
                    Coproduct::Inl(msg) => seen.push(format!("msg {}@{now}", msg.unwrap())),
                    Coproduct::Inr(Coproduct::Inl(())) => seen.push(format!("timeout@{now}")),
                    Coproduct::Inr(Coproduct::Inr(_)) => {
                        seen.push(format!("shutdown@{now}"));
                        return Ok(seen);
                    }
                }
            }
        })
        .unwrap();
    d.run_for(ms(50)).unwrap();
    tx.try_send("a").unwrap();
    d.run_for(ms(150)).unwrap();
    shutdown.set();
    let seen = d.block_on(h).unwrap().unwrap();
    assert_eq!(seen, ["msg a@50ms", "timeout@150ms", "shutdown@200ms"]);
}

#[test]
fn select_leaves_the_sources_that_did_not_fire_untouched() {
    let mut d = virtual_driver();
    let (tx_a, mut rx_a) = d.handle().channel::<u32>(4);
    let (tx_b, mut rx_b) = d.handle().channel::<u32>(4);
    let notify = d.handle().notify();
    tx_a.try_send(1).unwrap();
    tx_b.try_send(2).unwrap();
    notify.notify_one(); // a stored permit
    let n = notify.clone();
    let h = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, (u32, u32, u32)> {
            // All three are ready: the leftmost wins, the others keep what
            // they have.
            let first = match t.select(hlist![
                wait::recv(&mut rx_a),
                wait::recv(&mut rx_b),
                wait::notified(&n)
            ])? {
                Coproduct::Inl(v) => v.unwrap(),
                _ => unreachable!("the leftmost ready source wins"),
            };
            let b = t.recv(&mut rx_b)?.unwrap();
            t.notified(&n)?; // the permit is still there
            let a_again = t.recv_timeout(&mut rx_a, ms(10))?;
            assert!(a_again.is_none(), "rx_a had one message only");
            Ok((first, b, 0))
        })
        .unwrap();
    assert_eq!(d.block_on(h).unwrap().unwrap(), (1, 2, 0));
}

#[test]
fn cancelling_a_waiting_task_removes_its_registrations() {
    let mut d = virtual_driver();
    let (tx, mut rx) = d.handle().channel::<u32>(1);
    let notify = d.handle().notify();
    let n = notify.clone();
    let h = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            loop {
                t.select(hlist![
                    wait::recv(&mut rx),
                    wait::sleep(ms(1000)),
                    wait::notified(&n)
                ])?;
            }
        })
        .unwrap();
    d.run_until_idle();
    assert!(format!("{d:?}").contains("timers: 1"), "{d:?}");
    d.cancel(&h).unwrap();
    assert!(
        format!("{d:?}").contains("timers: 0"),
        "the sleep's timer is gone: {d:?}"
    );
    // The cancelled task's notify registration is gone: the permit is stored,
    // not handed to a dead task.
    notify.notify_one();
    let n = notify.clone();
    let h2 = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> { t.notified(&n) })
        .unwrap();
    d.run_until_idle();
    assert!(h2.is_finished());
    // The receiver went with the task: the channel is closed for senders.
    assert!(tx.is_closed());
    assert!(d.tasks().is_empty());
}

/// A cancelled waiting sender does not take the freed room with it: the
/// next waiting sender gets it, and no message is lost.
#[test]
fn a_cancelled_sender_passes_the_room_on_and_no_message_is_lost() {
    let mut d = virtual_driver();
    let (tx, mut rx) = d.handle().channel::<&'static str>(1);
    tx.try_send("first").unwrap();
    let t1 = tx.clone();
    let s1 = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            t.send(&t1, "from s1")?.unwrap();
            Ok(())
        })
        .unwrap();
    let t2 = tx.clone();
    let s2 = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            t.send(&t2, "from s2")?.unwrap();
            Ok(())
        })
        .unwrap();
    d.run_until_idle(); // both wait for room
    assert_eq!(rx.try_recv().unwrap(), "first"); // room: s1 is woken
    d.cancel(&s1).unwrap(); // ...but cancelled before it runs
    d.run_until_idle();
    assert!(s2.is_finished(), "the room was passed on to s2");
    assert_eq!(rx.try_recv().unwrap(), "from s2");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn a_deadlock_is_reported_with_names_and_waits() {
    let mut d = virtual_driver();
    let (tx_a, mut rx_a) = d.handle().channel::<u32>(1);
    let (tx_b, mut rx_b) = d.handle().channel::<u32>(1);
    d.spawn_with(
        &SpawnOptions::new().name("alice"),
        move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            let v = t.recv(&mut rx_a)?.unwrap();
            t.send(&tx_b, v)?.unwrap();
            Ok(())
        },
    )
    .unwrap();
    d.spawn_with(
        &SpawnOptions::new().name("bob"),
        move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            let v = t.recv(&mut rx_b)?.unwrap();
            t.send(&tx_a, v)?.unwrap();
            Ok(())
        },
    )
    .unwrap();
    let err = d.run().unwrap_err();
    assert_eq!(err.tasks.len(), 2);
    let message = err.to_string();
    assert!(message.starts_with("deadlock: 2 task(s) wait"), "{message}");
    assert!(
        message.contains("task `alice` (#0.0) waits to receive on channel #1"),
        "{message}"
    );
    assert!(
        message.contains("task `bob` (#1.0) waits to receive on channel #2"),
        "{message}"
    );
}

#[test]
fn the_task_list_shows_what_each_task_waits_on_and_where() {
    let mut d = virtual_driver();
    let sleeper_line = line!() + 4;
    let mut sleeper = d
        .spawn_with(
            &SpawnOptions::new().name("sleeper"),
            |t: &mut Task<Log>| -> Eff<Yields, ()> { t.sleep(ms(30)) },
        )
        .unwrap();
    let sleeper_id = sleeper.id();
    let joiner_line = line!() + 4;
    d.spawn_with(
        &SpawnOptions::new().name("joiner"),
        move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            t.join(&mut sleeper)?.unwrap();
            Ok(())
        },
    )
    .unwrap();
    let third_line = line!() + 1;
    d.spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> { t.sleep(ms(5)) })
        .unwrap();
    let before = d.tasks();
    assert!(before.iter().all(|t| t.wait == WaitOn::Ready));
    assert!(before.iter().all(|t| t.location.is_none()));
    d.run_until_idle();
    let listed = d.tasks();
    assert!(listed.iter().all(|t| t.location.unwrap().file() == file!()));
    let listing: Vec<String> = listed.iter().map(ToString::to_string).collect();
    let here = file!();
    assert_eq!(
        listing,
        [
            format!("task `sleeper` (#0.0) sleeps until 30ms at {here}:{sleeper_line}"),
            format!(
                "task `joiner` (#1.0) waits for task `sleeper` ({sleeper_id}) to finish \
                 at {here}:{joiner_line}"
            ),
            format!("task #2.0 sleeps until 5ms at {here}:{third_line}"),
        ]
    );
    d.run().unwrap();
    assert!(d.tasks().is_empty());
}

#[test]
fn intervals_tick_without_drift_and_catch_up_in_a_burst() {
    let mut d = virtual_driver();
    d.spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
        let mut every = t.handle().interval(ms(10));
        for i in 0..5 {
            let due = t.tick(&mut every)?;
            let now = t.now();
            t.state().push(format!("tick {due} at {now}"));
            if i == 1 {
                t.sleep(ms(25))?; // fall behind
            }
        }
        Ok(())
    })
    .unwrap();
    d.run().unwrap();
    assert_eq!(
        d.state(),
        &[
            "tick 0ns at 0ns",
            "tick 10ms at 10ms",
            "tick 20ms at 35ms",
            "tick 30ms at 35ms",
            "tick 40ms at 40ms"
        ]
    );
}

#[test]
fn run_until_run_for_and_run_until_state() {
    let mut d = virtual_driver();
    d.spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
        for i in 0..10 {
            t.sleep(ms(10))?;
            t.state().push(i.to_string());
        }
        Ok(())
    })
    .unwrap();
    d.run_until(at(35)).unwrap();
    assert_eq!(d.now(), at(35));
    assert_eq!(d.state().len(), 3);
    d.run_for(ms(10)).unwrap();
    assert_eq!(d.now(), at(45));
    assert_eq!(d.state().len(), 4);
    d.run_until_state(|log| log.len() == 7).unwrap();
    assert_eq!(d.now(), at(70));
    d.run().unwrap();
    assert_eq!(d.state().len(), 10);
    // Nothing left: a condition that cannot become true is reported.
    let err = d.run_until_state(|log| log.len() == 11).unwrap_err();
    assert!(err.to_string().contains("no task is left"), "{err}");
}

#[test]
fn the_real_clock_sleeps() {
    let mut d = Driver::new(Vec::<String>::new());
    let h = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, Instant> {
            t.sleep(ms(15))?;
            Ok(t.now())
        })
        .unwrap();
    let woke = d.block_on(h).unwrap().unwrap();
    assert!(woke >= at(15), "woke at {woke}");
}

#[test]
fn yield_now_lets_the_others_run() {
    let mut d = virtual_driver();
    for name in ["x", "y"] {
        d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            for i in 0..3 {
                t.state().push(format!("{name}{i}"));
                t.yield_now()?;
            }
            Ok(())
        })
        .unwrap();
    }
    d.run().unwrap();
    assert_eq!(d.state().join(" "), "x0 y0 x1 y1 x2 y2");
}

/// A task in a reused slot is not woken by registrations of the slot's
/// previous task.
#[test]
fn wake_ups_reach_only_the_wait_they_were_meant_for() {
    let mut d = virtual_driver();
    let (tx, mut rx) = d.handle().channel::<u32>(1);
    let notify = d.handle().notify();
    let old = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            let _ = t.recv(&mut rx)?;
            Ok(())
        })
        .unwrap();
    d.run_until_idle();
    d.cancel(&old).unwrap();
    let n = notify.clone();
    let new = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            t.state().push("start".into());
            t.notified(&n)?;
            t.state().push("notified".into());
            Ok(())
        })
        .unwrap();
    assert_eq!(new.id().index(), old.id().index(), "the slot was reused");
    d.run_until_idle();
    let _ = tx.try_send(1); // the old task's channel: closed, wakes nobody
    d.run_until_idle();
    assert_eq!(d.state(), &["start"], "the new task was not woken");
    notify.notify_one();
    d.run().unwrap();
    assert_eq!(d.state(), &["start", "notified"]);
}

#[test]
fn dropping_the_driver_cancels_every_task_and_runs_its_cleanup() {
    let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    {
        let mut d = DriverBuilder::new().virtual_clock().build(log.clone());
        for i in 0..3 {
            d.spawn(
                move |t: &mut Task<std::rc::Rc<std::cell::RefCell<Log>>>| -> Eff<Yields, ()> {
                    let r = t.sleep(ms(100));
                    t.state().borrow_mut().push(format!("cleanup {i}"));
                    r
                },
            )
            .unwrap();
        }
        d.run_until_idle();
    }
    assert_eq!(*log.borrow(), ["cleanup 0", "cleanup 1", "cleanup 2"]);
}

#[test]
fn a_panicking_task_does_not_stop_the_others() {
    let mut d = virtual_driver();
    let bomb = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
            t.sleep(ms(1))?;
            panic!("bomb");
        })
        .unwrap();
    let steady = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, u32> {
            t.sleep(ms(5))?;
            Ok(5)
        })
        .unwrap();
    d.run().unwrap();
    let mut bomb = bomb;
    let err = bomb.try_join().unwrap().unwrap_err();
    match err {
        JoinError::Panicked(Some(p)) => assert_eq!(panic_message(&*p), "bomb"),
        other => panic!("{other:?}"),
    }
    assert_eq!(d.block_on(steady).unwrap().unwrap(), 5);
}

/// A task that cancelled another one, which tried to wait again during its
/// cleanup, goes on as usual: its next yield is an ordinary one.
#[test]
fn yielding_after_cancelling_a_task_that_waits_again_is_an_ordinary_yield() {
    let mut d = virtual_driver();
    let (_tx, mut rx) = d.handle().channel::<u32>(1);
    let victim = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            let interrupted = t.recv(&mut rx).is_err();
            t.state().push(format!("victim interrupted: {interrupted}"));
            // Ignores the interrupt and waits again: unwound by force.
            let _ = t.sleep(ms(5));
            Ok(())
        })
        .unwrap();
    d.run_until_idle();
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        t.cancel(&victim)?.unwrap();
        t.yield_now()?;
        t.state().push("canceller resumed".into());
        Ok(())
    })
    .unwrap();
    d.run().unwrap();
    assert_eq!(
        d.state().join(", "),
        "victim interrupted: true, canceller resumed"
    );
}

/// A woken task is listed as ready, not with the wait it has left.
#[test]
fn a_woken_task_is_listed_as_ready() {
    let mut d = virtual_driver();
    let (tx, mut rx) = d.handle().channel::<u32>(1);
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        t.recv(&mut rx)?.unwrap();
        t.sleep(ms(10))
    })
    .unwrap();
    d.run_until_idle();
    let channel = tx.channel_id();
    assert_eq!(d.tasks()[0].wait, WaitOn::Recv { channel });
    tx.try_send(1).unwrap();
    assert_eq!(d.tasks()[0].wait, WaitOn::Ready);
    d.run_until_idle();
    assert_eq!(d.tasks()[0].wait, WaitOn::Sleep { until: at(10) });
    d.run().unwrap();
}

#[test]
fn cancelling_a_finished_task_is_an_error() {
    let mut d = virtual_driver();
    let h = d
        .spawn(|_: &mut Task<Log>| -> Eff<Yields, ()> { Ok(()) })
        .unwrap();
    d.run().unwrap();
    let err = d.cancel(&h).unwrap_err();
    assert_eq!(err.kind(), coshare::ErrorKind::Finished);
}

#[test]
fn tasks_use_the_state_between_waits_and_the_main_stack_between_runs() {
    let mut d = DriverBuilder::new().virtual_clock().build(0u64);
    for _ in 0..4 {
        d.spawn(|t: &mut Task<u64>| -> Eff<Yields, ()> {
            for _ in 0..5 {
                *t.state() += 1;
                t.sleep(ms(1))?;
            }
            Ok(())
        })
        .unwrap();
    }
    d.run_for(ms(2)).unwrap();
    let mid = *d.state();
    *d.state() += 1000;
    d.run().unwrap();
    assert_eq!(mid, 12);
    assert_eq!(*d.state(), 1020);
}

#[test]
fn a_task_knows_its_name() {
    let mut d = virtual_driver();
    let named = d
        .spawn_with(
            &SpawnOptions::new().name("worker-7"),
            |t: &mut Task<Log>| -> Eff<Yields, Option<String>> {
                Ok(t.name().map(|n| n.to_string()))
            },
        )
        .unwrap();
    let anonymous = d
        .spawn(|t: &mut Task<Log>| -> Eff<Yields, Option<String>> {
            Ok(t.name().map(|n| n.to_string()))
        })
        .unwrap();
    assert_eq!(
        d.block_on(named).unwrap().unwrap().as_deref(),
        Some("worker-7")
    );
    assert_eq!(d.block_on(anonymous).unwrap().unwrap(), None);
}

/// Driver objects kept in the state never switch stacks from a `&self`
/// method or from `Drop`: inside `with_state` they only mark waiting tasks
/// ready, and those run after the caller's next yield point.
#[test]
fn objects_in_the_state_never_switch_stacks() {
    struct Plant {
        log: Vec<&'static str>,
        tx: Option<coshare::driver::Sender<u8>>,
        notify: coshare::driver::Notify,
        event: coshare::driver::Event,
    }
    let mut rx_slot = None;
    let mut d = DriverBuilder::new().virtual_clock().build_with(|handle| {
        let (tx, rx) = handle.channel(4);
        rx_slot = Some(rx);
        Plant {
            log: Vec::new(),
            tx: Some(tx),
            notify: handle.notify(),
            event: handle.event(),
        }
    });
    let mut rx = rx_slot.unwrap();
    d.spawn(move |t: &mut Task<Plant>| -> Eff<Yields, ()> {
        t.recv(&mut rx)?.unwrap();
        t.state().log.push("receiver ran");
        let closed = t.recv(&mut rx)?.is_err();
        t.state()
            .log
            .push(if closed { "receiver saw close" } else { "?" });
        Ok(())
    })
    .unwrap();
    d.spawn(|t: &mut Task<Plant>| -> Eff<Yields, ()> {
        let n = t.state().notify.clone();
        t.notified(&n)?;
        t.state().log.push("notified ran");
        Ok(())
    })
    .unwrap();
    d.spawn(|t: &mut Task<Plant>| -> Eff<Yields, ()> {
        let e = t.state().event.clone();
        t.wait_event(&e)?;
        t.state().log.push("event ran");
        Ok(())
    })
    .unwrap();
    d.run_until_idle();
    d.spawn(|t: &mut Task<Plant>| -> Eff<Yields, ()> {
        t.with_state(|s| {
            s.tx.as_ref().unwrap().try_send(1).unwrap();
            s.notify.notify_one();
            s.event.set();
            s.tx = None; // drops the last sender
            s.log.push("signalled, still inside with_state");
        });
        t.state().log.push("signaller continues");
        t.yield_now()?;
        t.state().log.push("signaller after its yield point");
        Ok(())
    })
    .unwrap();
    d.run().unwrap();
    assert_eq!(
        d.state().log,
        [
            "signalled, still inside with_state",
            "signaller continues",
            "receiver ran",
            // The channel is closed and empty by now: no wait.
            "receiver saw close",
            "notified ran",
            "event ran",
            "signaller after its yield point",
        ]
    );
}
