//! Schedule exploration: it replays exactly, it takes other orders than the
//! default, and every order it takes is one the driver could take.

use std::collections::BTreeSet;
use std::time::Duration;

use coshare::driver::{DriverBuilder, Explore, Schedule, Task, run_checking};
use coshare::{Eff, Yields};

type Log = Vec<(u64, &'static str)>;

const NAMES: [&str; 4] = ["a", "b", "c", "d"];

/// Four tasks that each log their name, then yield, `steps` times.
fn yielders(builder: DriverBuilder, steps: usize) -> coshare::driver::Driver<Log> {
    let mut driver = builder.build(Log::new());
    for name in NAMES {
        driver
            .spawn(move |t: &mut Task<Log>| -> Eff<Yields, ()> {
                for _ in 0..steps {
                    let now = t.now().since_start().as_millis() as u64;
                    t.state().push((now, name));
                    t.yield_now()?;
                }
                Ok(())
            })
            .unwrap();
    }
    driver
}

#[test]
fn the_same_seed_replays_the_same_run_and_other_seeds_take_other_orders() {
    let run = |seed| {
        let mut driver = yielders(DriverBuilder::new().explore(seed).timeline(1000), 3);
        driver.run().unwrap();
        (
            driver.state().clone(),
            driver.schedule().unwrap(),
            driver.timeline().unwrap().to_chrome_json(),
        )
    };
    assert_eq!(run(42), run(42));
    let logs: BTreeSet<Log> = (0..20).map(|seed| run(seed).0).collect();
    assert!(logs.len() > 10, "20 seeds took {} orders", logs.len());
    // The schedule replays the seed's run.
    let (log, schedule, json) = run(7);
    let mut replayed = yielders(DriverBuilder::new().replay(schedule).timeline(1000), 3);
    replayed.run().unwrap();
    assert_eq!(replayed.state(), &log);
    assert_eq!(replayed.timeline().unwrap().to_chrome_json(), json);
}

#[test]
fn exploration_reorders_only_within_a_round() {
    // The model: every task yields at every step, so the round in which a
    // task takes its k-th step is round k, for every task. Whatever the
    // order within rounds, the log is a run of blocks, each holding every
    // task once.
    for seed in 0..50 {
        let mut driver = yielders(DriverBuilder::new().explore(seed), 5);
        driver.run().unwrap();
        for block in driver.state().chunks(NAMES.len()) {
            let names: BTreeSet<&str> = block.iter().map(|(_, n)| *n).collect();
            assert_eq!(names.len(), NAMES.len(), "seed {seed}: {block:?}");
        }
    }
}

#[test]
fn timers_never_fire_early_and_channels_stay_in_order() {
    // Sleepers with equal and distinct deadlines, and a sender whose
    // messages must arrive in order, with timers allowed to be late.
    let outcome = Explore::new()
        .seeds(0..200)
        .max_timer_delay(Duration::from_millis(3))
        .run(
            |builder| {
                let mut driver = builder.build(Vec::<String>::new());
                for (i, ms) in [5u64, 5, 10, 10, 10, 20].into_iter().enumerate() {
                    driver
                        .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
                            let deadline = t.now() + Duration::from_millis(ms);
                            t.sleep_until(deadline)?;
                            if t.now() < deadline {
                                t.state().push(format!("sleeper {i} woke early"));
                            }
                            Ok(())
                        })
                        .unwrap();
                }
                let (tx, mut rx) = driver.handle().channel::<u32>(2);
                driver
                    .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
                        for n in 0..10 {
                            t.send(&tx, n)?.unwrap();
                            t.sleep(Duration::from_millis(1))?;
                        }
                        Ok(())
                    })
                    .unwrap();
                driver
                    .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
                        let mut expected = 0;
                        while let Ok(n) = t.recv(&mut rx)? {
                            if n != expected {
                                t.state().push(format!("got {n}, expected {expected}"));
                            }
                            expected = n + 1;
                        }
                        Ok(())
                    })
                    .unwrap();
                driver
            },
            |driver| {
                run_checking(driver, |problems| match problems.first() {
                    None => Ok(()),
                    Some(problem) => Err(problem.clone()),
                })
            },
        )
        .unwrap();
    assert_eq!(outcome.runs, 200);
    assert!(outcome.distinct_schedules > 50, "{outcome:?}");
}

#[test]
fn every_order_of_a_small_scenario_is_tried_once() {
    // Three tasks, two steps each: 3! orders in each of two rounds.
    let mut seen = BTreeSet::new();
    let outcome = Explore::new()
        .all_orders(
            1000,
            |builder| {
                let mut driver = builder.build(Vec::<&'static str>::new());
                for name in ["x", "y", "z"] {
                    driver
                        .spawn(move |t: &mut Task<Vec<&'static str>>| -> Eff<Yields, ()> {
                            t.state().push(name);
                            t.yield_now()?;
                            t.state().push(name);
                            Ok(())
                        })
                        .unwrap();
                }
                driver
            },
            |driver| {
                driver.run().map_err(|d| d.to_string())?;
                seen.insert(driver.state().clone());
                Ok(())
            },
        )
        .unwrap();
    assert!(outcome.exhaustive);
    assert_eq!(outcome.runs, 36);
    assert_eq!(seen.len(), 36);
}

#[test]
fn a_failure_is_shrunk_and_says_how_to_replay_it() {
    let failure = Explore::new()
        .seeds(0..100)
        .run(
            |builder| yielders(builder, 3),
            |driver| {
                driver.run().map_err(|d| d.to_string())?;
                // Fails when d ever runs before a in a round.
                let log = driver.state();
                for block in log.chunks(NAMES.len()) {
                    let at = |name| block.iter().position(|(_, n)| *n == name);
                    if at("d") < at("a") {
                        return Err("d ran before a".into());
                    }
                }
                Ok(())
            },
        )
        .unwrap_err();
    assert_eq!(failure.message(), "d ran before a");
    assert!(failure.seed().is_some());
    // Shrunk to one reordered round, which still fails when replayed.
    assert_eq!(failure.schedule().reordered_rounds(), 1);
    let text: Schedule = failure.schedule().to_string().parse().unwrap();
    let mut replayed = yielders(DriverBuilder::new().replay(text), 3);
    replayed.run().unwrap();
    let report = failure.to_string();
    assert!(report.contains("replay exactly"), "{report}");
    assert!(report.contains("task #3.0 runs, then yields"), "{report}");
    assert_eq!(failure.trace().len(), 16); // 4 tasks: 3 yields and an end each
}
