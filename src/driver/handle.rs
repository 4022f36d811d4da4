//! [`DriverHandle`]: the one handle through which a driver's objects are
//! made, and [`Waker`], an owned wake-up for one wait.

use std::fmt;
use std::rc::Rc;

use super::reactor::{Instant, Shared, Waiter};

/// A handle to a driver: makes the objects tasks wait on (channels,
/// notify objects, events, intervals, sockets), reads the driver's clock,
/// and wakes waiting tasks.
///
/// The same handle serves everywhere: [`Driver::handle`](super::Driver::handle)
/// on the main stack, [`Task::handle`](super::Task::handle) in a task, and
/// the argument of [`DriverBuilder::build_with`](super::DriverBuilder::build_with)
/// while the state is being built. Cloning it is cheap, and a clone may be
/// kept anywhere, the shared state included: none of its methods switches
/// stacks. It is `!Send`: a driver and its objects stay on their thread.
///
/// ```
/// use std::time::Duration;
///
/// use coshare::driver::{DriverBuilder, Task};
/// use coshare::{Eff, Yields};
///
/// let mut driver = DriverBuilder::new().virtual_clock().build(0u32);
/// let (tx, mut rx) = driver.handle().channel::<u32>(4);
/// let done = driver.handle().event();
/// let ticks = driver.handle().interval(Duration::from_millis(10));
/// # drop(ticks);
/// let waiting = done.clone();
/// driver
///     .spawn(move |t: &mut Task<u32>| -> Eff<Yields, ()> {
///         while let Ok(n) = t.recv(&mut rx)? {
///             *t.state() += n;
///         }
///         t.wait_event(&waiting)
///     })
///     .unwrap();
/// tx.try_send(5).unwrap();
/// drop(tx);
/// done.set();
/// driver.run().unwrap();
/// assert_eq!(*driver.state(), 5);
/// ```
#[derive(Clone)]
pub struct DriverHandle {
    shared: Rc<Shared>,
}

impl DriverHandle {
    pub(crate) fn new(shared: Rc<Shared>) -> DriverHandle {
        DriverHandle { shared }
    }

    /// The reactor behind the handle.
    #[inline(always)]
    pub(crate) fn shared(&self) -> &Rc<Shared> {
        &self.shared
    }

    /// The driver's current time.
    pub fn now(&self) -> Instant {
        self.shared.now()
    }

    /// Wakes the task of `waiter` if it is still in that wait (see
    /// [`Waiter`]); returns whether it did. Never switches stacks: the
    /// task runs when the driver gets to it.
    #[inline]
    pub fn wake(&self, waiter: Waiter) -> bool {
        self.shared.wake(waiter)
    }

    /// An owned wake-up for `waiter`, for code that has no handle at hand
    /// (a callback, a library's completion).
    pub fn waker(&self, waiter: Waiter) -> Waker {
        Waker {
            handle: self.clone(),
            waiter,
        }
    }
}

impl fmt::Debug for DriverHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reactor = self.shared.reactor.borrow();
        f.debug_struct("DriverHandle")
            .field("now", &reactor.now())
            .field("live_tasks", &reactor.tasks.live())
            .finish_non_exhaustive()
    }
}

/// Wakes one wait of one task: a [`Waiter`] together with its driver.
///
/// Made by [`Context::waker`](super::Context::waker) or
/// [`DriverHandle::waker`], for a [`Source`](super::Source) whose event
/// comes from code that has no handle at hand. Waking is only a hint: the
/// task polls its source again, so waking twice, late, or after the task
/// moved on is harmless. `!Send`.
#[derive(Clone)]
pub struct Waker {
    handle: DriverHandle,
    waiter: Waiter,
}

impl Waker {
    /// Wakes the task if it is still in the wait; returns whether it did.
    pub fn wake(&self) -> bool {
        self.handle.wake(self.waiter)
    }

    /// The wait this waker wakes.
    pub fn waiter(&self) -> Waiter {
        self.waiter
    }
}

impl fmt::Debug for Waker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waker")
            .field("waiter", &self.waiter)
            .finish_non_exhaustive()
    }
}
