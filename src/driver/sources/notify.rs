//! [`Notify`]: wakes waiting tasks on demand, and [`Notified`], the source
//! that waits for it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use crate::driver::handle::DriverHandle;
use crate::driver::reactor::{Shared, Waiter};
use crate::driver::report::WaitOn;
use crate::driver::source::{Context, Source};

struct NotifyState {
    permit: bool,
    waiters: VecDeque<Waiter>,
    /// Waiters that were handed a notification and have not consumed it
    /// yet, each with whether it was `notify_one`'s (exclusive: passed on
    /// if the waiter gives up) or `notify_waiters`' (meant for the tasks
    /// waiting then: dropped if the waiter gives up).
    notified: Vec<(Waiter, bool)>,
}

/// Wakes waiting tasks on demand: the primitive for external callbacks.
///
/// [`notify_one`](Notify::notify_one) wakes the longest-waiting task, or,
/// if none waits, stores one permit that the next wait consumes at once.
/// [`notify_waiters`](Notify::notify_waiters) wakes every task waiting now
/// and stores nothing. A `notify_one` notification handed to a task that
/// gives up before it takes it (it is cancelled, or another source of its
/// `select` fired first) is passed on to the next waiter, or stored as the
/// permit, so none is lost; a `notify_waiters` notification is not passed
/// on.
///
/// Cloning gives another handle to the same object.
#[derive(Clone)]
pub struct Notify {
    inner: Rc<NotifyInner>,
}

struct NotifyInner {
    id: u64,
    shared: Rc<Shared>,
    state: RefCell<NotifyState>,
}

impl DriverHandle {
    /// A new notify object, for signalling tasks from anywhere.
    pub fn notify(&self) -> Notify {
        Notify::new(self.shared())
    }
}

impl Notify {
    fn new(shared: &Rc<Shared>) -> Notify {
        let id = shared.reactor.borrow_mut().object_id();
        Notify {
            inner: Rc::new(NotifyInner {
                id,
                shared: Rc::clone(shared),
                state: RefCell::new(NotifyState {
                    permit: false,
                    waiters: VecDeque::new(),
                    notified: Vec::new(),
                }),
            }),
        }
    }

    /// Wakes the longest-waiting task, or stores a permit if none waits.
    pub fn notify_one(&self) {
        loop {
            let next = self.inner.state.borrow_mut().waiters.pop_front();
            match next {
                Some(waiter) => {
                    if self.inner.shared.wake(waiter) {
                        self.inner.state.borrow_mut().notified.push((waiter, true));
                        return;
                    }
                }
                None => {
                    self.inner.state.borrow_mut().permit = true;
                    return;
                }
            }
        }
    }

    /// Wakes every task waiting now. Stores no permit.
    pub fn notify_waiters(&self) {
        let waiters = std::mem::take(&mut self.inner.state.borrow_mut().waiters);
        for waiter in waiters {
            if self.inner.shared.wake(waiter) {
                self.inner.state.borrow_mut().notified.push((waiter, false));
            }
        }
    }

    /// The object's id, as shown in [`WaitOn`].
    pub fn id(&self) -> u64 {
        self.inner.id
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.borrow();
        f.debug_struct("Notify")
            .field("id", &self.inner.id)
            .field("permit", &st.permit)
            .field("waiting", &st.waiters.len())
            .finish()
    }
}

/// Waits for a [`Notify`]: the source behind
/// [`Task::notified`](crate::driver::Task::notified), made by
/// [`wait::notified`](crate::driver::wait::notified).
pub struct Notified<'a> {
    pub(crate) notify: &'a Notify,
    pub(crate) last: Option<Waiter>,
}

impl Source for Notified<'_> {
    type Output = ();

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<()> {
        let mut st = self.notify.inner.state.borrow_mut();
        if let Some(last) = self.last {
            if let Some(at) = st.notified.iter().position(|(w, _)| *w == last) {
                st.notified.swap_remove(at);
                self.last = None;
                return Some(());
            }
        }
        if st.permit {
            st.permit = false;
            return Some(());
        }
        None
    }

    fn register(&mut self, _cx: &mut Context<'_>, waiter: Waiter) {
        self.last = Some(waiter);
        self.notify
            .inner
            .state
            .borrow_mut()
            .waiters
            .push_back(waiter);
    }

    fn unregister(&mut self, _cx: &mut Context<'_>) {
        if let Some(last) = self.last {
            self.notify
                .inner
                .state
                .borrow_mut()
                .waiters
                .retain(|w| *w != last);
        }
    }

    fn abandon(&mut self, _cx: &mut Context<'_>) {
        let exclusive = {
            let mut st = self.notify.inner.state.borrow_mut();
            match self
                .last
                .and_then(|last| st.notified.iter().position(|(w, _)| *w == last))
            {
                Some(at) => st.notified.swap_remove(at).1,
                None => false,
            }
        };
        self.last = None;
        if exclusive {
            self.notify.notify_one();
        }
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::Notify {
            id: self.notify.inner.id,
        }
    }
}
