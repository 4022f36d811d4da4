//! What the driver can watch of each step, when asked to: the timeline,
//! and slow steps ([`SlowStep`]). Off by default; then a step pays one
//! test of an empty pointer.

use std::cell::RefCell;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;
use std::time::Duration;

use super::clock::Instant;
use super::reactor::Shared;
use super::reactor::tasks::TaskState;
use super::timeline::{Step, StepEnd, Timeline};
use crate::error::CoroutineId;

/// A task ran longer than the configured threshold between two waits,
/// blocking every other task of its driver meanwhile. Measured in wall
/// time, whatever the driver's clock; reported through
/// [`DriverBuilder::report_slow_steps`](super::DriverBuilder::report_slow_steps).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlowStep {
    /// The task.
    pub task: CoroutineId,
    /// Its name, if it has one.
    pub name: Option<Rc<str>>,
    /// How long the step took.
    pub took: Duration,
    /// Where it waited before the step (`None` for its first step).
    pub resumed_from: Option<&'static Location<'static>>,
    /// Where it waits after the step (`None` if it ended or yielded).
    pub parked_at: Option<&'static Location<'static>>,
}

impl fmt::Display for SlowStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "task `{name}` ({})", self.task)?,
            None => write!(f, "task {}", self.task)?,
        }
        write!(f, " ran {:?} without waiting", self.took)?;
        match self.resumed_from {
            Some(at) => write!(f, ", from its wait at {}:{}", at.file(), at.line())?,
            None => f.write_str(", from its start")?,
        }
        match self.parked_at {
            Some(at) => write!(f, " to its wait at {}:{}", at.file(), at.line()),
            None => Ok(()),
        }
    }
}

/// The callback of slow steps, shared by clones of a builder.
pub(crate) type SlowReport = Rc<RefCell<dyn FnMut(&SlowStep)>>;

/// What a driver watches.
pub(crate) struct Observe {
    pub(crate) timeline: Option<Timeline>,
    pub(crate) slow: Option<(Duration, SlowReport)>,
}

/// What is noted before a step, for [`Observe::after`].
pub(crate) struct Watch {
    task: CoroutineId,
    name: Option<Rc<str>>,
    start: Instant,
    wall: Option<std::time::Instant>,
    resumed_from: Option<&'static Location<'static>>,
}

impl Observe {
    pub(crate) fn before(&self, shared: &Shared, task: CoroutineId) -> Watch {
        let reactor = shared.reactor.borrow();
        Watch {
            task,
            name: reactor.tasks.entry(task).and_then(|e| e.name.clone()),
            start: reactor.now(),
            wall: self.slow.as_ref().map(|_| std::time::Instant::now()),
            resumed_from: reactor.tasks.hot(task).and_then(|h| h.location),
        }
    }

    pub(crate) fn after(&mut self, shared: &Shared, watch: Watch) {
        let took = watch.wall.map(|started| started.elapsed());
        let (end, then) = {
            let reactor = shared.reactor.borrow();
            let then = match reactor.tasks.hot(watch.task) {
                Some(hot) if hot.state == TaskState::Waiting => StepEnd::Waits {
                    wait: hot.wait.clone(),
                    at: hot.location,
                },
                Some(_) => StepEnd::Ready,
                None => StepEnd::Ends,
            };
            (reactor.now(), then)
        };
        let name = watch.name;
        if let (Some((threshold, report)), Some(took)) = (&self.slow, took) {
            if took > *threshold {
                let slow = SlowStep {
                    task: watch.task,
                    name: name.clone(),
                    took,
                    resumed_from: watch.resumed_from,
                    parked_at: match &then {
                        StepEnd::Waits { at, .. } => *at,
                        StepEnd::Ready | StepEnd::Ends => None,
                    },
                };
                #[cfg(feature = "tracing")]
                tracing::warn!(task = %slow.task, took = ?slow.took, "{slow}");
                (report.borrow_mut())(&slow);
            }
        }
        if let Some(timeline) = &mut self.timeline {
            timeline.push(Step {
                task: watch.task,
                name,
                start: watch.start,
                end,
                then,
            });
        }
    }
}
