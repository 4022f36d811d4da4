//! [`DriverBuilder`]: settings for a new driver.

use super::handle::DriverHandle;
use super::reactor::{Clock, Instant, Shared};
use super::run::Driver;
use crate::stage::StageBuilder;

/// Settings for a new [`Driver`].
#[derive(Clone, Debug, Default)]
pub struct DriverBuilder {
    stage: StageBuilder,
    virtual_clock: bool,
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
        let handle = DriverHandle::new(Shared::new(clock));
        let state = make(&handle);
        Driver::new_with(self.stage.build(state), handle)
    }
}

impl<S: 'static> Driver<S> {
    /// A driver with a real clock and default stage settings.
    pub fn new(state: S) -> Self {
        DriverBuilder::new().build(state)
    }
}
