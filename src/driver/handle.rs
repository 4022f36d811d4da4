//! [`DriverHandle`]: the one handle through which a driver's objects are
//! made; [`Waker`], an owned wake-up for one wait; and [`RemoteHandle`],
//! the driver as other threads see it.

use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use super::reactor::{DriverGone, Instant, RemoteCore, Shared, Waiter, wake_from_anywhere};

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

impl DriverHandle {
    /// A handle for other threads: it is `Send + Sync + Clone`, and wakes
    /// waits, sets events and asks the driver to stop from anywhere (see
    /// [`RemoteHandle`]). Remote channels are made with
    /// [`remote_channel`](DriverHandle::remote_channel).
    ///
    /// # Panics
    ///
    /// With the `io` feature, if the driver's poller cannot be made (the
    /// process is out of file descriptors); the first call makes it.
    pub fn remote(&self) -> RemoteHandle {
        RemoteHandle {
            core: self.shared.remote(),
        }
    }
}

/// A driver, as other threads see it: `Send + Sync + Clone`. Made by
/// [`DriverHandle::remote`] (or [`Driver::remote`](super::Driver::remote)).
///
/// It reaches nothing of the driver's state or tasks: it leaves requests
/// in the driver's inbox, which the driver takes at the start of its next
/// round, on its own thread. A driver blocked in its poll or parked until a
/// timer wakes at once (a `mio::Waker` with the `io` feature, an unpark of
/// its thread without it). Once the driver is dropped every request fails
/// with [`DriverGone`].
///
/// The other ways in from other threads are made on the driver's thread
/// and then sent: [`RemoteSender`](super::RemoteSender)s of a
/// [`remote_channel`](DriverHandle::remote_channel), and
/// [`RemoteEvent`](super::RemoteEvent)s of an [`Event`](super::Event).
///
/// ```
/// use std::time::Duration;
///
/// use coshare::driver::{Driver, Task};
/// use coshare::{Eff, Yields};
///
/// let mut driver = Driver::new(0u32);
/// driver
///     .spawn(|t: &mut Task<u32>| -> Eff<Yields, ()> {
///         loop {
///             t.sleep(Duration::from_millis(1))?;
///             *t.state() += 1;
///         }
///     })
///     .unwrap();
/// let remote = driver.remote();
/// let stopper = std::thread::spawn(move || {
///     std::thread::sleep(Duration::from_millis(20));
///     remote.stop().unwrap();
/// });
/// driver.run().unwrap(); // returns when asked to stop; the task is still there
/// stopper.join().unwrap();
/// assert!(*driver.state() > 0);
/// assert_eq!(driver.tasks().len(), 1);
/// ```
#[derive(Clone)]
pub struct RemoteHandle {
    pub(crate) core: Arc<RemoteCore>,
}

impl RemoteHandle {
    /// Wakes the task of `waiter` if it is still in that wait, like
    /// [`DriverHandle::wake`] but from any thread: for a
    /// [`Source`](super::Source) of your own whose event comes from another
    /// thread (its `register` should call
    /// [`Context::begin_outside_wait`](super::Context::begin_outside_wait),
    /// so that the driver waits for the wake instead of reporting a
    /// deadlock). From another thread the wake takes effect at the
    /// driver's next round; on the driver's own thread, at once.
    pub fn wake(&self, waiter: Waiter) -> Result<(), DriverGone> {
        if wake_from_anywhere(&self.core, waiter) {
            Ok(())
        } else {
            Err(DriverGone)
        }
    }

    /// Asks the driver to stop: its current run (`run`, `run_for`,
    /// `run_until`, `run_until_state`, `run_until_idle`, or a run inside
    /// tokio) returns `Ok(())` at the start of its next round, with every
    /// task left as it is; a driver not running now stops its next run at
    /// once. [`Driver::block_on`](super::Driver::block_on) does not stop:
    /// the request waits for the next run. Asking twice before a run takes
    /// the request stops one run.
    pub fn stop(&self) -> Result<(), DriverGone> {
        if self.core.request_stop() {
            Ok(())
        } else {
            Err(DriverGone)
        }
    }

    /// Whether the driver has been dropped.
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }
}

impl fmt::Debug for RemoteHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteHandle")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}
