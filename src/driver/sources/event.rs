//! [`Event`]: a latch, [`EventWait`], the source that waits for it, and
//! [`RemoteEvent`], which sets it from another thread.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use crate::driver::handle::DriverHandle;
use crate::driver::reactor::{DriverGone, Latch, RemoteCore, Shared, Waiter};
use crate::driver::report::WaitOn;
use crate::driver::source::{Context, Source};

/// A latch: once [`set`](Event::set), every wait on it returns at once, and
/// every task that was waiting is woken. For shutdown signals and "ready"
/// flags. Cloning gives another handle to the same event.
#[derive(Clone)]
pub struct Event {
    inner: Rc<EventInner>,
}

struct EventInner {
    id: u64,
    shared: Rc<Shared>,
    state: RefCell<(bool, Vec<Waiter>)>,
    /// A [`RemoteEvent`] was made: another thread may set it, so a wait on
    /// it is not a deadlock.
    remote: Cell<bool>,
}

impl DriverHandle {
    /// A new event (a latch).
    pub fn event(&self) -> Event {
        Event::new(self.shared())
    }
}

impl Event {
    fn new(shared: &Rc<Shared>) -> Event {
        let id = shared.reactor.borrow_mut().object_id();
        Event {
            inner: Rc::new(EventInner {
                id,
                shared: Rc::clone(shared),
                state: RefCell::new((false, Vec::new())),
                remote: Cell::new(false),
            }),
        }
    }

    /// Sets the event and wakes every task waiting on it.
    pub fn set(&self) {
        Latch::set(&*self.inner);
    }

    /// Whether the event is set.
    pub fn is_set(&self) -> bool {
        self.inner.state.borrow().0
    }

    /// The object's id, as shown in [`WaitOn`].
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// A setter of this event for other threads (`Send + Sync + Clone`):
    /// [`RemoteEvent::set`] sets it at the driver's next round, waking an
    /// idle driver at once. From now on a task waiting on the event is
    /// not a deadlock: the driver blocks until another thread sets it.
    ///
    /// ```
    /// use coshare::driver::{Driver, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// let mut driver = Driver::new(());
    /// let shutdown = driver.handle().event();
    /// let from_elsewhere = shutdown.remote();
    /// driver
    ///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> { t.wait_event(&shutdown) })
    ///     .unwrap();
    /// std::thread::spawn(move || from_elsewhere.set().unwrap());
    /// driver.run().unwrap();
    /// ```
    ///
    /// # Panics
    ///
    /// As [`DriverHandle::remote`].
    pub fn remote(&self) -> RemoteEvent {
        let weak: Weak<EventInner> = Rc::downgrade(&self.inner);
        self.inner.shared.add_latch(self.inner.id, weak);
        self.inner.remote.set(true);
        RemoteEvent {
            core: self.inner.shared.remote(),
            id: self.inner.id,
        }
    }
}

impl Latch for EventInner {
    fn set(&self) {
        let waiters = {
            let mut st = self.state.borrow_mut();
            st.0 = true;
            std::mem::take(&mut st.1)
        };
        for waiter in waiters {
            self.shared.wake(waiter);
        }
    }
}

/// Sets an [`Event`] from another thread: made by [`Event::remote`],
/// `Send + Sync + Clone`.
#[derive(Clone)]
pub struct RemoteEvent {
    core: Arc<RemoteCore>,
    id: u64,
}

impl RemoteEvent {
    /// Sets the event at the driver's next round (an idle driver wakes at
    /// once). `Err(DriverGone)` once the driver is dropped. Setting an
    /// event that was dropped meanwhile does nothing.
    pub fn set(&self) -> Result<(), DriverGone> {
        if self.core.push(|inbox| inbox.events.push(self.id)) {
            Ok(())
        } else {
            Err(DriverGone)
        }
    }

    /// The event's id, as shown in [`WaitOn`].
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl fmt::Debug for RemoteEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteEvent")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("id", &self.inner.id)
            .field("set", &self.is_set())
            .finish()
    }
}

/// Waits for an [`Event`] to be set: the source behind
/// [`Task::wait_event`](crate::driver::Task::wait_event), made by
/// [`wait::event`](crate::driver::wait::event).
pub struct EventWait<'a> {
    pub(crate) event: &'a Event,
    pub(crate) last: Option<Waiter>,
    /// Counted among the driver's outside waits (the event has a remote
    /// setter).
    pub(crate) outside: bool,
}

impl Source for EventWait<'_> {
    type Output = ();

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<()> {
        self.event.is_set().then_some(())
    }

    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
        self.last = Some(waiter);
        self.event.inner.state.borrow_mut().1.push(waiter);
        if self.event.inner.remote.get() {
            self.outside = true;
            cx.begin_outside_wait();
        }
    }

    fn unregister(&mut self, cx: &mut Context<'_>) {
        if let Some(last) = self.last.take() {
            self.event.inner.state.borrow_mut().1.retain(|w| *w != last);
        }
        if std::mem::take(&mut self.outside) {
            cx.end_outside_wait();
        }
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::Event {
            id: self.event.inner.id,
        }
    }
}
