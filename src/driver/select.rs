//! Event sources and wait-for-any.
//!
//! A [`Source`] is something a task can wait on: a message, a deadline, a
//! notification, another task's end. [`Task::select`](super::Task::select)
//! waits on a frunk HList of sources and returns a frunk `Coproduct` that
//! says which one fired, with its output.
//!
//! Sources are polled left to right: when several are ready, the leftmost
//! wins. Polling a source that does not win consumes nothing from it (a
//! message stays in its channel, a notification permit stays stored), so
//! the sources that did not fire are left exactly as they were.

use std::time::Duration;

use frunk::coproduct::{CNil, Coproduct};
use frunk::hlist::{HCons, HNil};

use super::reactor::{Instant, Shared, WaitOn, Waiter};

/// Something a task can wait on: a message, a deadline, a notification,
/// another task's end, a socket.
///
/// [`Task::select`](super::Task::select) waits on a frunk HList of sources
/// and returns a frunk `Coproduct` that says which one fired, with its
/// output. Sources are polled left to right: when several are ready, the
/// leftmost wins. Polling a source that does not win consumes nothing from
/// it (a message stays in its channel, a notification permit stays stored).
///
/// Sealed in practice: the sources are made by the functions of
/// [`wait`](super::wait) and by the task's waiting methods. What a source
/// produces is its `Output`, an associated type of the hidden supertrait.
pub trait Source: SourceImpl {}

impl<T: SourceImpl> Source for T {}

/// The machinery of a source. Not nameable outside the crate.
pub trait SourceImpl {
    /// What the source produces when it fires.
    type Output;

    /// Completes without waiting if the source is ready.
    #[doc(hidden)]
    fn poll(&mut self, shared: &Shared) -> Option<Self::Output>;

    /// Arranges for `waiter` to be woken when the source may be ready.
    #[doc(hidden)]
    fn register(&mut self, shared: &Shared, waiter: Waiter);

    /// Undoes `register` after the task woke (for any reason).
    #[doc(hidden)]
    fn unregister(&mut self, shared: &Shared);

    /// The task gave up waiting (it is being cancelled). A source that was
    /// handed something exclusive by a wake-up passes it on.
    #[doc(hidden)]
    fn abandon(&mut self, _shared: &Shared) {}

    /// Describes the whole wait, for task listings and deadlock reports.
    /// Called once per wait, before the task parks, so a single source
    /// builds its description directly.
    #[doc(hidden)]
    fn wait_on(&self) -> WaitOn;

    /// Adds this source's part of a wait-for-any description to `out`.
    #[doc(hidden)]
    #[inline]
    fn describe(&self, out: &mut Waits) {
        out.push(self.wait_on());
    }
}

/// Waits until a deadline: the source behind [`Task::sleep`](super::Task::sleep).
pub struct Sleep {
    pub(crate) deadline: Option<Instant>,
    pub(crate) duration: Duration,
    pub(crate) key: Option<(Instant, u64)>,
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

    fn deadline(&mut self, shared: &Shared) -> Instant {
        *self
            .deadline
            .get_or_insert_with(|| shared.reactor.borrow().now() + self.duration)
    }
}

impl SourceImpl for Sleep {
    type Output = ();

    fn poll(&mut self, shared: &Shared) -> Option<()> {
        let deadline = self.deadline(shared);
        (shared.reactor.borrow().now() >= deadline).then_some(())
    }

    fn register(&mut self, shared: &Shared, waiter: Waiter) {
        let deadline = self.deadline(shared);
        self.key = Some(shared.reactor.borrow_mut().add_timer(deadline, waiter));
    }

    fn unregister(&mut self, shared: &Shared) {
        if let Some(key) = self.key.take() {
            shared.reactor.borrow_mut().remove_timer(key);
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
/// up ("burst"). Made by [`Driver::interval`](super::Driver::interval) or
/// [`Task::interval`](super::Task::interval); waited on with
/// [`Task::tick`](super::Task::tick).
#[derive(Debug)]
pub struct Interval {
    pub(crate) next: Instant,
    pub(crate) period: Duration,
}

impl Interval {
    pub(crate) fn new(start: Instant, period: Duration) -> Interval {
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

/// Waits for the next tick of an [`Interval`].
pub struct Tick<'a> {
    pub(crate) interval: &'a mut Interval,
    pub(crate) key: Option<(Instant, u64)>,
}

impl SourceImpl for Tick<'_> {
    type Output = Instant;

    fn poll(&mut self, shared: &Shared) -> Option<Instant> {
        let now = shared.reactor.borrow().now();
        if now >= self.interval.next {
            let at = self.interval.next;
            self.interval.next += self.interval.period;
            Some(at)
        } else {
            None
        }
    }

    fn register(&mut self, shared: &Shared, waiter: Waiter) {
        self.key = Some(
            shared
                .reactor
                .borrow_mut()
                .add_timer(self.interval.next, waiter),
        );
    }

    fn unregister(&mut self, shared: &Shared) {
        if let Some(key) = self.key.take() {
            shared.reactor.borrow_mut().remove_timer(key);
        }
    }

    #[inline]
    fn wait_on(&self) -> WaitOn {
        WaitOn::Tick {
            at: self.interval.next,
        }
    }
}

// An HList of sources is a source: the first one that fires wins.

impl SourceImpl for HNil {
    type Output = CNil;

    fn poll(&mut self, _shared: &Shared) -> Option<CNil> {
        None
    }

    fn register(&mut self, _shared: &Shared, _waiter: Waiter) {}

    fn unregister(&mut self, _shared: &Shared) {}

    fn wait_on(&self) -> WaitOn {
        WaitOn::Any(Vec::new())
    }

    fn describe(&self, _out: &mut Waits) {}
}

impl<H: Source, T: Source> SourceImpl for HCons<H, T> {
    type Output = Coproduct<H::Output, T::Output>;

    fn poll(&mut self, shared: &Shared) -> Option<Self::Output> {
        if let Some(out) = self.head.poll(shared) {
            return Some(Coproduct::Inl(out));
        }
        self.tail.poll(shared).map(Coproduct::Inr)
    }

    fn register(&mut self, shared: &Shared, waiter: Waiter) {
        self.head.register(shared, waiter);
        self.tail.register(shared, waiter);
    }

    fn unregister(&mut self, shared: &Shared) {
        self.head.unregister(shared);
        self.tail.unregister(shared);
    }

    fn abandon(&mut self, shared: &Shared) {
        self.head.abandon(shared);
        self.tail.abandon(shared);
    }

    fn wait_on(&self) -> WaitOn {
        let mut waits = Waits::default();
        self.describe(&mut waits);
        waits.finish()
    }

    fn describe(&self, out: &mut Waits) {
        self.head.describe(out);
        self.tail.describe(out);
    }
}

/// Collects the descriptions of a wait-for-any's sources. Internal.
#[doc(hidden)]
#[derive(Default)]
pub struct Waits {
    all: Vec<WaitOn>,
}

impl Waits {
    pub(crate) fn push(&mut self, wait: WaitOn) {
        self.all.push(wait);
    }

    /// The description of the whole wait: the one source's own if there is
    /// only one, else all of them.
    fn finish(mut self) -> WaitOn {
        if self.all.len() == 1 {
            self.all.pop().expect("one description")
        } else {
            WaitOn::Any(self.all)
        }
    }
}
