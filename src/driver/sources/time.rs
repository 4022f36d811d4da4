//! Time: [`Sleep`], the source that waits for a deadline, and
//! [`Interval`], a repeating timer waited on through [`Tick`].

use std::time::Duration;

use crate::driver::handle::DriverHandle;
use crate::driver::reactor::{Instant, TimerKey, Waiter};
use crate::driver::report::WaitOn;
use crate::driver::source::{Context, Source};

/// Waits until a deadline: the source behind
/// [`Task::sleep`](crate::driver::Task::sleep) and
/// [`Task::sleep_until`](crate::driver::Task::sleep_until), made by
/// [`wait::sleep`](crate::driver::wait::sleep) and
/// [`wait::until`](crate::driver::wait::until). A sleep for a duration
/// starts when the wait starts.
pub struct Sleep {
    pub(crate) deadline: Option<Instant>,
    pub(crate) duration: Duration,
    pub(crate) key: Option<TimerKey>,
}

impl Sleep {
    pub(crate) fn until(deadline: Instant) -> Sleep {
        Sleep {
            deadline: Some(deadline),
            duration: Duration::ZERO,
            key: None,
        }
    }

    pub(crate) fn after(duration: Duration) -> Sleep {
        Sleep {
            deadline: None,
            duration,
            key: None,
        }
    }

    fn deadline(&mut self, cx: &Context<'_>) -> Instant {
        *self
            .deadline
            .get_or_insert_with(|| cx.now() + self.duration)
    }
}

impl Source for Sleep {
    type Output = ();

    fn poll(&mut self, cx: &mut Context<'_>) -> Option<()> {
        let deadline = self.deadline(cx);
        (cx.now() >= deadline).then_some(())
    }

    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
        let deadline = self.deadline(cx);
        self.key = Some(cx.shared().reactor.borrow_mut().add_timer(deadline, waiter));
    }

    fn unregister(&mut self, cx: &mut Context<'_>) {
        if let Some(key) = self.key.take() {
            cx.shared().reactor.borrow_mut().remove_timer(key);
        }
    }

    #[inline]
    fn wait_on(&self) -> WaitOn {
        WaitOn::Sleep {
            until: self.deadline.unwrap_or_default(),
        }
    }
}

/// A repeating timer. Its first tick is due when it is created, then one
/// every `period`, measured from the first (no drift). A task that falls
/// behind gets the missed ticks at once, one per wait, until it has caught
/// up ("burst"). Made by [`DriverHandle::interval`]; waited on with
/// [`Task::tick`](crate::driver::Task::tick).
#[derive(Debug)]
pub struct Interval {
    pub(crate) next: Instant,
    pub(crate) period: Duration,
}

impl DriverHandle {
    /// A new interval whose first tick is due now.
    ///
    /// # Panics
    ///
    /// If `period` is zero.
    pub fn interval(&self, period: Duration) -> Interval {
        Interval::new(self.now(), period)
    }
}

impl Interval {
    fn new(start: Instant, period: Duration) -> Interval {
        assert!(
            !period.is_zero(),
            "an interval needs a non-zero period (a zero period would tick forever)"
        );
        Interval {
            next: start,
            period,
        }
    }

    /// When the next tick is due.
    pub fn next_tick(&self) -> Instant {
        self.next
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}

/// Waits for the next tick of an [`Interval`]: the source behind
/// [`Task::tick`](crate::driver::Task::tick), made by
/// [`wait::tick`](crate::driver::wait::tick).
pub struct Tick<'a> {
    pub(crate) interval: &'a mut Interval,
    pub(crate) key: Option<TimerKey>,
}

impl Source for Tick<'_> {
    type Output = Instant;

    fn poll(&mut self, cx: &mut Context<'_>) -> Option<Instant> {
        let now = cx.now();
        if now >= self.interval.next {
            let at = self.interval.next;
            self.interval.next += self.interval.period;
            Some(at)
        } else {
            None
        }
    }

    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
        self.key = Some(
            cx.shared()
                .reactor
                .borrow_mut()
                .add_timer(self.interval.next, waiter),
        );
    }

    fn unregister(&mut self, cx: &mut Context<'_>) {
        if let Some(key) = self.key.take() {
            cx.shared().reactor.borrow_mut().remove_timer(key);
        }
    }

    #[inline]
    fn wait_on(&self) -> WaitOn {
        WaitOn::Tick {
            at: self.interval.next,
        }
    }
}
