//! [`Explore`]: runs a scenario under many schedules and reports the first
//! one that breaks the scenario's invariant, shrunk, with a readable trace
//! and how to replay it.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use super::builder::DriverBuilder;
use super::reactor::choice::Schedule;
use super::run::Driver;
use super::timeline::{Step, StepEnd};

/// Runs a scenario under many schedules.
///
/// The code of one task reads sequentially, but between two of its waits
/// the others run, and which runs first depends on timing. The driver's
/// default order is one of the possible ones; [`DriverBuilder::explore`]
/// takes others, from a seed. `Explore` builds the scenario once per seed
/// (with a builder set to explore from that seed) and runs the check you
/// give; on the first failure it shrinks the schedule (it puts rounds back
/// in the default order while the failure stays), replays it to record a
/// trace, and returns a [`FailedRun`] that says what broke, the seed, the
/// schedule, each step of the failing run with where each task waited, and
/// how to replay exactly that run.
///
/// ```
/// use coshare::driver::{Explore, Task};
/// use coshare::{Eff, Yields};
///
/// // Two tasks append to a log; nothing else orders them.
/// let outcome = Explore::new().seeds(0..50).run(
///     |builder| {
///         let mut driver = builder.build(Vec::new());
///         for name in ["a", "b"] {
///             driver
///                 .spawn(move |t: &mut Task<Vec<&str>>| -> Eff<Yields, ()> {
///                     t.state().push(name);
///                     Ok(())
///                 })
///                 .unwrap();
///         }
///         driver
///     },
///     |driver| {
///         driver.run().map_err(|deadlock| deadlock.to_string())?;
///         match driver.state().as_slice() {
///             ["a", "b"] => Ok(()),
///             other => Err(format!("b ran first: {other:?}")),
///         }
///     },
/// );
/// let failure = outcome.unwrap_err();
/// assert!(failure.message().contains("b ran first"));
/// // The default order passes: the failing schedule reorders one round.
/// assert_eq!(failure.schedule().reordered_rounds(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct Explore {
    seeds: Range<u64>,
    max_timer_delay: Duration,
    timeline: usize,
}

impl Default for Explore {
    fn default() -> Self {
        Explore {
            seeds: 0..100,
            max_timer_delay: Duration::ZERO,
            timeline: 10_000,
        }
    }
}

/// What an exploration that found nothing covered.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explored {
    /// How many runs it made.
    pub runs: usize,
    /// How many of them took a schedule none before had taken.
    pub distinct_schedules: usize,
    /// Whether it tried every order (only [`Explore::all_orders`], when it
    /// finished within its bound).
    pub exhaustive: bool,
}

/// A schedule under which the scenario's check failed.
#[derive(Clone, Debug)]
pub struct FailedRun {
    message: String,
    seed: Option<u64>,
    original: Schedule,
    schedule: Schedule,
    trace: Vec<Step>,
}

impl FailedRun {
    /// What the check said.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The seed whose run failed (`None` when found by
    /// [`Explore::all_orders`]). `DriverBuilder::new().explore(seed)`
    /// replays that run.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// The shrunk schedule: it fails too, and no round of it can go back to
    /// the default order without the failure going away.
    /// `DriverBuilder::new().replay(schedule)` replays it.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The schedule of the run that failed first, before shrinking.
    pub fn original_schedule(&self) -> &Schedule {
        &self.original
    }

    /// Every step of the shrunk run, in order.
    pub fn trace(&self) -> &[Step] {
        &self.trace
    }
}

impl fmt::Display for FailedRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "a schedule breaks the check: {}", self.message)?;
        if let Some(seed) = self.seed {
            writeln!(
                f,
                "  found with seed {seed} (replay: DriverBuilder::new().explore({seed}))"
            )?;
        }
        writeln!(
            f,
            "  shrunk to {} reordered round(s): {:?} (replay exactly: \
             DriverBuilder::new().replay(\"{}\".parse().unwrap()))",
            self.schedule.reordered_rounds(),
            self.schedule.to_string(),
            self.schedule
        )?;
        writeln!(f, "  the steps of that run:")?;
        for (n, step) in self.trace.iter().enumerate() {
            write!(f, "  {n:>4}. at {}: ", step.start)?;
            match &step.name {
                Some(name) => write!(f, "task `{name}` ({})", step.task)?,
                None => write!(f, "task {}", step.task)?,
            }
            match &step.then {
                StepEnd::Waits { wait, at } => {
                    write!(f, " runs, then {wait}")?;
                    if let Some(at) = at {
                        write!(f, " at {}:{}", at.file(), at.line())?;
                    }
                }
                StepEnd::Ready => write!(f, " runs, then yields")?,
                StepEnd::Ends => write!(f, " runs to its end")?,
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

impl std::error::Error for FailedRun {}

/// One run's outcome: the check's verdict and the choices it took.
struct Run {
    verdict: Result<(), String>,
    schedule: Schedule,
    sizes: Vec<usize>,
    trace: Vec<Step>,
}

impl Explore {
    /// Seeds `0..100`, no timer delays.
    pub fn new() -> Explore {
        Explore::default()
    }

    /// The seeds to run, one run each.
    pub fn seeds(mut self, seeds: Range<u64>) -> Explore {
        self.seeds = seeds;
        self
    }

    /// Lets timers fire up to `max` late as well (see
    /// [`DriverBuilder::max_timer_delay`]).
    pub fn max_timer_delay(mut self, max: Duration) -> Explore {
        self.max_timer_delay = max;
        self
    }

    /// Runs the scenario once per seed. `build` gets a builder set to
    /// explore (add settings, then build the driver and spawn its tasks);
    /// `check` drives the run and says whether it went right (see
    /// [`run_checking`] to check after every step).
    pub fn run<S: 'static>(
        &self,
        mut build: impl FnMut(DriverBuilder) -> Driver<S>,
        mut check: impl FnMut(&mut Driver<S>) -> Result<(), String>,
    ) -> Result<Explored, FailedRun> {
        let mut seen: Vec<Schedule> = Vec::new();
        let mut runs = 0;
        for seed in self.seeds.clone() {
            let builder = DriverBuilder::new()
                .explore(seed)
                .max_timer_delay(self.max_timer_delay);
            let run = self.one(builder, &mut build, &mut check);
            runs += 1;
            if let Err(message) = run.verdict {
                return Err(self.shrink(Some(seed), run.schedule, message, build, check));
            }
            if !seen.contains(&run.schedule) {
                seen.push(run.schedule);
            }
        }
        Ok(Explored {
            runs,
            distinct_schedules: seen.len(),
            exhaustive: false,
        })
    }

    /// Runs the scenario under every order of every round, one run each,
    /// up to `max_runs` runs (for small scenarios: the number of orders
    /// grows with the factorial of the tasks a round holds). Timer delays
    /// are not explored here.
    pub fn all_orders<S: 'static>(
        &self,
        max_runs: usize,
        mut build: impl FnMut(DriverBuilder) -> Driver<S>,
        mut check: impl FnMut(&mut Driver<S>) -> Result<(), String>,
    ) -> Result<Explored, FailedRun> {
        // The orders of the rounds so far, and the next to try.
        let mut orders: Vec<Vec<u32>> = Vec::new();
        let mut runs = 0;
        loop {
            let schedule = Schedule::from_orders(&orders);
            let run = self.one(
                DriverBuilder::new().replay(schedule),
                &mut build,
                &mut check,
            );
            runs += 1;
            if let Err(message) = run.verdict {
                return Err(self.shrink(None, run.schedule, message, build, check));
            }
            // Every round this run had, in the orders it ran them.
            orders.truncate(run.sizes.len());
            for (round, &n) in run.sizes.iter().enumerate() {
                if round >= orders.len() {
                    orders.push((0..n as u32).collect());
                }
            }
            // Advance the last round that has a next order.
            loop {
                let Some(last) = orders.last_mut() else {
                    return Ok(Explored {
                        runs,
                        distinct_schedules: runs,
                        exhaustive: true,
                    });
                };
                if next_permutation(last) {
                    break;
                }
                orders.pop();
            }
            if runs >= max_runs {
                return Ok(Explored {
                    runs,
                    distinct_schedules: runs,
                    exhaustive: false,
                });
            }
        }
    }

    fn one<S: 'static>(
        &self,
        builder: DriverBuilder,
        build: &mut impl FnMut(DriverBuilder) -> Driver<S>,
        check: &mut impl FnMut(&mut Driver<S>) -> Result<(), String>,
    ) -> Run {
        let mut driver = build(builder.timeline(self.timeline));
        let verdict = check(&mut driver);
        Run {
            verdict,
            schedule: driver.schedule().unwrap_or_default(),
            sizes: driver.round_sizes(),
            trace: driver
                .timeline()
                .map(|t| t.steps().cloned().collect())
                .unwrap_or_default(),
        }
    }

    /// Puts rounds back in the default order while the check still fails,
    /// then replays the result for its trace.
    fn shrink<S: 'static>(
        &self,
        seed: Option<u64>,
        original: Schedule,
        message: String,
        mut build: impl FnMut(DriverBuilder) -> Driver<S>,
        mut check: impl FnMut(&mut Driver<S>) -> Result<(), String>,
    ) -> FailedRun {
        let mut schedule = original.clone();
        let mut failing = self.one(
            DriverBuilder::new().replay(schedule.clone()),
            &mut build,
            &mut check,
        );
        // With timer delays the seed's run cannot be replayed from its
        // schedule alone; keep the seed's run as it was then.
        if failing.verdict.is_ok() {
            let builder = DriverBuilder::new()
                .explore(seed.unwrap_or_default())
                .max_timer_delay(self.max_timer_delay);
            failing = self.one(builder, &mut build, &mut check);
            return FailedRun {
                message,
                seed,
                original: original.clone(),
                schedule: original,
                trace: failing.trace,
            };
        }
        loop {
            let mut shrunk = false;
            for round in schedule.rounds().collect::<Vec<_>>() {
                let candidate = schedule.without(round);
                let run = self.one(
                    DriverBuilder::new().replay(candidate.clone()),
                    &mut build,
                    &mut check,
                );
                if run.verdict.is_err() {
                    schedule = candidate;
                    failing = run;
                    shrunk = true;
                }
            }
            if !shrunk {
                break;
            }
        }
        FailedRun {
            message: failing.verdict.err().unwrap_or(message),
            seed,
            original,
            schedule,
            trace: failing.trace,
        }
    }
}

/// Runs `driver` to its end, checking `invariant` on the state before the
/// run and after every step: the first broken invariant is the error, as is
/// a deadlock. For [`Explore::run`]'s check.
///
/// ```
/// use coshare::driver::{run_checking, DriverBuilder, Task};
/// use coshare::{Eff, Yields};
///
/// let mut driver = DriverBuilder::new().virtual_clock().build(0i32);
/// driver
///     .spawn(|t: &mut Task<i32>| -> Eff<Yields, ()> {
///         *t.state() -= 1; // briefly negative
///         t.yield_now()?;
///         *t.state() += 1;
///         Ok(())
///     })
///     .unwrap();
/// let verdict = run_checking(&mut driver, |n| {
///     if *n >= 0 { Ok(()) } else { Err(format!("negative: {n}")) }
/// });
/// assert_eq!(verdict, Err("negative: -1".to_string()));
/// ```
pub fn run_checking<S: 'static>(
    driver: &mut Driver<S>,
    mut invariant: impl FnMut(&mut S) -> Result<(), String>,
) -> Result<(), String> {
    let mut broken = None;
    let result = driver.run_until_state(|state| match invariant(state) {
        Ok(()) => false,
        Err(message) => {
            broken = Some(message);
            true
        }
    });
    if let Some(message) = broken {
        return Err(message);
    }
    match result {
        // Every task ended with the invariant holding throughout.
        Err(deadlock) if deadlock.tasks.is_empty() => Ok(()),
        Err(deadlock) => Err(deadlock.to_string()),
        Ok(()) => Ok(()),
    }
}

/// The next permutation in lexicographic order, in place; `false` (and
/// the first one again) after the last.
fn next_permutation(order: &mut [u32]) -> bool {
    let Some(i) = (1..order.len()).rev().find(|&i| order[i - 1] < order[i]) else {
        order.reverse();
        return false;
    };
    let j = (i..order.len())
        .rev()
        .find(|&j| order[j] > order[i - 1])
        .expect("a larger element after the pivot");
    order.swap(i - 1, j);
    order[i..].reverse();
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_come_in_order_and_each_once() {
        let mut order = vec![0, 1, 2];
        let mut all = vec![order.clone()];
        while next_permutation(&mut order) {
            all.push(order.clone());
        }
        assert_eq!(
            all,
            [
                [0, 1, 2],
                [0, 2, 1],
                [1, 0, 2],
                [1, 2, 0],
                [2, 0, 1],
                [2, 1, 0]
            ]
        );
        assert_eq!(order, [0, 1, 2]);
        let mut one = vec![0];
        assert!(!next_permutation(&mut one));
    }
}
