//! Other threads and the driver: remote channels, remote events, stop
//! requests, the prompt wake-up of an idle driver, and what a driver that
//! is gone does to the other side.

mod auxiliary;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use auxiliary::driver::ms;
use auxiliary::within;
use coshare::driver::{
    Driver, DriverBuilder, DriverGone, RecvError, SendError, Task, TryRecvError, wait,
};
use coshare::{Eff, Yields, select};

#[test]
fn messages_from_threads_reach_a_waiting_task_in_each_threads_order() {
    within(Duration::from_secs(60), || {
        const THREADS: u32 = 4;
        const EACH: u32 = 5_000;
        let mut driver = Driver::new(Vec::<(u32, u32)>::new());
        let (tx, mut rx) = driver.handle().remote_channel::<(u32, u32)>();
        driver
            .spawn(move |t: &mut Task<Vec<(u32, u32)>>| -> Eff<Yields, ()> {
                while let Ok(msg) = t.recv(&mut rx)? {
                    t.state().push(msg);
                }
                Ok(())
            })
            .unwrap();
        let workers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for n in 0..EACH {
                        tx.send((thread, n)).unwrap();
                        if n % 100 == 0 {
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        driver.run().unwrap(); // ends when every sender is gone
        for w in workers {
            w.join().unwrap();
        }
        let got = driver.state();
        assert_eq!(got.len() as u32, THREADS * EACH, "none lost");
        for thread in 0..THREADS {
            let mine: Vec<u32> = got
                .iter()
                .filter(|(t, _)| *t == thread)
                .map(|&(_, n)| n)
                .collect();
            assert_eq!(
                mine,
                (0..EACH).collect::<Vec<_>>(),
                "thread {thread}'s order"
            );
        }
    });
}

/// A driver blocked in its poll until a far timer wakes as soon as a
/// message arrives, thousands of times over: each message is sent to an
/// idle (or falling idle) driver, and the next only after its echo came
/// back, so a lost wake-up would wait out the timer (a minute) and fail
/// the time limit.
#[test]
fn an_idle_driver_wakes_at_once_for_each_message() {
    within(Duration::from_secs(60), || {
        const ROUNDS: u32 = 3_000;
        let mut driver = Driver::new(0u32);
        let (tx, mut rx) = driver.handle().remote_channel::<u32>();
        let (back, replies) = std::sync::mpsc::channel::<u32>();
        // Keeps a far timer pending, so the idle driver blocks until it.
        let far = driver
            .spawn(|t: &mut Task<u32>| -> Eff<Yields, ()> { t.sleep(Duration::from_secs(60)) })
            .unwrap();
        driver
            .spawn(move |t: &mut Task<u32>| -> Eff<Yields, ()> {
                while let Ok(n) = t.recv(&mut rx)? {
                    *t.state() += 1;
                    back.send(n).unwrap();
                }
                Ok(())
            })
            .unwrap();
        let pinger = std::thread::spawn(move || {
            for n in 0..ROUNDS {
                tx.send(n).unwrap();
                assert_eq!(replies.recv().unwrap(), n);
                if n % 3 == 0 {
                    // Let the driver block first.
                    std::thread::sleep(Duration::from_micros(100));
                }
            }
        });
        driver.run_until_state(|seen| *seen == ROUNDS).unwrap();
        pinger.join().unwrap();
        driver.cancel(&far).unwrap();
        driver.run().unwrap();
    });
}

/// Latency of one wake-up of a driver parked until a far timer: well
/// under the timer.
#[test]
fn a_message_ends_a_block_until_a_far_timer() {
    within(Duration::from_secs(30), || {
        let mut driver = Driver::new(None::<Duration>);
        let (tx, mut rx) = driver.handle().remote_channel::<Instant>();
        driver
            .spawn(move |t: &mut Task<Option<Duration>>| -> Eff<Yields, ()> {
                select!(t, {
                    sent = wait::recv(&mut rx) => {
                        *t.state() = Some(sent.unwrap().elapsed());
                    },
                    () = wait::sleep(Duration::from_secs(20)) => {},
                });
                Ok(())
            })
            .unwrap();
        let worker = std::thread::spawn(move || {
            std::thread::sleep(ms(50)); // the driver is blocked by now
            tx.send(Instant::now()).unwrap();
        });
        driver.run().unwrap();
        worker.join().unwrap();
        let latency = driver.state().expect("the message came before the timer");
        assert!(latency < Duration::from_secs(5), "{latency:?}");
    });
}

#[test]
fn a_remote_event_and_a_stop_request_reach_a_blocked_driver() {
    within(Duration::from_secs(30), || {
        let mut driver = Driver::new(Vec::<&str>::new());
        let go = driver.handle().event();
        let remote_go = go.remote();
        let remote = driver.remote();
        driver
            .spawn(move |t: &mut Task<Vec<&str>>| -> Eff<Yields, ()> {
                t.wait_event(&go)?;
                t.state().push("event set");
                // Waits for ever (a far timer), until the driver is stopped.
                t.sleep(Duration::from_secs(3600))
            })
            .unwrap();
        let worker = std::thread::spawn(move || {
            std::thread::sleep(ms(20));
            remote_go.set().unwrap();
            std::thread::sleep(ms(20));
            remote.stop().unwrap();
        });
        let started = Instant::now();
        driver.run().unwrap(); // returns on the stop request
        worker.join().unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(driver.state(), &["event set"]);
        assert_eq!(driver.tasks().len(), 1, "the task is left as it was");
    });
}

#[test]
fn a_stop_request_ends_the_next_run_but_not_block_on() {
    let mut driver = DriverBuilder::new().virtual_clock().build(0u32);
    let remote = driver.remote();
    let h = driver
        .spawn(|t: &mut Task<u32>| -> Eff<Yields, u32> {
            t.sleep(ms(10))?;
            *t.state() += 1;
            Ok(7)
        })
        .unwrap();
    remote.stop().unwrap();
    assert_eq!(
        driver.block_on(h).unwrap().unwrap(),
        7,
        "block_on runs to its end"
    );
    driver
        .spawn(|t: &mut Task<u32>| -> Eff<Yields, ()> {
            *t.state() += 10;
            Ok(())
        })
        .unwrap();
    driver.run().unwrap(); // the request is still there: stops at once
    assert_eq!(*driver.state(), 1);
    driver.run().unwrap();
    assert_eq!(*driver.state(), 11);
}

#[test]
fn a_sender_after_the_driver_is_dropped_gets_its_message_back() {
    let driver = Driver::new(());
    let (tx, rx) = driver.handle().remote_channel::<String>();
    let event = driver.handle().event().remote();
    let remote = driver.remote();
    tx.send("kept in the channel".to_owned()).unwrap();
    drop(driver);
    assert!(remote.is_closed());
    let back = std::thread::spawn(move || tx.send("too late".to_owned()))
        .join()
        .unwrap();
    match back {
        Err(SendError(msg)) => assert_eq!(msg, "too late"),
        Ok(()) => panic!("a driver that is gone took a message"),
    }
    assert_eq!(remote.stop(), Err(DriverGone));
    assert_eq!(event.set(), Err(DriverGone));
    drop(rx);
}

#[test]
fn a_sender_after_the_receiver_is_dropped_gets_its_message_back() {
    let driver = Driver::new(());
    let (tx, rx) = driver.handle().remote_channel::<u32>();
    assert!(!tx.is_closed());
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(5), Err(SendError(5)));
}

#[test]
fn the_receiver_sees_the_channel_close_when_every_sender_is_gone() {
    let mut driver = DriverBuilder::new().virtual_clock().build(());
    let (tx, mut rx) = driver.handle().remote_channel::<u32>();
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    drop(tx);
    assert!(!rx.is_closed());
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.len(), 1);
    let h = driver
        .spawn(
            move |t: &mut Task<()>| -> Eff<Yields, (u32, Result<u32, RecvError>)> {
                let first = t.recv(&mut rx)?.unwrap();
                Ok((first, t.recv(&mut rx)?))
            },
        )
        .unwrap();
    assert_eq!(driver.block_on(h).unwrap().unwrap(), (1, Err(RecvError)));
}

/// A task waiting on a remote channel is not a deadlock (another thread
/// may send); the driver blocks, and the wait shows in the listing.
#[test]
fn a_wait_on_a_remote_channel_is_not_a_deadlock() {
    within(Duration::from_secs(30), || {
        let mut driver = Driver::new(0u32);
        let (tx, mut rx) = driver.handle().remote_channel::<u32>();
        driver
            .spawn(move |t: &mut Task<u32>| -> Eff<Yields, ()> {
                *t.state() = t.recv(&mut rx)?.unwrap();
                Ok(())
            })
            .unwrap();
        driver.run_until_idle();
        let listed = driver.tasks()[0].wait.to_string();
        assert!(listed.contains("receive"), "{listed}");
        let sent = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&sent);
        let worker = std::thread::spawn(move || {
            std::thread::sleep(ms(30));
            flag.store(true, Ordering::SeqCst);
            tx.send(9).unwrap();
        });
        driver.run().unwrap();
        assert!(sent.load(Ordering::SeqCst));
        assert_eq!(*driver.state(), 9);
        worker.join().unwrap();
    });
}

#[test]
fn a_remote_receiver_in_a_select_and_a_cancelled_wait_lose_nothing() {
    let mut driver = DriverBuilder::new()
        .virtual_clock()
        .build(Vec::<u32>::new());
    let (tx, mut rx) = driver.handle().remote_channel::<u32>();
    let h = driver
        .spawn(move |t: &mut Task<Vec<u32>>| -> Eff<Yields, ()> {
            loop {
                select!(t, {
                    msg = wait::recv(&mut rx) => t.state().push(msg.unwrap()),
                    () = wait::sleep(ms(10)) => return Ok(()),
                });
            }
        })
        .unwrap();
    tx.send(1).unwrap();
    driver.block_on(h).unwrap().unwrap();
    assert_eq!(driver.state(), &[1]);
    // A task cancelled while it waits drops its receiver (it owned it):
    // later sends give their message back.
    let (tx, mut rx) = driver.handle().remote_channel::<u32>();
    let h = driver
        .spawn(move |t: &mut Task<Vec<u32>>| -> Eff<Yields, ()> {
            let _ = t.recv(&mut rx)?;
            Ok(())
        })
        .unwrap();
    driver.run_until_idle();
    driver.cancel(&h).unwrap();
    assert_eq!(tx.send(3), Err(SendError(3)));
    assert!(driver.tasks().is_empty());
}

#[test]
fn try_recv_and_the_waits_name_the_channel() {
    let driver = Driver::new(());
    let (tx, mut rx) = driver.handle().remote_channel::<u32>();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.channel_id(), rx.channel_id());
    tx.send(4).unwrap();
    assert_eq!(rx.len(), 1);
    assert_eq!(rx.try_recv(), Ok(4));
    assert!(rx.is_empty());
    assert!(format!("{tx:?}").contains("RemoteSender"));
}

/// The remote handle, remote senders and remote events cross threads;
/// the driver, tasks, handles and receivers do not (checked at compile
/// time in `src/assertions.rs` and `tests/ui/driver/`).
#[test]
fn remote_objects_are_send_and_sync() {
    fn is_send_sync_clone<T: Send + Sync + Clone>(_: &T) {}
    let driver = Driver::new(());
    let (tx, _rx) = driver.handle().remote_channel::<u32>();
    is_send_sync_clone(&tx);
    is_send_sync_clone(&driver.remote());
    is_send_sync_clone(&driver.handle().event().remote());
}
