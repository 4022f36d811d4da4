//! Futures awaited by tasks (`Task::wait_future`, `wait::future`), their
//! wakers, blocking work on the thread pool, files and host names; and a
//! task's `JoinHandle` and a channel's `Receiver` awaited from async code.

mod auxiliary;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use auxiliary::driver::ms;
use auxiliary::{DropCounter, panic_message, within};
use coshare::driver::{Driver, DriverBuilder, JoinError, Task, wait};
use coshare::{Eff, Yields, select};

/// A future completed by hand: `complete` from any thread wakes it.
#[derive(Clone, Default)]
struct Manual(Arc<Mutex<(Option<u32>, Option<Waker>)>>);

impl Manual {
    fn complete(&self, value: u32) {
        let waker = {
            let mut st = self.0.lock().unwrap();
            st.0 = Some(value);
            st.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The waker it was last polled with.
    fn waker(&self) -> Option<Waker> {
        self.0.lock().unwrap().1.clone()
    }
}

impl Future for Manual {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let mut st = self.0.lock().unwrap();
        match st.0.take() {
            Some(value) => Poll::Ready(value),
            None => {
                st.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[test]
fn a_ready_future_costs_one_poll_and_no_park() {
    let mut driver = DriverBuilder::new().virtual_clock().build(0u32);
    let h = driver
        .spawn(|t: &mut Task<u32>| -> Eff<Yields, u32> {
            let a = t.wait_future(async { 40 })?;
            let b = t.wait_future(std::future::ready(2))?;
            Ok(a + b)
        })
        .unwrap();
    assert_eq!(driver.block_on(h).unwrap().unwrap(), 42);
}

#[test]
fn a_future_woken_from_another_thread_completes_the_wait() {
    within(Duration::from_secs(30), || {
        let mut driver = Driver::new(Vec::<u32>::new());
        let manual = Manual::default();
        let inside = manual.clone();
        driver
            .spawn(move |t: &mut Task<Vec<u32>>| -> Eff<Yields, ()> {
                let value = t.wait_future(inside)?;
                t.state().push(value);
                Ok(())
            })
            .unwrap();
        driver.run_until_idle();
        assert!(driver.tasks()[0].wait.to_string().contains("a future"));
        let worker = std::thread::spawn(move || {
            std::thread::sleep(ms(20)); // the driver blocks meanwhile
            manual.complete(5);
        });
        driver.run().unwrap(); // not a deadlock: the future may be woken
        worker.join().unwrap();
        assert_eq!(driver.state(), &[5]);
    });
}

/// A future that wakes itself during its poll (the usual "poll me again")
/// is polled again: the wake before the registration is not lost.
#[test]
fn a_future_that_wakes_itself_during_its_poll_is_polled_again() {
    let mut driver = DriverBuilder::new().virtual_clock().build(0u32);
    let h = driver
        .spawn(|t: &mut Task<u32>| -> Eff<Yields, u32> {
            let mut polls = 0;
            t.wait_future(std::future::poll_fn(|cx| {
                polls += 1;
                if polls < 5 {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            }))?;
            Ok(polls)
        })
        .unwrap();
    assert_eq!(driver.block_on(h).unwrap().unwrap(), 5);
}

/// A waker called on the driver's own thread, by another task, marks the
/// waiting task ready directly (no other thread involved).
#[test]
fn a_waker_called_on_the_drivers_thread_wakes_the_task() {
    let mut driver = DriverBuilder::new()
        .virtual_clock()
        .build(Vec::<String>::new());
    let manual = Manual::default();
    let inside = manual.clone();
    driver
        .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
            let value = t.wait_future(inside)?;
            let now = t.now();
            t.state().push(format!("got {value} at {now}"));
            Ok(())
        })
        .unwrap();
    driver
        .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
            t.sleep(ms(10))?;
            manual.complete(3);
            Ok(())
        })
        .unwrap();
    driver.run().unwrap();
    assert_eq!(driver.state(), &["got 3 at 10ms"]);
}

#[test]
fn a_future_in_a_select_that_loses_is_dropped() {
    let mut driver = DriverBuilder::new().virtual_clock().build(());
    let drops = DropCounter::new();
    let token = drops.token();
    let h = driver
        .spawn(move |t: &mut Task<()>| -> Eff<Yields, &'static str> {
            let never = async move {
                let _token = token;
                std::future::pending::<()>().await;
            };
            Ok(select!(t, {
                () = wait::future(never) => "the future",
                () = wait::sleep(ms(5)) => "the timer",
            }))
        })
        .unwrap();
    assert_eq!(driver.block_on(h).unwrap().unwrap(), "the timer");
    assert_eq!(drops.drops(), 1, "the losing future was dropped");
}

#[test]
fn cancelling_a_task_drops_the_future_it_awaits() {
    let mut driver = DriverBuilder::new().virtual_clock().build(());
    let drops = DropCounter::new();
    let token = drops.token();
    let h = driver
        .spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
            t.wait_future(async move {
                let _token = token;
                std::future::pending::<()>().await;
            })
        })
        .unwrap();
    driver.run_until_idle();
    assert_eq!(drops.drops(), 0);
    driver.cancel(&h).unwrap();
    assert_eq!(drops.drops(), 1, "cancellation dropped the future");
    let mut h = h;
    assert!(matches!(h.try_join(), Some(Err(JoinError::Cancelled))));
}

#[test]
fn a_future_that_panics_goes_to_the_joiner_like_any_task_panic() {
    let mut driver = DriverBuilder::new().virtual_clock().build(());
    let h = driver
        .spawn(|t: &mut Task<()>| -> Eff<Yields, ()> {
            t.sleep(ms(1))?;
            t.wait_future(async {
                panic!("the future broke");
            })
        })
        .unwrap();
    match driver.block_on(h).unwrap() {
        Err(JoinError::Panicked(Some(payload))) => {
            assert_eq!(panic_message(&*payload), "the future broke");
        }
        other => panic!("expected a panic, got {other:?}"),
    }
    // The driver goes on.
    let h = driver
        .spawn(|t: &mut Task<()>| -> Eff<Yields, u8> { t.wait_future(async { 1 }) })
        .unwrap();
    assert_eq!(driver.block_on(h).unwrap().unwrap(), 1);
}

#[test]
fn a_waker_that_outlives_its_driver_does_nothing() {
    let manual = Manual::default();
    {
        let mut driver = DriverBuilder::new().virtual_clock().build(());
        let inside = manual.clone();
        driver
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
                t.wait_future(inside)?;
                Ok(())
            })
            .unwrap();
        driver.run_until_idle();
    } // the driver (and the waiting task) is gone
    let waker = manual.waker().expect("the future was polled");
    // From this thread and from another: nothing happens, nothing breaks.
    waker.wake_by_ref();
    let other = waker.clone();
    std::thread::spawn(move || other.wake()).join().unwrap();
    manual.complete(1);
}

#[test]
fn blocking_work_runs_on_a_pool_while_other_tasks_go_on() {
    within(Duration::from_secs(30), || {
        let mut driver = Driver::new(Vec::<String>::new());
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let slow = driver
            .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, u64> {
                let main = std::thread::current().id();
                let (value, other_thread) = t.blocking(move || {
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap(); // blocks a pool thread, not the driver
                    (7u64, std::thread::current().id() != main)
                })?;
                assert!(other_thread);
                t.state().push("blocking done".into());
                Ok(value)
            })
            .unwrap();
        driver
            .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
                for n in 0..3 {
                    t.sleep(ms(2))?;
                    t.state().push(format!("tick {n}"));
                }
                Ok(())
            })
            .unwrap();
        driver
            .run_until_state(|log| log.len() == 3)
            .expect("the ticker ran while the pool thread blocked");
        started_rx.recv().unwrap();
        release_tx.send(()).unwrap();
        assert_eq!(driver.block_on(slow).unwrap().unwrap(), 7);
        assert_eq!(driver.state().last().unwrap(), "blocking done");
    });
}

#[test]
fn files_are_read_and_written_on_the_pool() {
    within(Duration::from_secs(30), || {
        let dir = std::env::temp_dir().join(format!("coshare-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("note.txt");
        let mut driver = Driver::new(());
        let inside = path.clone();
        let h = driver
            .spawn(
                move |t: &mut Task<()>| -> Eff<Yields, (Vec<u8>, std::io::ErrorKind)> {
                    t.write_file(inside.clone(), b"hello".to_vec())?.unwrap();
                    let back = t.read_file(inside.clone())?.unwrap();
                    let missing = t.read_file(inside.with_extension("missing"))?.unwrap_err();
                    Ok((back, missing.kind()))
                },
            )
            .unwrap();
        let (back, missing) = driver.block_on(h).unwrap().unwrap();
        assert_eq!(back, b"hello");
        assert_eq!(missing, std::io::ErrorKind::NotFound);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[cfg(feature = "io")]
#[test]
fn a_host_name_is_resolved_then_connected_to() {
    within(Duration::from_secs(30), || {
        let mut driver = Driver::new(());
        let mut listener = driver
            .handle()
            .tcp_listen("127.0.0.1:0".parse().unwrap())
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        driver
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
                t.accept(&mut listener)?.unwrap();
                Ok(())
            })
            .unwrap();
        let h = driver
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, (bool, bool)> {
                let addrs = t.resolve(format!("localhost:{port}"))?.unwrap();
                let conn = t.tcp_connect_host(format!("localhost:{port}"))?;
                let bad = t.tcp_connect_host("no-such-host.invalid:1")?;
                Ok((!addrs.is_empty() && conn.is_ok(), bad.is_err()))
            })
            .unwrap();
        assert_eq!(driver.block_on(h).unwrap().unwrap(), (true, true));
    });
}

/// A `JoinHandle` and a `Receiver` awaited by a hand-written executor on
/// the driver's thread, between runs of the driver.
#[test]
fn a_join_handle_and_a_receiver_are_futures() {
    let mut driver = DriverBuilder::new().virtual_clock().build(());
    let (tx, mut rx) = driver.handle().channel::<u32>(4);
    let mut h = driver
        .spawn(move |t: &mut Task<()>| -> Eff<Yields, u32> {
            t.sleep(ms(5))?;
            t.send(&tx, 1)?.unwrap();
            Ok(9)
        })
        .unwrap();
    let woken = Arc::new(Flag::default());
    let waker = Waker::from(Arc::clone(&woken));
    let mut cx = Context::from_waker(&waker);
    assert!(rx.poll_recv(&mut cx).is_pending());
    assert!(Pin::new(&mut h).poll(&mut cx).is_pending());
    driver.run().unwrap();
    assert!(woken.0.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(1)));
    assert_eq!(
        rx.poll_recv(&mut cx),
        Poll::Ready(None),
        "every sender is gone"
    );
    match Pin::new(&mut h).poll(&mut cx) {
        Poll::Ready(Ok(9)) => {}
        other => panic!("{other:?}"),
    }
}

#[derive(Default)]
struct Flag(std::sync::atomic::AtomicBool);

impl std::task::Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}
