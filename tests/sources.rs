//! The wait protocol: sources of one's own, `send` as a `select` source,
//! what a source that loses a `select` passes on, and what the driver does
//! with an interrupt a task did not receive itself.

mod auxiliary;

use std::cell::RefCell;
use std::rc::Rc;

use auxiliary::driver::{Log, log, ms};
use auxiliary::panic_message;
use coshare::driver::{
    Context, DriverBuilder, DriverHandle, JoinError, Source, Task, WaitOn, Waiter, Waker, wait,
};
use coshare::{Eff, ErrorKind, Interrupt, Yields};
use frunk::{Coproduct, hlist};

#[test]
fn a_send_that_loses_a_select_keeps_its_message() {
    let mut d = DriverBuilder::new().virtual_clock().build(Log::new());
    let (tx, mut rx) = d.handle().channel::<String>(1);
    tx.try_send("already there".into()).unwrap();
    let sender = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, Option<String>> {
            let mut send = wait::send(&tx, "kept".to_owned());
            match t.select(hlist![&mut send, wait::sleep(ms(10))])? {
                Coproduct::Inl(sent) => log(t, format!("sent: {}", sent.is_ok())),
                Coproduct::Inr(_) => log(t, "timed out"),
            }
            Ok(send.into_message())
        })
        .unwrap();
    let unsent = d.block_on(sender).unwrap().unwrap();
    assert_eq!(unsent.as_deref(), Some("kept"));
    assert_eq!(d.state(), &["timed out"]);
    assert_eq!(rx.try_recv().as_deref(), Ok("already there"));
    assert!(rx.try_recv().is_err(), "nothing else was sent");
}

#[test]
fn a_send_that_wins_a_select_sends_once() {
    let mut d = DriverBuilder::new().virtual_clock().build(Log::new());
    let (tx, mut rx) = d.handle().channel::<u32>(1);
    tx.try_send(1).unwrap();
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        let mut send = wait::send(&tx, 2);
        match t.select(hlist![&mut send, wait::sleep(ms(50))])? {
            Coproduct::Inl(sent) => log(t, format!("sent at {}: {sent:?}", t.now())),
            Coproduct::Inr(_) => log(t, "timed out"),
        }
        assert!(send.into_message().is_none(), "the message went");
        Ok(())
    })
    .unwrap();
    d.run_until(coshare::driver::Instant::ZERO + ms(5)).unwrap();
    assert_eq!(rx.try_recv(), Ok(1)); // room, at 5 ms
    d.run().unwrap();
    assert_eq!(d.state(), &["sent at 5ms: Ok(())"]);
    assert_eq!(rx.try_recv(), Ok(2));
}

/// Room in a full channel goes to the longest-waiting sender. If that
/// sender's `select` is won by another source before it uses the room, the
/// room goes on to the next sender instead of being lost.
#[test]
fn a_sender_handed_room_that_loses_a_select_passes_the_room_on() {
    let mut d = DriverBuilder::new().virtual_clock().build(Log::new());
    let (tx, mut rx) = d.handle().channel::<&str>(1);
    tx.try_send("first").unwrap();
    let stop = d.handle().event();
    let (tx_a, stop_a) = (tx.clone(), stop.clone());
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        let mut send = wait::send(&tx_a, "from a");
        match t.select(hlist![wait::event(&stop_a), &mut send])? {
            Coproduct::Inl(()) => log(t, "a: stopped, message kept"),
            Coproduct::Inr(_) => log(t, "a: sent"),
        }
        assert_eq!(send.into_message(), Some("from a"));
        Ok(())
    })
    .unwrap();
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        t.send(&tx, "from b")?.unwrap();
        log(t, "b: sent");
        Ok(())
    })
    .unwrap();
    d.run_until_idle();
    // Both wait for room, `a` first. Make room (it goes to `a`) and, before
    // `a` runs, stop it.
    assert_eq!(rx.try_recv(), Ok("first"));
    stop.set();
    d.run().unwrap();
    assert_eq!(d.state(), &["a: stopped, message kept", "b: sent"]);
    assert_eq!(rx.try_recv(), Ok("from b"));
}

#[test]
fn a_notification_handed_to_a_task_that_loses_a_select_is_passed_on() {
    let mut d = DriverBuilder::new().virtual_clock().build(Log::new());
    let notify = d.handle().notify();
    let stop = d.handle().event();
    let (n, s) = (notify.clone(), stop.clone());
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        match t.select(hlist![wait::event(&s), wait::notified(&n)])? {
            Coproduct::Inl(()) => log(t, "a: stopped"),
            Coproduct::Inr(_) => log(t, "a: notified"),
        }
        Ok(())
    })
    .unwrap();
    let n = notify.clone();
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        t.notified(&n)?;
        log(t, "b: notified");
        Ok(())
    })
    .unwrap();
    d.run_until_idle();
    notify.notify_one(); // handed to `a`, the longest waiting
    stop.set(); // ...which takes the event instead
    d.run().unwrap();
    assert_eq!(d.state(), &["a: stopped", "b: notified"]);
}

#[test]
fn a_broadcast_notification_is_not_passed_on_or_stored() {
    let mut d = DriverBuilder::new().virtual_clock().build(Log::new());
    let notify = d.handle().notify();
    let stop = d.handle().event();
    let (n, s) = (notify.clone(), stop.clone());
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        match t.select(hlist![wait::event(&s), wait::notified(&n)])? {
            Coproduct::Inl(()) => log(t, "a: stopped"),
            Coproduct::Inr(_) => log(t, "a: notified"),
        }
        // No permit was stored for later.
        let late = t.select(hlist![wait::notified(&n), wait::sleep(ms(10))])?;
        let late = matches!(late, Coproduct::Inl(()));
        log(
            t,
            format!("a: later {}", if late { "notified" } else { "nothing" }),
        );
        Ok(())
    })
    .unwrap();
    d.run_until_idle();
    notify.notify_waiters();
    stop.set();
    d.run().unwrap();
    assert_eq!(d.state(), &["a: stopped", "a: later nothing"]);
}

// A source of one's own: a mailbox filled by a callback on the main stack.

#[derive(Default)]
struct Slot {
    value: Option<u32>,
    waker: Option<Waker>,
    registrations: usize,
}

#[derive(Clone, Default)]
struct Mailbox(Rc<RefCell<Slot>>);

impl Mailbox {
    /// The callback: on the main stack, never inside a task.
    fn deliver(&self, value: u32) -> bool {
        let mut slot = self.0.borrow_mut();
        slot.value = Some(value);
        slot.waker.take().is_some_and(|w| w.wake())
    }
}

struct Take<'a>(&'a Mailbox);

impl Source for Take<'_> {
    type Output = u32;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<u32> {
        self.0.0.borrow_mut().value.take()
    }

    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
        let mut slot = self.0.0.borrow_mut();
        slot.waker = Some(cx.waker(waiter));
        slot.registrations += 1;
    }

    fn unregister(&mut self, _cx: &mut Context<'_>) {
        self.0.0.borrow_mut().waker = None;
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::custom("a letter")
    }
}

#[test]
fn a_source_of_ones_own_wakes_its_task_and_takes_part_in_select() {
    let mut d = DriverBuilder::new().virtual_clock().build(Log::new());
    let mailbox = Mailbox::default();
    let inside = mailbox.clone();
    let first_wait = line!() + 3;
    let h = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, u32> {
            let first = t.wait(Take(&inside))?;
            log(t, format!("got {first}"));
            match t.select(hlist![Take(&inside), wait::sleep(ms(100))])? {
                Coproduct::Inl(v) => log(t, format!("got {v}")),
                Coproduct::Inr(_) => log(t, "no second letter"),
            }
            let third = t.wait(Take(&inside))?;
            Ok(third)
        })
        .unwrap();
    d.run_until_idle();
    let listed = d.tasks();
    assert_eq!(listed[0].wait, WaitOn::custom("a letter"));
    assert_eq!(
        listed[0].to_string(),
        format!("task #0.0 waits for a letter at {}:{first_wait}", file!())
    );
    assert!(mailbox.deliver(1), "the waiting task is woken");
    d.run_for(ms(200)).unwrap();
    assert_eq!(
        d.state(),
        &["got 1", "no second letter"],
        "the select timed out"
    );
    // The select's registration was removed when the sleep won: a letter
    // now wakes the third wait, not the old one.
    assert!(mailbox.deliver(3));
    assert_eq!(d.block_on(h).unwrap().unwrap(), 3);
    assert_eq!(mailbox.0.borrow().registrations, 3);
}

#[test]
fn a_stale_waker_wakes_nobody() {
    let mut d = DriverBuilder::new().virtual_clock().build(Log::new());
    let mailbox = Mailbox::default();
    let inside = mailbox.clone();
    let kept: Rc<RefCell<Option<Waker>>> = Rc::default();
    let keep = Rc::clone(&kept);
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        // Park once on the mailbox, and keep a copy of its waker.
        let mut take = Take(&inside);
        let got = t.select(hlist![&mut take, wait::sleep(ms(5))])?;
        assert!(matches!(got, Coproduct::Inr(_)), "nothing was delivered");
        *keep.borrow_mut() = None;
        t.sleep(ms(50))?;
        log(t, "slept undisturbed");
        Ok(())
    })
    .unwrap();
    d.run_until_idle();
    let waker = mailbox.0.borrow().waker.clone().expect("registered");
    *kept.borrow_mut() = Some(waker.clone());
    d.run_for(ms(10)).unwrap(); // the select timed out; now it sleeps
    assert!(!waker.wake(), "that wait is over");
    assert!(!d.handle().wake(waker.waiter()));
    d.run().unwrap();
    assert_eq!(d.state(), &["slept undisturbed"]);
    assert_eq!(d.now(), coshare::driver::Instant::ZERO + ms(55));
}

#[derive(Default)]
struct Smuggler {
    interrupt: Option<Interrupt<Yields>>,
}

#[test]
fn an_interrupt_carried_out_of_another_task_is_reported_as_a_panic() {
    let mut d = DriverBuilder::new()
        .virtual_clock()
        .build(Smuggler::default());
    let (_tx, mut rx) = d.handle().channel::<()>(1);
    let victim = d
        .spawn(move |t: &mut Task<Smuggler>| -> Eff<Yields, ()> {
            if let Err(interrupt) = t.recv(&mut rx) {
                // Handles its cancellation by keeping the interrupt.
                t.state().interrupt = Some(interrupt);
            }
            Ok(())
        })
        .unwrap();
    d.run_until_idle();
    d.cancel(&victim).unwrap();
    let forger = d
        .spawn(|t: &mut Task<Smuggler>| -> Eff<Yields, ()> {
            match t.state().interrupt.take() {
                Some(interrupt) => Err(interrupt),
                None => Ok(()),
            }
        })
        .unwrap();
    let joined = d.block_on(forger).unwrap();
    match joined {
        Err(JoinError::Panicked(Some(payload))) => {
            let message = panic_message(&*payload);
            assert!(
                message.contains("although it was not cancelled"),
                "the core's message: {message}"
            );
        }
        other => panic!("expected the core's panic, got {other:?}"),
    }
}

#[test]
fn a_task_cannot_cancel_itself_and_goes_on_as_before() {
    let mut d = DriverBuilder::new().virtual_clock().build(Log::new());
    let (tx, mut rx) = d.handle().channel(1);
    let me = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            let own = t.recv(&mut rx)?.unwrap();
            let error = t.cancel(&own)?.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Running);
            log(t, format!("{:?}", error.kind()));
            t.sleep(ms(10))?;
            log(t, format!("finished before its end: {}", own.is_finished()));
            Ok(())
        })
        .unwrap();
    tx.try_send(me).unwrap();
    d.run_until_idle();
    // Still listed, and asleep: its bookkeeping was left alone.
    let listed = d.tasks();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].wait,
        WaitOn::Sleep {
            until: coshare::driver::Instant::ZERO + ms(10)
        }
    );
    d.run().unwrap();
    assert_eq!(d.state(), &["Running", "finished before its end: false"]);
}

struct Plant {
    handle: DriverHandle,
    made: usize,
}

#[test]
fn a_driver_handle_kept_in_the_state_makes_objects_from_anywhere() {
    let mut d = DriverBuilder::new()
        .virtual_clock()
        .build_with(|handle| Plant {
            handle: handle.clone(),
            made: 0,
        });
    let h = d
        .spawn(|t: &mut Task<Plant>| -> Eff<Yields, u32> {
            let (tx, mut rx) = t.with_state(|s| {
                s.made += 1;
                s.handle.channel::<u32>(1)
            });
            tx.try_send(41).unwrap();
            let v = t.recv(&mut rx)?.unwrap();
            Ok(v + 1)
        })
        .unwrap();
    assert_eq!(d.block_on(h).unwrap().unwrap(), 42);
    assert_eq!(d.state().made, 1);
    assert_eq!(d.stats().live, 0);
}

#[test]
fn select_with_named_arms_takes_the_leftmost_ready_source() {
    let mut d = DriverBuilder::new().virtual_clock().build(Log::new());
    let (tx, mut rx) = d.handle().channel::<u32>(2);
    let (out_tx, out_rx) = d.handle().channel::<u32>(1);
    out_tx.try_send(0).unwrap(); // full: sending waits
    let stop = d.handle().event();
    let stopping = stop.clone();
    let mailbox = Mailbox::default();
    let inside = mailbox.clone();
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        let mut pending = wait::send(&out_tx, 99);
        for round in 0.. {
            let line = coshare::select!(t, {
                received = wait::recv(&mut rx) => format!("{round}: message {}", received.unwrap()),
                letter = Take(&inside) => { format!("{round}: letter {letter}") }
                sent = &mut pending => {
                    sent.map_err(|e| e.0).unwrap();
                    format!("{round}: sent")
                },
                () = wait::sleep(ms(10)) => format!("{round}: quiet"),
                () = wait::event(&stopping) => break,
            });
            log(t, line);
        }
        Ok(())
    })
    .unwrap();
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    d.run_until_idle();
    mailbox.deliver(5);
    d.run_until_idle();
    d.run_for(ms(10)).unwrap();
    assert_eq!(out_rx.len(), 1);
    let mut out_rx = out_rx;
    assert_eq!(out_rx.try_recv(), Ok(0));
    d.run_until_idle();
    stop.set();
    d.run().unwrap();
    assert_eq!(
        d.state(),
        &[
            "0: message 1",
            "1: message 2",
            "2: letter 5",
            "3: quiet",
            "4: sent"
        ]
    );
}
