//! Unix signals as a wait source (feature `io`).
//!
//! Signal handlers are process-wide and the tests of this file run in
//! parallel threads of one process, so each test uses signals no other
//! test uses. `raise` sends a signal to the calling thread; the handler
//! runs there and wakes the driver through its poller, wherever that is.
#![cfg(feature = "io")]

mod auxiliary;

use std::cell::RefCell;
use std::io::ErrorKind;
use std::rc::Rc;
use std::time::Duration;

use auxiliary::{assert_no_io_wait_left, within};
use coshare::driver::signal::{
    SIGALRM, SIGHUP, SIGKILL, SIGPROF, SIGSEGV, SIGURG, SIGUSR1, SIGUSR2, SIGVTALRM, SIGWINCH,
    SIGXCPU,
};
use coshare::driver::{Driver, Task, WaitOn, wait};
use coshare::{Eff, Yields, select};
use signal_hook::low_level::raise;

const PATIENCE: Duration = Duration::from_secs(10);

/// A task waiting for a signal gets its number.
#[test]
fn a_waiting_task_gets_the_signal() {
    within(PATIENCE, || {
        let mut d = Driver::new(());
        let mut signals = d.handle().signals(&[SIGUSR1]).unwrap();
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, i32> { t.signal(&mut signals) })
            .unwrap();
        d.run_until_idle();
        assert_eq!(
            d.tasks()[0].wait,
            WaitOn::Signal {
                signals: Rc::from([SIGUSR1])
            }
        );
        assert_eq!(
            d.tasks()[0].wait.to_string(),
            format!("waits for signal {SIGUSR1}")
        );
        raise(SIGUSR1).unwrap();
        assert_eq!(d.block_on(h).unwrap().unwrap(), SIGUSR1);
    });
}

/// A signal that arrives while the task does something else (here: before
/// it even started, and while it waits for an event) is not lost: its
/// next signal wait gets it at once, before a sleep of zero.
#[test]
fn a_signal_that_arrives_while_the_task_is_busy_is_kept() {
    within(PATIENCE, || {
        let mut d = Driver::new(Vec::<String>::new());
        let mut signals = d.handle().signals(&[SIGUSR2, SIGHUP]).unwrap();
        let go = d.handle().event();
        let busy = go.clone();
        raise(SIGUSR2).unwrap(); // before the task runs
        let h = d
            .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
                for _ in 0..2 {
                    let line = select!(t, {
                        signal = wait::signal(&mut signals) => format!("signal {signal}"),
                        () = wait::sleep(Duration::ZERO) => "none yet".into(),
                    });
                    t.state().push(line);
                    t.wait_event(&busy)?; // SIGHUP comes meanwhile
                }
                Ok(())
            })
            .unwrap();
        d.run_until_idle();
        raise(SIGHUP).unwrap(); // while the task waits for the event
        go.set();
        d.block_on(h).unwrap().unwrap();
        assert_eq!(
            d.state(),
            &[format!("signal {SIGUSR2}"), format!("signal {SIGHUP}")]
        );
    });
}

/// Deliveries of one signal before a task takes them count as one;
/// different signals that came together are given one per wait, in
/// ascending order.
#[test]
fn repeated_deliveries_merge_and_different_signals_come_one_by_one() {
    within(PATIENCE, || {
        let mut d = Driver::new(());
        let mut signals = d.handle().signals(&[SIGWINCH, SIGALRM]).unwrap();
        assert_eq!(
            signals.signals(),
            &[SIGALRM.min(SIGWINCH), SIGALRM.max(SIGWINCH)]
        );
        for _ in 0..3 {
            raise(SIGWINCH).unwrap();
        }
        raise(SIGALRM).unwrap();
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, Vec<i32>> {
                let mut got = Vec::new();
                loop {
                    select!(t, {
                        signal = wait::signal(&mut signals) => got.push(signal),
                        () = wait::sleep(Duration::from_millis(30)) => return Ok(got),
                    });
                }
            })
            .unwrap();
        let mut expected = vec![SIGWINCH, SIGALRM];
        expected.sort_unstable();
        assert_eq!(d.block_on(h).unwrap().unwrap(), expected);
    });
}

/// Every signal set that lists a signal gets each delivery of it: two sets
/// in one driver, and a set in a driver on another thread.
#[test]
fn every_set_that_lists_a_signal_gets_it() {
    within(PATIENCE, || {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let other = std::thread::spawn(move || {
            let mut d = Driver::new(());
            let mut signals = d.handle().signals(&[SIGURG]).unwrap();
            ready_tx.send(()).unwrap();
            let h = d
                .spawn(move |t: &mut Task<()>| -> Eff<Yields, i32> { t.signal(&mut signals) })
                .unwrap();
            d.block_on(h).unwrap().unwrap()
        });
        let mut d = Driver::new(());
        let mut first = d.handle().signals(&[SIGURG]).unwrap();
        let mut second = d.handle().signals(&[SIGURG, SIGXCPU]).unwrap();
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, (i32, i32)> {
                Ok((t.signal(&mut first)?, t.signal(&mut second)?))
            })
            .unwrap();
        ready_rx.recv().unwrap();
        raise(SIGURG).unwrap();
        assert_eq!(d.block_on(h).unwrap().unwrap(), (SIGURG, SIGURG));
        assert_eq!(other.join().unwrap(), SIGURG);
    });
}

/// A driver whose only task waits for a signal is not deadlocked: it waits
/// in its poller until the signal comes, here from another thread.
#[test]
fn a_driver_waits_for_a_signal_from_another_thread() {
    within(PATIENCE, || {
        let mut d = Driver::new(());
        let mut signals = d.handle().signals(&[SIGPROF]).unwrap();
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, i32> { t.signal(&mut signals) })
            .unwrap();
        let sender = std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(30));
            raise(SIGPROF).unwrap();
        });
        assert_eq!(d.block_on(h).unwrap().unwrap(), SIGPROF);
        sender.join().unwrap();
    });
}

/// A signal wait with a timeout, and the cancellation of a task that waits
/// for a signal: the timeout wins while no signal comes; a cancelled wait
/// leaves no registration, and a signal that comes later is kept for the
/// next wait.
#[test]
fn a_signal_wait_times_out_and_a_cancelled_wait_leaves_nothing() {
    within(PATIENCE, || {
        let mut d = Driver::new(());
        let signals = Rc::new(RefCell::new(d.handle().signals(&[SIGVTALRM]).unwrap()));
        let inside = Rc::clone(&signals);
        let timed = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, Option<i32>> {
                Ok(select!(t, {
                    signal = wait::signal(&mut inside.borrow_mut()) => Some(signal),
                    () = wait::sleep(Duration::from_millis(20)) => None,
                }))
            })
            .unwrap();
        assert_eq!(d.block_on(timed).unwrap().unwrap(), None);
        let inside = Rc::clone(&signals);
        let waiting = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
                let _ = t.signal(&mut inside.borrow_mut())?;
                unreachable!("cancelled while waiting")
            })
            .unwrap();
        d.run_until_idle();
        d.cancel(&waiting).unwrap();
        assert!(d.tasks().is_empty());
        raise(SIGVTALRM).unwrap(); // wakes nobody
        d.run_until_idle();
        assert_no_io_wait_left(&mut d);
        let next = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, i32> {
                t.signal(&mut signals.borrow_mut())
            })
            .unwrap();
        assert_eq!(d.block_on(next).unwrap().unwrap(), SIGVTALRM);
    });
}

/// What cannot be waited for is an `InvalidInput` error, not a panic.
#[test]
fn signals_that_cannot_be_waited_for_are_errors() {
    let d = Driver::new(());
    for set in [
        &[][..],
        &[SIGKILL],
        &[SIGUSR1, SIGSEGV],
        &[0],
        &[-3],
        &[200],
    ] {
        let err = d.handle().signals(set).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{set:?}: {err}");
    }
    let err = d.handle().signals(&[SIGKILL]).unwrap_err();
    assert!(err.to_string().contains("cannot be handled"), "{err}");
}
