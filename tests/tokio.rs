//! A driver inside tokio (feature `tokio`): tasks await tokio's timers and
//! sockets from straight-line code, async code on the same thread awaits
//! tasks and receivers and feeds tasks, and other threads wake the driver
//! while it awaits.
#![cfg(feature = "tokio")]

mod auxiliary;

use std::time::Duration;

use auxiliary::driver::ms;
use auxiliary::within;
use coshare::driver::{Driver, DriverBuilder, Task};
use coshare::{Eff, Yields};
use futures_core::Stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;
use tokio::task::LocalSet;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The next item of a stream (the crate depends on `futures-core` only).
async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *stream).poll_next(cx)).await
}

#[test]
fn tasks_use_tokio_timers_and_sockets_while_other_tasks_run() {
    within(Duration::from_secs(30), || {
        let rt = runtime();
        let mut driver = Driver::new(Vec::<String>::new());
        driver
            .spawn(|t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
                let listener = t.wait_future(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
                let listener = listener.unwrap();
                let addr = listener.local_addr().unwrap();
                t.spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
                    let mut conn = t
                        .wait_future(tokio::net::TcpStream::connect(addr))?
                        .unwrap();
                    t.wait_future(conn.write_all(b"ping"))?.unwrap();
                    let mut reply = [0; 4];
                    t.wait_future(conn.read_exact(&mut reply))?.unwrap();
                    t.state().push(String::from_utf8_lossy(&reply).into_owned());
                    Ok(())
                })
                .unwrap();
                let (mut conn, _) = t.wait_future(listener.accept())?.unwrap();
                let mut buf = [0; 4];
                t.wait_future(conn.read_exact(&mut buf))?.unwrap();
                t.state()
                    .push(format!("server got {}", String::from_utf8_lossy(&buf)));
                t.wait_future(conn.write_all(b"pong"))?.unwrap();
                Ok(())
            })
            .unwrap();
        driver
            .spawn(|t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
                t.wait_future(tokio::time::sleep(ms(20)))?;
                t.state().push("tokio timer".into());
                t.sleep(ms(5))?; // and the driver's own
                t.state().push("driver timer".into());
                Ok(())
            })
            .unwrap();
        rt.block_on(driver.run_async());
        let log = driver.state();
        assert!(log.contains(&"server got ping".to_owned()), "{log:?}");
        assert!(log.contains(&"pong".to_owned()), "{log:?}");
        let tokio_at = log.iter().position(|l| l == "tokio timer").unwrap();
        let driver_at = log.iter().position(|l| l == "driver timer").unwrap();
        assert!(tokio_at < driver_at, "{log:?}");
    });
}

#[test]
fn async_code_awaits_tasks_and_receivers_and_feeds_tasks() {
    within(Duration::from_secs(30), || {
        let rt = runtime();
        let local = LocalSet::new();
        let mut driver = Driver::new(0u32);
        let (to_task, mut inbox) = driver.handle().channel::<u32>(4);
        let (from_task, mut outbox) = driver.handle().channel::<u32>(4);
        let worker = driver
            .spawn(move |t: &mut Task<u32>| -> Eff<Yields, u32> {
                let mut sum = 0;
                while let Ok(n) = t.recv(&mut inbox)? {
                    sum += n;
                    *t.state() += 1;
                    t.send(&from_task, n * 10)?.unwrap();
                }
                Ok(sum)
            })
            .unwrap();
        let results = local.block_on(&rt, async move {
            // Async code feeds the task (the driver is idle then: the sends
            // must wake it) and reads its replies as a stream.
            let feeder = tokio::task::spawn_local(async move {
                for n in 1..=3 {
                    tokio::time::sleep(ms(5)).await;
                    to_task.try_send(n).unwrap();
                }
            });
            let reader = tokio::task::spawn_local(async move {
                let mut got = Vec::new();
                while let Some(n) = next(&mut outbox).await {
                    got.push(n);
                }
                got
            });
            let joined = tokio::task::spawn_local(worker);
            driver.run_async().await;
            feeder.await.unwrap();
            (
                reader.await.unwrap(),
                joined.await.unwrap().unwrap(),
                *driver.state(),
            )
        });
        assert_eq!(results, (vec![10, 20, 30], 6, 3));
    });
}

#[test]
fn another_thread_wakes_a_driver_awaiting_inside_tokio_and_stops_it() {
    within(Duration::from_secs(30), || {
        let rt = runtime();
        let mut driver = Driver::new(Vec::<u32>::new());
        let (tx, mut rx) = driver.handle().remote_channel::<u32>();
        let remote = driver.remote();
        driver
            .spawn(move |t: &mut Task<Vec<u32>>| -> Eff<Yields, ()> {
                while let Ok(n) = t.recv(&mut rx)? {
                    t.state().push(n);
                }
                Ok(())
            })
            .unwrap();
        // A far timer: without the wake-ups the driver would await it.
        driver
            .spawn(|t: &mut Task<Vec<u32>>| -> Eff<Yields, ()> { t.sleep(Duration::from_secs(60)) })
            .unwrap();
        let worker = std::thread::spawn(move || {
            for n in 0..100 {
                tx.send(n).unwrap();
                std::thread::sleep(Duration::from_micros(300));
            }
            drop(tx); // the receiving task ends
            std::thread::sleep(ms(20));
            remote.stop().unwrap();
        });
        rt.block_on(driver.run_async());
        worker.join().unwrap();
        assert_eq!(driver.state(), &(0..100).collect::<Vec<_>>());
        assert_eq!(driver.tasks().len(), 1, "stopped with the sleeper left");
    });
}

#[test]
fn a_virtual_clock_jumps_inside_tokio_and_busy_tasks_let_tokio_run() {
    within(Duration::from_secs(30), || {
        let rt = runtime();
        let local = LocalSet::new();
        let mut driver = DriverBuilder::new().virtual_clock().build(0u64);
        driver
            .spawn(|t: &mut Task<u64>| -> Eff<Yields, ()> {
                t.sleep(Duration::from_secs(3600))?; // no wall time
                // Busy: yields without waiting, many times.
                for _ in 0..10_000 {
                    *t.state() += 1;
                    t.yield_now()?;
                }
                Ok(())
            })
            .unwrap();
        let (ticks, count) = local.block_on(&rt, async move {
            let ticker = tokio::task::spawn_local(async {
                let mut ticks = 0u32;
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                    ticks += 1;
                }
                ticks
            });
            driver.run_async().await;
            (ticker.await.unwrap(), *driver.state())
        });
        assert_eq!((ticks, count), (10, 10_000));
    });
}

#[test]
fn a_driver_spawned_on_a_local_set_runs_beside_other_local_tasks() {
    within(Duration::from_secs(30), || {
        let rt = runtime();
        let local = LocalSet::new();
        let mut driver = Driver::new(Vec::<&str>::new());
        let h = driver
            .spawn(|t: &mut Task<Vec<&str>>| -> Eff<Yields, &'static str> {
                t.wait_future(tokio::time::sleep(ms(5)))?;
                t.state().push("task");
                Ok("done")
            })
            .unwrap();
        let out = local.block_on(&rt, async move {
            let running = tokio::task::spawn_local(async move {
                coshare::driver::tokio::run(&mut driver).await;
                driver
            });
            let result = h.await.unwrap();
            let driver = running.await.unwrap();
            (result, driver.tasks().len())
        });
        assert_eq!(out, ("done", 0));
    });
}

#[test]
fn a_run_inside_tokio_records_its_timeline_and_its_explored_schedule() {
    within(Duration::from_secs(30), || {
        let rt = runtime();
        let mut driver = DriverBuilder::new()
            .explore(7)
            .timeline(64)
            .build(Vec::new());
        for name in ["a", "b", "c"] {
            driver
                .spawn(move |t: &mut Task<Vec<&str>>| -> Eff<Yields, ()> {
                    t.yield_now()?;
                    t.state().push(name);
                    Ok(())
                })
                .unwrap();
        }
        rt.block_on(driver.run_async());
        assert_eq!(driver.state().len(), 3);
        // Two steps per task: up to the yield, then to the end.
        assert_eq!(driver.timeline().unwrap().steps().len(), 6);
        // The run inside tokio made the exploring driver's choices too.
        let schedule = driver.schedule().unwrap();
        let mut replayed = DriverBuilder::new().replay(schedule).build(Vec::new());
        for name in ["a", "b", "c"] {
            replayed
                .spawn(move |t: &mut Task<Vec<&str>>| -> Eff<Yields, ()> {
                    t.yield_now()?;
                    t.state().push(name);
                    Ok(())
                })
                .unwrap();
        }
        replayed.run().unwrap();
        assert_eq!(replayed.state(), driver.state());
    });
}
