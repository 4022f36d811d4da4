//! [`DriverBuilder`]: settings for a new driver.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::handle::DriverHandle;
use super::observe::{Observe, SlowReport, SlowStep};
use super::reactor::choice::{Chooser, Schedule};
use super::reactor::{Clock, Instant, Shared};
use super::run::Driver;
use super::timeline::Timeline;
use crate::stage::StageBuilder;

/// Settings for a new [`Driver`].
#[derive(Clone, Default)]
pub struct DriverBuilder {
    stage: StageBuilder,
    virtual_clock: bool,
    timeline: Option<usize>,
    slow_steps: Option<(Duration, SlowReport)>,
    explore: Option<Chooser>,
    max_timer_delay: Duration,
}

impl fmt::Debug for DriverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DriverBuilder")
            .field("stage", &self.stage)
            .field("virtual_clock", &self.virtual_clock)
            .field("timeline", &self.timeline)
            .field("slow_steps", &self.slow_steps.as_ref().map(|(t, _)| t))
            .field("explore", &self.explore)
            .field("max_timer_delay", &self.max_timer_delay)
            .finish()
    }
}

impl DriverBuilder {
    /// A real clock and the default stage settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Use a virtual clock: time starts at zero and moves only when the
    /// driver has nothing ready to run (it jumps to the next deadline) or is
    /// told to ([`Driver::run_for`](super::Driver::run_for), [`Driver::run_until`](super::Driver::run_until)). Runs are then
    /// deterministic and take no wall time.
    pub fn virtual_clock(mut self) -> Self {
        self.virtual_clock = true;
        self
    }

    /// Explores schedules: on the virtual clock (which this turns on), the
    /// tasks ready at the start of each round run in an order chosen from
    /// `seed` instead of first in, first out. Every order it takes is one
    /// the driver could take with other timing: a task still never runs
    /// before the round in which it became ready, a timer never fires before
    /// its deadline, a channel keeps its messages in order, and nothing else
    /// changes. The same seed makes the same choices on every machine, so a
    /// failing seed replays its run exactly. See
    /// [`Explore`](super::Explore), which runs a scenario over many seeds,
    /// and [`Driver::schedule`](super::Driver::schedule).
    pub fn explore(mut self, seed: u64) -> Self {
        self.virtual_clock = true;
        self.explore = Some(Chooser::seeded(seed, Duration::ZERO));
        self
    }

    /// With [`explore`](DriverBuilder::explore): every timer may also fire
    /// up to `max` late (chosen from the seed), as a busy real clock would
    /// make it; never early.
    pub fn max_timer_delay(mut self, max: Duration) -> Self {
        self.max_timer_delay = max;
        self
    }

    /// Replays a recorded [`Schedule`] on the virtual clock (which this turns
    /// on): the rounds it lists run in its orders, the others in the
    /// default one.
    pub fn replay(mut self, schedule: Schedule) -> Self {
        self.virtual_clock = true;
        self.explore = Some(Chooser::replay(schedule));
        self
    }

    /// Records a [`Timeline`] of the run: every step of every task (when it
    /// ran, and what it waited on next, with where), keeping the last
    /// `capacity` steps. Read it with [`Driver::timeline`](super::Driver::timeline).
    /// Off by default; a driver without it pays one pointer test per step.
    pub fn timeline(mut self, capacity: usize) -> Self {
        self.timeline = Some(capacity);
        self
    }

    /// Reports every step in which a task ran longer than `threshold` of
    /// wall time between two waits, blocking all the others, to `report`,
    /// with the task's name and where it waited before and after. (With the
    /// `tracing` feature, also as a `tracing` warning.) Off by default; when
    /// on, each step reads the clock twice.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use std::time::Duration;
    ///
    /// use coshare::driver::{DriverBuilder, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// let reports = Rc::new(RefCell::new(Vec::new()));
    /// let sink = Rc::clone(&reports);
    /// let mut driver = DriverBuilder::new()
    ///     .report_slow_steps(Duration::from_millis(20), move |slow| {
    ///         sink.borrow_mut().push(slow.to_string())
    ///     })
    ///     .build(());
    /// driver
    ///     .spawn(|t: &mut Task<()>| -> Eff<Yields, ()> {
    ///         t.yield_now()?;
    ///         std::thread::sleep(Duration::from_millis(50)); // blocks the thread
    ///         t.yield_now()
    ///     })
    ///     .unwrap();
    /// driver.run().unwrap();
    /// let reports = reports.borrow();
    /// assert_eq!(reports.len(), 1);
    /// assert!(reports[0].contains("without waiting"));
    /// ```
    pub fn report_slow_steps(
        mut self,
        threshold: Duration,
        report: impl FnMut(&SlowStep) + 'static,
    ) -> Self {
        let report: SlowReport = Rc::new(RefCell::new(report));
        self.slow_steps = Some((threshold, report));
        self
    }

    /// The settings of the underlying stage (stack size, budgets).
    pub fn stage(mut self, stage: StageBuilder) -> Self {
        self.stage = stage;
        self
    }

    /// Creates the driver, owning `state`.
    pub fn build<S: 'static>(self, state: S) -> Driver<S> {
        self.build_with(|_| state)
    }

    /// Creates the driver with a state built by `make`, which gets the
    /// driver's handle: it can make channels, notify objects and events of
    /// this driver to keep in the state (or keep the handle itself).
    ///
    /// ```
    /// use coshare::driver::{DriverBuilder, Event, Sender, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// struct Plant {
    ///     alarms: Sender<&'static str>,
    ///     stop: Event,
    /// }
    ///
    /// let mut rx = None;
    /// let mut driver = DriverBuilder::new().virtual_clock().build_with(|handle| {
    ///     let (alarms, receiver) = handle.channel(4);
    ///     rx = Some(receiver);
    ///     Plant { alarms, stop: handle.event() }
    /// });
    /// driver
    ///     .spawn(|t: &mut Task<Plant>| -> Eff<Yields, ()> {
    ///         t.state().alarms.try_send("overheat").unwrap();
    ///         let stop = t.state().stop.clone();
    ///         t.wait_event(&stop)
    ///     })
    ///     .unwrap();
    /// driver.run_until_idle();
    /// assert_eq!(rx.unwrap().try_recv(), Ok("overheat"));
    /// driver.state().stop.set();
    /// driver.run().unwrap();
    /// ```
    pub fn build_with<S: 'static>(self, make: impl FnOnce(&DriverHandle) -> S) -> Driver<S> {
        let clock = if self.virtual_clock {
            Clock::Virtual { now: Instant::ZERO }
        } else {
            Clock::Real {
                start: std::time::Instant::now(),
            }
        };
        let shared = Shared::new(clock);
        if let Some(mut chooser) = self.explore {
            chooser.set_max_delay(self.max_timer_delay);
            shared.reactor.borrow_mut().chooser = Some(Box::new(chooser));
        }
        let handle = DriverHandle::new(shared);
        let state = make(&handle);
        let observe = (self.timeline.is_some() || self.slow_steps.is_some()).then(|| {
            Box::new(Observe {
                timeline: self.timeline.map(Timeline::new),
                slow: self.slow_steps,
            })
        });
        Driver::new_with(self.stage.build(state), handle, observe)
    }
}

impl<S: 'static> Driver<S> {
    /// A driver with a real clock and default stage settings.
    pub fn new(state: S) -> Self {
        DriverBuilder::new().build(state)
    }
}
