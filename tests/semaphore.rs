//! The counting semaphore and the many-task joins (`join_all`,
//! `try_join_all`), each a `select`-able source that loses nothing.

mod auxiliary;

use auxiliary::driver::{Log, log, ms, virtual_driver};
use coshare::driver::{Driver, JoinError, JoinHandle, Task, WaitOn, wait};
use coshare::{Eff, Yields};
use frunk::{Coproduct, hlist};

#[test]
fn waiters_are_served_in_order_without_barging() {
    let mut d = virtual_driver();
    let sem = d.handle().semaphore(2);
    let held = sem.try_acquire_many(2).unwrap();
    for (name, wanted) in [("big", 2), ("small", 1), ("small again", 1)] {
        let sem = sem.clone();
        d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
            let permit = t.acquire_many(&sem, wanted)?;
            let now = t.now();
            log(t, format!("{name} got {} at {now}", permit.permits()));
            t.sleep(ms(10))?;
            Ok(())
        })
        .unwrap();
    }
    d.run_until_idle();
    assert_eq!(
        d.tasks()[0].wait,
        WaitOn::Semaphore {
            id: sem.id(),
            permits: 2
        }
    );
    drop(held);
    // One permit is free for a moment, but `big` is first in line.
    assert!(
        sem.try_acquire().is_none(),
        "a waiting task is served first"
    );
    d.run().unwrap();
    assert_eq!(
        d.state(),
        &[
            "big got 2 at 0ns",
            "small got 1 at 10ms",
            "small again got 1 at 10ms"
        ]
    );
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn a_permit_handed_to_a_waiter_that_gives_up_passes_on() {
    let mut d = virtual_driver();
    let sem = d.handle().semaphore(0);
    let stop = d.handle().event();
    let mut handles = Vec::new();
    for name in ["hard", "aborted", "select"] {
        let (sem, stop) = (sem.clone(), stop.clone());
        handles.push(
            d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
                match t.select(hlist![wait::acquire(&sem), wait::event(&stop)])? {
                    Coproduct::Inl(_permit) => log(t, format!("{name}: got it")),
                    Coproduct::Inr(_) => log(t, format!("{name}: stopped")),
                }
                Ok(())
            })
            .unwrap(),
        );
    }
    let sem2 = sem.clone();
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        let _permit = t.acquire(&sem2)?;
        log(t, "last: got it");
        Ok(())
    })
    .unwrap();
    d.run_until_idle();
    // One permit, handed to `hard`; cancelled through the core before it
    // runs, it passes the permit to `aborted`, which is asked to stop...
    sem.add_permits(1);
    d.cancel(&handles[0]).unwrap();
    handles[1].abort();
    // ...and `select` takes the event instead: the permit reaches `last`.
    stop.set();
    d.run().unwrap();
    assert_eq!(d.state(), &["select: stopped", "last: got it"]);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn an_acquire_that_times_out_leaves_nothing_behind() {
    let mut d = virtual_driver();
    let sem = d.handle().semaphore(1);
    let permit = sem.try_acquire().unwrap();
    let s = sem.clone();
    let h = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, bool> {
            Ok(t.timeout(ms(10), |t| t.acquire(&s))?.is_ok())
        })
        .unwrap();
    assert!(!d.block_on(h).unwrap().unwrap());
    drop(permit);
    assert_eq!(sem.available_permits(), 1);
    let again = sem.try_acquire().unwrap();
    again.forget();
    assert_eq!(sem.available_permits(), 0);
    sem.add_permits(3);
    assert_eq!(sem.available_permits(), 3);
}

fn worker(d: &mut Driver<Log>, after: u64, value: Result<u32, &'static str>) -> JoinHandle<u32> {
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, u32> {
        t.sleep(ms(after))?;
        match value {
            Ok(v) => Ok(v),
            Err(why) => panic!("{why}"),
        }
    })
    .unwrap()
}

#[test]
fn join_all_waits_for_every_task_and_keeps_the_order_of_the_handles() {
    let mut d = virtual_driver();
    let mut handles = vec![worker(&mut d, 30, Ok(1)), worker(&mut d, 10, Ok(2))];
    let cancelled = worker(&mut d, 20, Ok(3));
    d.run_until_idle();
    d.cancel(&cancelled).unwrap();
    handles.push(cancelled);
    let h = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, Vec<String>> {
            let all = t.join_all(&mut handles)?;
            let now = t.now();
            log(t, format!("all done at {now}"));
            Ok(all.into_iter().map(|r| format!("{r:?}")).collect())
        })
        .unwrap();
    assert_eq!(
        d.block_on(h).unwrap().unwrap(),
        ["Ok(1)", "Ok(2)", "Err(Cancelled)"]
    );
    assert_eq!(d.state(), &["all done at 30ms"]);
}

#[test]
fn try_join_all_fails_fast_and_leaves_the_other_results_in_their_handles() {
    let mut d = virtual_driver();
    let handles = vec![
        worker(&mut d, 10, Ok(1)),
        worker(&mut d, 20, Err("worker failed")),
        worker(&mut d, 40, Ok(3)),
    ];
    let h = d
        .spawn(
            move |t: &mut Task<Log>| -> Eff<Yields, Vec<JoinHandle<u32>>> {
                let mut handles = handles;
                let out = t.try_join_all(&mut handles)?;
                let (at, error) = out.unwrap_err();
                let now = t.now();
                log(t, format!("handle {at} failed at {now}: {error}"));
                Ok(handles)
            },
        )
        .unwrap();
    let mut handles = d.block_on(h).unwrap().unwrap();
    assert_eq!(
        d.state(),
        &["handle 1 failed at 20ms: the task panicked: worker failed"]
    );
    assert_eq!(handles[0].try_join().unwrap().unwrap(), 1, "kept");
    assert!(!handles[2].is_finished(), "still running");
    let mut rest = handles.split_off(2);
    let h = d
        .spawn(move |t: &mut Task<Log>| -> Eff<Yields, Vec<u32>> {
            Ok(t.try_join_all(&mut rest)?.unwrap())
        })
        .unwrap();
    assert_eq!(d.block_on(h).unwrap().unwrap(), [3]);
}

#[test]
fn a_join_all_that_loses_a_select_takes_no_result() {
    let mut d = virtual_driver();
    let handles = vec![worker(&mut d, 10, Ok(1)), worker(&mut d, 50, Ok(2))];
    let h = d
        .spawn(
            move |t: &mut Task<Log>| -> Eff<Yields, Vec<JoinHandle<u32>>> {
                let mut handles = handles;
                let fired = t.select(hlist![wait::join_all(&mut handles), wait::sleep(ms(20))])?;
                assert!(matches!(fired, Coproduct::Inr(_)), "the sleep wins");
                Ok(handles)
            },
        )
        .unwrap();
    let mut handles = d.block_on(h).unwrap().unwrap();
    assert_eq!(handles[0].try_join().unwrap().unwrap(), 1);
    d.run().unwrap();
    assert_eq!(handles[1].try_join().unwrap().unwrap(), 2);
    assert!(matches!(
        handles[1].try_join(),
        Some(Err(JoinError::AlreadyJoined))
    ));
}

#[test]
fn waits_on_scopes_semaphores_and_many_tasks_are_described() {
    let mut d = virtual_driver();
    let sem = d.handle().semaphore(0);
    let mut handles = vec![worker(&mut d, 100, Ok(1)), worker(&mut d, 100, Ok(2))];
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        t.join_all(&mut handles)?;
        Ok(())
    })
    .unwrap();
    d.spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
        let _p = t.acquire_many(&sem, 3)?;
        Ok(())
    })
    .unwrap();
    d.spawn(|t: &mut Task<Log>| -> Eff<Yields, ()> {
        t.scope(|s| {
            s.spawn(|t: &mut Task<Log>| -> Eff<Yields, Result<(), ()>> {
                t.sleep(ms(100))?;
                Ok(Ok(()))
            })
            .unwrap();
            Ok(Ok::<_, ()>(()))
        })?
        .unwrap();
        Ok(())
    })
    .unwrap();
    d.run_until_idle();
    let text: Vec<String> = d.tasks().iter().map(|t| t.wait.to_string()).collect();
    assert!(
        text.contains(&"waits for 2 task(s) to finish".to_owned()),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|w| w.starts_with("waits for 3 permit(s) of semaphore #"))
    );
    assert!(text.contains(&"waits for the 1 task(s) of its scope to finish".to_owned()));
    let deadlock = d.run().unwrap_err();
    assert_eq!(
        deadlock.tasks.len(),
        1,
        "only the semaphore's waiter is stuck"
    );
}
