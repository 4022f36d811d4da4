//! Model-based test of structured concurrency in the driver: random trees
//! of task scopes, children, errors, panics, cancel scopes, shields and
//! cancellations run on a real driver (virtual clock) and on a reference
//! model (plain data, `model.rs`), and compared.
//!
//! # What a program is
//!
//! A root task with a script (`program.rs`): sleeps, failures (`Ok(Err)`),
//! panics, timeouts, shields (with or without a deadline) and task scopes,
//! each scope spawning children with scripts of their own, nested three
//! deep; each task has an optional cleanup (a shielded sleep) that runs
//! when its cancellation reaches its top. The main stack may abort the
//! root, cancel it through the core, or drop the driver, at a time.
//!
//! Every duration is a distinct power of two of microseconds, so two
//! events share an instant only if one causes the other: the model
//! predicts times exactly without knowing how the driver orders the
//! tasks of one instant. (Children start with a sleep for the same
//! reason.) The model is written from the documented rules, not from the
//! code: see `model.rs`.
//!
//! # What is checked
//!
//! * For every task: when it ended and how (returned, failed, cancelled,
//!   panicked, as its join handle tells); for every timeout, shield and
//!   scope that returned: when, and what (`ok`, `elapsed`, or the scope's
//!   first failure and how many there were). Real and model must agree.
//! * No task outlives its scope: every child's frame is dropped before its
//!   scope returns (in the order of events, not only in time), and no task
//!   is left when the run is over.
//! * Every task's frame is dropped exactly once (an end token per task).
//! * The virtual-clock run is deterministic: a second run of the same
//!   program gives the same events in the same order.
//!
//! Messages and permits are checked by `the_exchanges_lose_nothing`, with
//! invariants instead of a model (`exchange.rs`).
//!
//! Failures are shrunk and their seeds saved in
//! `tests/scope_model/main.proptest-regressions`, replayed first on every
//! run; `PROPTEST_CASES=N` runs `N` cases instead of [`CASES`].

mod exchange;
mod model;
mod program;
mod real;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Once;

use proptest::prelude::*;
use proptest::test_runner::{
    Config, FileFailurePersistence, RngAlgorithm, TestCaseError, TestRng, TestRunner,
};

use program::{Action, Outcome, Program, Record};
use real::{Boom, Event};

/// Random programs per run, unless `PROPTEST_CASES` says.
const CASES: u32 = 256;

fn quiet_boom_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Boom>().is_none() {
                default(info);
            }
        }));
    });
}

/// Behaviours the generated programs must reach (see
/// `the_generated_programs_reach_every_behaviour`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Feature {
    TimeoutElapsed,
    ShieldElapsed,
    ScopeOk,
    ScopeError,
    ScopeErrorWithOthers,
    ChildFailed,
    ChildPanicked,
    ChildCancelled,
    ChildNeverRan,
    RootAborted,
    RootCancelledThroughTheCore,
    DriverDropped,
}

impl Feature {
    const ALL: [Feature; 12] = [
        Feature::TimeoutElapsed,
        Feature::ShieldElapsed,
        Feature::ScopeOk,
        Feature::ScopeError,
        Feature::ScopeErrorWithOthers,
        Feature::ChildFailed,
        Feature::ChildPanicked,
        Feature::ChildCancelled,
        Feature::ChildNeverRan,
        Feature::RootAborted,
        Feature::RootCancelledThroughTheCore,
        Feature::DriverDropped,
    ];
}

fn features(program: &Program, records: &[Record]) -> BTreeSet<Feature> {
    let mut seen = BTreeSet::new();
    for record in records {
        match record {
            Record::Block { path, result, .. } => {
                let kind = path.rsplit('.').next().unwrap_or("").chars().next();
                match (kind, result.as_str()) {
                    (Some('t'), "elapsed") => seen.insert(Feature::TimeoutElapsed),
                    (Some('h'), "elapsed") => seen.insert(Feature::ShieldElapsed),
                    (Some('s'), "ok") => seen.insert(Feature::ScopeOk),
                    (Some('s'), r) if r.starts_with("error") => {
                        if !r.ends_with(" n=1") {
                            seen.insert(Feature::ScopeErrorWithOthers);
                        }
                        seen.insert(Feature::ScopeError)
                    }
                    _ => false,
                };
            }
            Record::Task { path, outcome, .. } if path != "r" => {
                match outcome {
                    Outcome::Failed => seen.insert(Feature::ChildFailed),
                    Outcome::Panicked => seen.insert(Feature::ChildPanicked),
                    Outcome::Cancelled => seen.insert(Feature::ChildCancelled),
                    Outcome::Returned => false,
                };
            }
            Record::Task { outcome, .. } => {
                let cancelled = *outcome == Outcome::Cancelled;
                match program.action {
                    Action::Abort(_) if cancelled => seen.insert(Feature::RootAborted),
                    Action::Cancel(_) if cancelled => {
                        seen.insert(Feature::RootCancelledThroughTheCore)
                    }
                    Action::Drop(_) if cancelled => seen.insert(Feature::DriverDropped),
                    _ => false,
                };
            }
        }
    }
    if model::never_ran() > 0 {
        seen.insert(Feature::ChildNeverRan);
    }
    seen
}

/// Runs `program` twice on the driver and once on the model; compares.
fn check_program(program: &Program) -> Result<BTreeSet<Feature>, TestCaseError> {
    quiet_boom_panics();
    let want = model::run(program);
    let got = real::run(program);
    prop_assert_eq!(got.left, 0, "tasks left after the run");
    if got.records != want {
        let show = |r: &[Record]| r.iter().map(|r| format!("\n  {r}")).collect::<String>();
        return Err(TestCaseError::fail(format!(
            "the driver and the model disagree\ndriver:{}\nmodel:{}\nprogram: {program:#?}",
            show(&got.records),
            show(&want)
        )));
    }
    // Every task's frame is dropped once.
    let mut drops = BTreeMap::<&str, usize>::new();
    for event in &got.events {
        if let Event::End(path, _) = event {
            *drops.entry(path).or_default() += 1;
        }
    }
    for (path, n) in &drops {
        prop_assert_eq!(*n, 1, "{} dropped {} times", path, n);
    }
    // No task outlives its scope.
    for (at, event) in got.events.iter().enumerate() {
        if let Event::ScopeExit(scope, _) = event {
            let prefix = format!("{scope}.c");
            for path in drops.keys() {
                if path.starts_with(&prefix) {
                    let ended = got
                        .events
                        .iter()
                        .position(|e| matches!(e, Event::End(p, _) if p == path));
                    prop_assert!(
                        ended.is_some_and(|ended| ended < at),
                        "{} outlived its scope {}",
                        path,
                        scope
                    );
                }
            }
        }
    }
    // Deterministic.
    let again = real::run(program);
    prop_assert_eq!(&again.events, &got.events, "a second run differs");
    Ok(features(program, &want))
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        source_file: Some(file!()),
        ..Config::default()
    }
}

#[test]
fn scope_trees_behave_like_the_model() {
    let mut runner = TestRunner::new(config());
    if let Err(error) = runner.run(&program::program(), |p| check_program(&p).map(drop)) {
        panic!("{error}");
    }
}

/// The property is only as good as the programs it sees.
#[test]
fn the_generated_programs_reach_every_behaviour() {
    let config = Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let seen = RefCell::new(BTreeMap::<Feature, usize>::new());
    runner
        .run(&program::program(), |program| {
            for feature in check_program(&program)? {
                *seen.borrow_mut().entry(feature).or_default() += 1;
            }
            Ok(())
        })
        .unwrap();
    let seen = seen.into_inner();
    let missing: Vec<Feature> = Feature::ALL
        .into_iter()
        .filter(|f| !seen.contains_key(f))
        .collect();
    assert!(
        missing.is_empty(),
        "never reached: {missing:?}\nreached: {seen:?}"
    );
}

#[test]
fn the_exchanges_lose_nothing() {
    exchange::check(config());
}
