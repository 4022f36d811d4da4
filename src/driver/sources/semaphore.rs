//! [`Semaphore`]: a counting semaphore for resources held across waits
//! (connection pools, rate limits), its [`Permit`], and [`Acquire`], the
//! source that waits for permits.
//!
//! Waiters are served first in, first out: when permits come back, they go
//! to the longest-waiting task whose request they cover, and a task that
//! asks for more than are left makes the tasks behind it wait too (no
//! barging). Permits handed to a waiter that gives up before it takes them
//! (it is cancelled, its scope expires, another source of its `select`
//! fires) are passed on, so none is lost.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use crate::driver::handle::DriverHandle;
use crate::driver::reactor::{Shared, Waiter};
use crate::driver::report::WaitOn;
use crate::driver::source::{Context, Source};

struct SemState {
    available: usize,
    /// Waits for permits, in the order they started, with how many each
    /// wants.
    waiters: VecDeque<(Waiter, usize)>,
    /// Waits that were handed their permits and have not taken them yet.
    handed: Vec<(Waiter, usize)>,
}

struct SemInner {
    id: u64,
    shared: Rc<Shared>,
    state: RefCell<SemState>,
}

/// A counting semaphore. Made by [`DriverHandle::semaphore`]; tasks wait
/// for permits with [`Task::acquire`](crate::driver::Task::acquire) and
/// [`Task::acquire_many`](crate::driver::Task::acquire_many), or in a
/// `select` with [`wait::acquire`](crate::driver::wait::acquire); any code
/// can [`try_acquire`](Semaphore::try_acquire). A [`Permit`] gives its
/// permits back when dropped. Cloning gives another handle to the same
/// semaphore. None of its methods switches stacks.
///
/// ```
/// use std::time::Duration;
///
/// use coshare::driver::{DriverBuilder, Task};
/// use coshare::{Eff, Yields};
///
/// // At most two connections at a time.
/// let mut driver = DriverBuilder::new().virtual_clock().build(Vec::<String>::new());
/// let pool = driver.handle().semaphore(2);
/// for n in 0..3 {
///     let pool = pool.clone();
///     driver
///         .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
///             let _permit = t.acquire(&pool)?;
///             let now = t.now();
///             t.state().push(format!("{n} connects at {now}"));
///             t.sleep(Duration::from_secs(1))?;
///             Ok(()) // the permit goes back here
///         })
///         .unwrap();
/// }
/// driver.run().unwrap();
/// assert_eq!(
///     driver.state(),
///     &["0 connects at 0ns", "1 connects at 0ns", "2 connects at 1s"]
/// );
/// ```
#[derive(Clone)]
pub struct Semaphore {
    inner: Rc<SemInner>,
}

impl DriverHandle {
    /// A new semaphore holding `permits` permits.
    pub fn semaphore(&self, permits: usize) -> Semaphore {
        let shared = self.shared();
        let id = shared.reactor.borrow_mut().object_id();
        Semaphore {
            inner: Rc::new(SemInner {
                id,
                shared: Rc::clone(shared),
                state: RefCell::new(SemState {
                    available: permits,
                    waiters: VecDeque::new(),
                    handed: Vec::new(),
                }),
            }),
        }
    }
}

impl Semaphore {
    /// Takes one permit if one is free and no task waits for permits.
    pub fn try_acquire(&self) -> Option<Permit> {
        self.try_acquire_many(1)
    }

    /// Takes `permits` permits if they are free and no task waits for
    /// permits (which would be served first).
    pub fn try_acquire_many(&self, permits: usize) -> Option<Permit> {
        let mut st = self.inner.state.borrow_mut();
        if st.waiters.is_empty() && st.available >= permits {
            st.available -= permits;
            return Some(Permit {
                semaphore: self.clone(),
                permits,
            });
        }
        None
    }

    /// Adds `permits` permits (they go to waiting tasks first).
    pub fn add_permits(&self, permits: usize) {
        self.inner.state.borrow_mut().available += permits;
        self.hand_out();
    }

    /// How many permits are free now (not held, not handed to a waiting
    /// task).
    pub fn available_permits(&self) -> usize {
        self.inner.state.borrow().available
    }

    /// The object's id, as shown in [`WaitOn`].
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// Hands free permits to the longest-waiting tasks while they cover
    /// the first one's request.
    fn hand_out(&self) {
        loop {
            let next = {
                let mut st = self.inner.state.borrow_mut();
                match st.waiters.front() {
                    Some(&(waiter, wanted)) if wanted <= st.available => {
                        st.waiters.pop_front();
                        Some((waiter, wanted))
                    }
                    _ => None,
                }
            };
            let Some((waiter, wanted)) = next else {
                return;
            };
            // A task that is no longer in that wait (another source of its
            // select woke it) is skipped: it polls, and takes free permits
            // itself or waits again.
            if self.inner.shared.wake(waiter) {
                let mut st = self.inner.state.borrow_mut();
                st.available -= wanted;
                st.handed.push((waiter, wanted));
            }
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.borrow();
        f.debug_struct("Semaphore")
            .field("id", &self.inner.id)
            .field("available", &st.available)
            .field("waiting", &st.waiters.len())
            .finish()
    }
}

/// Permits of a [`Semaphore`], given back when dropped (which never
/// switches stacks: it only wakes the next waiting task).
#[must_use = "dropping a permit gives it back at once"]
pub struct Permit {
    semaphore: Semaphore,
    permits: usize,
}

impl Permit {
    /// How many permits this holds.
    pub fn permits(&self) -> usize {
        self.permits
    }

    /// Keeps the permits for good: the semaphore has that many fewer.
    pub fn forget(mut self) {
        self.permits = 0;
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.semaphore.add_permits(self.permits);
        }
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("semaphore", &self.semaphore.inner.id)
            .field("permits", &self.permits)
            .finish()
    }
}

/// Waits for permits of a [`Semaphore`]: the source behind
/// [`Task::acquire`](crate::driver::Task::acquire), made by
/// [`wait::acquire`](crate::driver::wait::acquire) and
/// [`wait::acquire_many`](crate::driver::wait::acquire_many).
pub struct Acquire<'a> {
    pub(crate) semaphore: &'a Semaphore,
    pub(crate) permits: usize,
    pub(crate) last: Option<Waiter>,
}

impl Source for Acquire<'_> {
    type Output = Permit;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<Permit> {
        let mut st = self.semaphore.inner.state.borrow_mut();
        let handed = self
            .last
            .and_then(|last| st.handed.iter().position(|(w, _)| *w == last));
        if let Some(at) = handed {
            st.handed.swap_remove(at);
        } else if st.waiters.is_empty() && st.available >= self.permits {
            st.available -= self.permits;
        } else {
            return None;
        }
        self.last = None;
        Some(Permit {
            semaphore: self.semaphore.clone(),
            permits: self.permits,
        })
    }

    fn register(&mut self, _cx: &mut Context<'_>, waiter: Waiter) {
        self.last = Some(waiter);
        self.semaphore
            .inner
            .state
            .borrow_mut()
            .waiters
            .push_back((waiter, self.permits));
        self.semaphore.hand_out();
    }

    fn unregister(&mut self, _cx: &mut Context<'_>) {
        if let Some(last) = self.last {
            self.semaphore
                .inner
                .state
                .borrow_mut()
                .waiters
                .retain(|(w, _)| *w != last);
        }
    }

    fn abandon(&mut self, _cx: &mut Context<'_>) {
        let Some(last) = self.last.take() else {
            return;
        };
        let returned = {
            let mut st = self.semaphore.inner.state.borrow_mut();
            match st.handed.iter().position(|(w, _)| *w == last) {
                Some(at) => {
                    let (_, wanted) = st.handed.swap_remove(at);
                    st.available += wanted;
                    true
                }
                None => false,
            }
        };
        if returned {
            self.semaphore.hand_out();
        }
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::Semaphore {
            id: self.semaphore.inner.id,
            permits: self.permits,
        }
    }
}
