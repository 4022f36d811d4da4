//! Futures as sources: [`FutureWait`], polled with a real, `Send + Sync`
//! `std::task::Waker`; and [`Blocking`], a closure on a thread pool.
//!
//! The future's waker and the task's wait meet in a small shared record,
//! under a mutex:
//!
//! ```text
//! poll:       woken := false; poll the future with the waker
//! register:   if woken { wake the task now } else { waiter := the wait }
//! waker:      woken := true; take waiter; wake it (from any thread)
//! unregister: waiter := none
//! ```
//!
//! A wake that comes between a poll that returned `Pending` and the
//! registration (from another thread, or from the future itself during
//! its poll) finds no waiter, sets `woken`, and the registration sees it;
//! so no wake is lost. A wake from another thread goes through the
//! driver's remote core; one from the driver's own thread marks the task
//! ready directly (see `reactor/mod.rs`). A waker that outlives its driver
//! does nothing when woken.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Wake};

use crate::driver::reactor::{RemoteCore, Waiter, wake_from_anywhere};
use crate::driver::report::WaitOn;
use crate::driver::source::{Context, Source};

/// Where a future's waker and its task's wait meet.
struct FutureWake {
    core: Arc<RemoteCore>,
    state: Mutex<WakeState>,
}

#[derive(Default)]
struct WakeState {
    /// Woken since the last poll.
    woken: bool,
    /// The task's current wait, while it waits.
    waiter: Option<Waiter>,
}

impl FutureWake {
    fn state(&self) -> MutexGuard<'_, WakeState> {
        // Nothing panics under this lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A record for a wait of the driver behind `cx`: the one a finished
    /// wait of this thread left, if it is that driver's, or a new one.
    fn for_driver(cx: &Context<'_>) -> Arc<FutureWake> {
        let core = cx
            .shared()
            .reactor
            .borrow()
            .remote
            .as_ref()
            .map(|core| core.id);
        if let Some(spare) = SPARE.with(Cell::take) {
            if Some(spare.core.id) == core {
                return spare;
            }
        }
        Arc::new(FutureWake {
            core: cx.handle().shared().remote(),
            state: Mutex::new(WakeState::default()),
        })
    }
}

thread_local! {
    /// The record of the last finished wait whose waker nobody kept: the
    /// next wait on a future reuses it, so that awaiting a future that is
    /// ready at once allocates nothing.
    static SPARE: Cell<Option<Arc<FutureWake>>> = const { Cell::new(None) };
}

impl Wake for FutureWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waiter = {
            let mut st = self.state();
            st.woken = true;
            st.waiter.take()
        };
        if let Some(waiter) = waiter {
            // A driver that is gone refuses the wake: nothing to do.
            wake_from_anywhere(&self.core, waiter);
        }
    }
}

/// Waits for a future: the source behind
/// [`Task::wait_future`](crate::driver::Task::wait_future), made by
/// [`wait::future`](crate::driver::wait::future) for a `select`.
///
/// The future is polled on the task's stack, inside the wait, with a
/// `std::task::Waker` that is `Send + Sync`: woken from another thread (a
/// thread pool, another runtime, a timer crate) it wakes the driver
/// through its remote core, woken from the driver's own thread it marks
/// the task ready directly. The source holds the future until it
/// completes; dropping the source (a `select` another source won, or the
/// task's cancellation) drops the future, which is how a future is
/// cancelled in async Rust. Once the future has completed the source never
/// fires again.
///
/// While a task waits on a future the driver does not call the wait a
/// deadlock: the future may be woken from elsewhere at any time.
#[must_use = "a source does nothing until a task waits on it"]
pub struct FutureWait<F> {
    future: Option<F>,
    wake: Option<Arc<FutureWake>>,
    waker: Option<std::task::Waker>,
    /// Registered, and counted among the driver's outside waits.
    waiting: bool,
}

impl<F: Future + Unpin> FutureWait<F> {
    pub(crate) fn new(future: F) -> Self {
        FutureWait {
            future: Some(future),
            wake: None,
            waker: None,
            waiting: false,
        }
    }

    /// The future, if it has not completed.
    pub fn into_future(mut self) -> Option<F> {
        self.future.take()
    }
}

impl<F> Drop for FutureWait<F> {
    /// Keeps the wait's record for the next wait of this thread, if no
    /// waker of it is left anywhere (the future, if it kept one, is still
    /// alive here, so its record is not reused).
    fn drop(&mut self) {
        self.waker = None;
        if let Some(mut wake) = self.wake.take() {
            if let Some(record) = Arc::get_mut(&mut wake) {
                *record
                    .state
                    .get_mut()
                    .unwrap_or_else(PoisonError::into_inner) = WakeState::default();
                let _ = SPARE.try_with(|spare| spare.set(Some(wake)));
            }
        }
    }
}

impl<F: Future + Unpin> Source for FutureWait<F> {
    type Output = F::Output;

    fn poll(&mut self, cx: &mut Context<'_>) -> Option<F::Output> {
        let future = self.future.as_mut()?;
        let waker = match (&self.wake, &self.waker) {
            (Some(wake), Some(waker)) => {
                wake.state().woken = false;
                waker
            }
            _ => {
                let wake = FutureWake::for_driver(cx);
                self.wake = Some(Arc::clone(&wake));
                self.waker.insert(std::task::Waker::from(wake))
            }
        };
        match Pin::new(future).poll(&mut std::task::Context::from_waker(waker)) {
            Poll::Ready(output) => {
                self.future = None;
                Some(output)
            }
            Poll::Pending => None,
        }
    }

    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
        let Some(wake) = &self.wake else {
            return; // completed: nothing will come
        };
        let woken = {
            let mut st = wake.state();
            if !st.woken {
                st.waiter = Some(waiter);
            }
            st.woken
        };
        if woken {
            cx.handle().wake(waiter);
        } else {
            self.waiting = true;
            cx.begin_outside_wait();
        }
    }

    fn unregister(&mut self, cx: &mut Context<'_>) {
        if let Some(wake) = &self.wake {
            wake.state().waiter = None;
        }
        if std::mem::take(&mut self.waiting) {
            cx.end_outside_wait();
        }
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::custom("a future")
    }
}

impl<F> std::fmt::Debug for FutureWait<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FutureWait")
            .field("completed", &self.future.is_none())
            .finish_non_exhaustive()
    }
}

/// Waits for a closure running on the blocking thread pool: the source
/// behind [`Task::blocking`](crate::driver::Task::blocking), made by
/// [`wait::blocking`](crate::driver::wait::blocking) (and behind the file
/// and name-lookup helpers).
///
/// The closure starts on the pool when the source is made (the pool is the
/// `blocking` crate's: threads are started as needed, up to 500, and end
/// after a second idle). If the wait ends without its output (a `select`
/// another source won, or a cancellation), a closure that has started keeps
/// running to its end and its output is dropped: a thread cannot be
/// stopped from outside. One that had not started yet does not run.
#[must_use = "a source does nothing until a task waits on it"]
pub struct Blocking<T> {
    inner: FutureWait<blocking::Task<T>>,
}

impl<T: Send + 'static> Blocking<T> {
    pub(crate) fn new(work: impl FnOnce() -> T + Send + 'static) -> Self {
        Blocking {
            inner: FutureWait::new(blocking::unblock(work)),
        }
    }
}

impl<T> Source for Blocking<T> {
    type Output = T;

    fn poll(&mut self, cx: &mut Context<'_>) -> Option<T> {
        self.inner.poll(cx)
    }

    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
        self.inner.register(cx, waiter);
    }

    fn unregister(&mut self, cx: &mut Context<'_>) {
        self.inner.unregister(cx);
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::custom("blocking work on the thread pool")
    }
}

impl<T> std::fmt::Debug for Blocking<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blocking")
            .field("completed", &self.inner.future.is_none())
            .finish_non_exhaustive()
    }
}
