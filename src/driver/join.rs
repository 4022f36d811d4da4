//! Joining tasks: [`JoinHandle`] and its drop policy ([`AbortOnDrop`]),
//! [`JoinError`], the [`JoinWait`] source, and the end of a task's
//! bookkeeping.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::panic;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;

use super::handle::DriverHandle;
use super::reactor::control::Control;
use super::reactor::tasks::Finish;
use super::reactor::{Shared, Waiter};
use super::report::WaitOn;
use super::source::{Context, Source};
use crate::error::{CoroutineId, Error};

/// How a task ended, when it did not return a value.
pub enum JoinError {
    /// The task was cancelled before it returned.
    Cancelled,
    /// The task panicked; this is the original payload (`None` if it was
    /// already taken, or the panic happened while the task was being
    /// cancelled by another task).
    Panicked(Option<Box<dyn Any + Send + 'static>>),
    /// The result was already taken by an earlier join.
    AlreadyJoined,
    /// The task was a child of a task scope and returned an error: the
    /// error went to its scope, which reports it (see
    /// [`ScopeError`](super::ScopeError)).
    Failed,
}

impl JoinError {
    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// Resumes the task's panic on this stack, if this is one with a
    /// payload; returns the error otherwise.
    pub fn resume_panic(self) -> JoinError {
        match self {
            JoinError::Panicked(Some(payload)) => panic::resume_unwind(payload),
            other => other,
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("Cancelled"),
            JoinError::Panicked(_) => f.write_str("Panicked(..)"),
            JoinError::AlreadyJoined => f.write_str("AlreadyJoined"),
            JoinError::Failed => f.write_str("Failed"),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("the task was cancelled before it returned"),
            JoinError::Panicked(payload) => {
                f.write_str("the task panicked")?;
                let message = payload.as_ref().and_then(|p| {
                    p.downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                });
                match message {
                    Some(message) => write!(f, ": {message}"),
                    None => Ok(()),
                }
            }
            JoinError::AlreadyJoined => f.write_str("the task's result was already taken"),
            JoinError::Failed => f.write_str("the task failed; its error went to its scope"),
        }
    }
}

impl std::error::Error for JoinError {}

/// Where a task is, as its joiner sees it.
pub(crate) enum JoinState<R> {
    Running,
    Returned(R),
    Cancelled,
    Panicked(Option<Box<dyn Any + Send + 'static>>),
    Failed,
    Taken,
}

/// Where a task's result waits for its joiner, and the task's interrupt
/// control, which its handle needs to request its cancellation.
pub(crate) struct JoinCell<R> {
    pub(crate) control: Control,
    pub(crate) outcome: RefCell<JoinState<R>>,
    /// Async code awaiting the handle, if any.
    waker: Cell<Option<std::task::Waker>>,
}

impl<R> Finish for JoinCell<R> {
    fn panicked(&self, payload: Option<Box<dyn Any + Send>>) {
        {
            let mut outcome = self.outcome.borrow_mut();
            if !matches!(*outcome, JoinState::Running) {
                return;
            }
            *outcome = JoinState::Panicked(payload);
        }
        self.wake_async();
    }

    fn cancelled(&self) {
        {
            let mut outcome = self.outcome.borrow_mut();
            if !matches!(*outcome, JoinState::Running) {
                return;
            }
            *outcome = JoinState::Cancelled;
        }
        self.wake_async();
    }

    fn request_abort(&self) -> bool {
        self.control.request_abort()
    }
}

impl<R> JoinCell<R> {
    pub(crate) fn new() -> Self {
        JoinCell {
            control: Control::new(),
            outcome: RefCell::new(JoinState::Running),
            waker: Cell::new(None),
        }
    }

    /// Records the value the task's body returned.
    pub(crate) fn returned(&self, value: R) {
        *self.outcome.borrow_mut() = JoinState::Returned(value);
        self.wake_async();
    }

    /// Wakes async code awaiting the handle.
    fn wake_async(&self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    /// Records that the task, a scope's child, returned an error, which
    /// went to its scope.
    pub(crate) fn failed(&self) {
        *self.outcome.borrow_mut() = JoinState::Failed;
    }

    pub(crate) fn is_finished(&self) -> bool {
        !matches!(*self.outcome.borrow(), JoinState::Running)
    }

    /// Whether the task has finished without a value (so a
    /// `try_join_all` fails), without taking anything.
    pub(crate) fn has_failed(&self) -> bool {
        matches!(
            *self.outcome.borrow(),
            JoinState::Cancelled | JoinState::Panicked(_) | JoinState::Failed | JoinState::Taken
        )
    }

    pub(crate) fn take(&self) -> Option<Result<R, JoinError>> {
        let mut outcome = self.outcome.borrow_mut();
        match std::mem::replace(&mut *outcome, JoinState::Taken) {
            JoinState::Running => {
                *outcome = JoinState::Running;
                None
            }
            JoinState::Returned(value) => Some(Ok(value)),
            JoinState::Cancelled => Some(Err(JoinError::Cancelled)),
            JoinState::Panicked(payload) => Some(Err(JoinError::Panicked(payload))),
            JoinState::Failed => Some(Err(JoinError::Failed)),
            JoinState::Taken => Some(Err(JoinError::AlreadyJoined)),
        }
    }
}

/// The result of a spawned task. Join it from a task with
/// [`Task::join`](super::Task::join), or from the main stack with
/// [`Driver::block_on`](super::Driver::block_on) or
/// [`JoinHandle::try_join`].
///
/// # Drop policy
///
/// Dropping a `JoinHandle` **detaches** its task: the task keeps running,
/// and its result is dropped when it ends. Say so with
/// [`detach`](JoinHandle::detach) where it is meant. For a task that must
/// not outlive its handle, turn the handle into an [`AbortOnDrop`] with
/// [`abort_on_drop`](JoinHandle::abort_on_drop) (the policy of smol's
/// `Task` and tokio's `JoinSet`), or spawn it into a task scope
/// ([`Task::scope`](super::Task::scope)), which outlives none of its
/// tasks. A scope's child is its scope's: dropping its handle changes
/// nothing.
///
/// ```
/// use std::time::Duration;
///
/// use coshare::driver::{DriverBuilder, Task};
/// use coshare::{Eff, Yields};
///
/// let mut driver = DriverBuilder::new().virtual_clock().build(Vec::<&str>::new());
/// driver
///     .spawn(|t: &mut Task<Vec<&str>>| -> Eff<Yields, ()> {
///         t.sleep(Duration::from_secs(1))?;
///         t.state().push("detached: finished");
///         Ok(())
///     })
///     .unwrap()
///     .detach();
/// let guard = driver
///     .spawn(|t: &mut Task<Vec<&str>>| -> Eff<Yields, ()> {
///         t.sleep(Duration::from_secs(1))?;
///         t.state().push("guarded: finished");
///         Ok(())
///     })
///     .unwrap()
///     .abort_on_drop();
/// driver.run_until_idle(); // both sleep
/// drop(guard); // requests the cancellation; switches no stack
/// driver.run().unwrap();
/// assert_eq!(driver.state(), &["detached: finished"]);
/// ```
pub struct JoinHandle<R> {
    pub(crate) id: CoroutineId,
    pub(crate) name: Option<Rc<str>>,
    pub(crate) cell: Rc<JoinCell<R>>,
    pub(crate) driver: DriverHandle,
}

impl<R> JoinHandle<R> {
    /// The task's coroutine id.
    pub fn id(&self) -> CoroutineId {
        self.id
    }

    /// Whether the task has finished (returned, was cancelled, or panicked).
    pub fn is_finished(&self) -> bool {
        self.cell.is_finished()
    }

    /// Takes the result if the task has finished; `None` if it has not.
    pub fn try_join(&mut self) -> Option<Result<R, JoinError>> {
        self.cell.take()
    }

    /// Requests the task's cancellation, without waiting for it and without
    /// switching stacks, so it may be called from anywhere (a destructor,
    /// a `with_state` closure, the main stack).
    ///
    /// The task's current wait, or its next one if it is ready or running,
    /// returns `Err(Interrupt)`, as for a cancellation, and so does every
    /// later wait of the task; a task that has not started yet never runs.
    /// Inside a shield ([`Task::shield`](super::Task::shield)) the request
    /// waits until the shield ends, so cleanup code can still wait there.
    /// The task unwinds when the driver runs it next; join it to know when
    /// it has: its joiner sees [`JoinError::Cancelled`], or the value its
    /// body returned if it handled the interrupt. Aborting a finished task
    /// does nothing.
    ///
    /// [`Driver::cancel`](super::Driver::cancel) and
    /// [`Task::cancel`](super::Task::cancel) are the immediate form: they
    /// run the task's cleanup to its end at once, on the caller's stack,
    /// where a wait cannot wait (see [`Task::shield`](super::Task::shield)).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use coshare::driver::{DriverBuilder, JoinError, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// let mut driver = DriverBuilder::new().virtual_clock().build(Vec::<String>::new());
    /// let worker = driver
    ///     .spawn(|t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
    ///         let slept = t.sleep(Duration::from_secs(60));
    ///         let now = t.now();
    ///         t.state().push(format!("interrupted at {now}: {}", slept.is_err()));
    ///         slept
    ///     })
    ///     .unwrap();
    /// driver.run_for(Duration::from_secs(1)).unwrap();
    /// worker.abort();
    /// assert!(matches!(driver.block_on(worker).unwrap(), Err(JoinError::Cancelled)));
    /// assert_eq!(driver.state(), &["interrupted at 1s: true"]);
    /// ```
    pub fn abort(&self) {
        self.driver
            .shared()
            .reactor
            .borrow_mut()
            .abort_task(self.id);
    }

    /// Lets the task run on without a handle: the same as dropping the
    /// handle, said out loud (see the drop policy above).
    pub fn detach(self) {}

    /// Turns the handle into one that aborts its task when dropped (see
    /// [`abort`](JoinHandle::abort)).
    pub fn abort_on_drop(self) -> AbortOnDrop<R> {
        AbortOnDrop { handle: Some(self) }
    }

    /// The task's name, if it was spawned with one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// A [`JoinHandle`] that aborts its task when dropped: the task does not
/// outlive the handle (by more than the time its cleanup takes). Made by
/// [`JoinHandle::abort_on_drop`].
///
/// It derefs to the `JoinHandle`, so it can be joined, waited on
/// (`t.join(&mut guard)`) and aborted like one.
/// [`detach_handle`](AbortOnDrop::detach_handle) gives the plain handle
/// back, which detaches again when dropped.
///
/// Dropping it never switches stacks: like
/// [`abort`](JoinHandle::abort), it only requests the cancellation, which
/// the task receives when the driver runs it next. So it may be kept
/// anywhere, the shared state included.
///
/// ```
/// use std::time::Duration;
///
/// use coshare::driver::{AbortOnDrop, DriverBuilder, Task};
/// use coshare::{Eff, Yields};
///
/// struct Session {
///     keepalive: Option<AbortOnDrop<()>>,
///     pings: u32,
/// }
///
/// let mut driver = DriverBuilder::new()
///     .virtual_clock()
///     .build(Session { keepalive: None, pings: 0 });
/// let pinger = driver
///     .spawn(|t: &mut Task<Session>| -> Eff<Yields, ()> {
///         loop {
///             t.sleep(Duration::from_secs(1))?;
///             t.state().pings += 1;
///         }
///     })
///     .unwrap();
/// driver.state().keepalive = Some(pinger.abort_on_drop());
/// driver.run_for(Duration::from_millis(3500)).unwrap();
/// driver.state().keepalive = None; // the session ends: so does its pinger
/// driver.run().unwrap();
/// assert_eq!(driver.state().pings, 3);
/// ```
pub struct AbortOnDrop<R> {
    /// Always `Some` but while [`detach_handle`](AbortOnDrop::detach_handle)
    /// takes it.
    handle: Option<JoinHandle<R>>,
}

impl<R> AbortOnDrop<R> {
    /// Gives the plain handle back: the task no longer ends with this
    /// guard.
    pub fn detach_handle(mut self) -> JoinHandle<R> {
        self.handle.take().expect("taken only here")
    }
}

impl<R> std::ops::Deref for AbortOnDrop<R> {
    type Target = JoinHandle<R>;

    fn deref(&self) -> &JoinHandle<R> {
        self.handle.as_ref().expect("taken only by detach_handle")
    }
}

impl<R> std::ops::DerefMut for AbortOnDrop<R> {
    fn deref_mut(&mut self) -> &mut JoinHandle<R> {
        self.handle.as_mut().expect("taken only by detach_handle")
    }
}

impl<R> Drop for AbortOnDrop<R> {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.abort();
        }
    }
}

impl<R> fmt::Debug for AbortOnDrop<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AbortOnDrop").field(&**self).finish()
    }
}

/// Awaits the task's end from async code on the driver's thread, while
/// something runs the driver: a tokio `LocalSet` or current-thread
/// runtime that also runs `Driver::run_async` (feature `tokio`),
/// say. The output is what [`Task::join`](super::Task::join) gives. (A
/// task joins with `t.join(&mut handle)`, not by awaiting.)
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use coshare::driver::{Driver, Task};
/// use coshare::{Eff, Yields};
///
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// let local = tokio::task::LocalSet::new();
/// let mut driver = Driver::new(());
/// let h = driver
///     .spawn(|t: &mut Task<()>| -> Eff<Yields, u32> {
///         t.sleep(std::time::Duration::from_millis(1))?;
///         Ok(7)
///     })
///     .unwrap();
/// let answer = local.block_on(&rt, async move {
///     let waiting = tokio::task::spawn_local(h); // async code awaits the task
///     driver.run_async().await;
///     waiting.await.unwrap()
/// });
/// assert_eq!(answer.unwrap(), 7);
/// # }
/// ```
impl<R> Future for JoinHandle<R> {
    type Output = Result<R, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        match self.cell.take() {
            Some(result) => Poll::Ready(result),
            None => {
                self.cell.waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        }
    }
}

impl<R> fmt::Debug for JoinHandle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Waits for a task to finish: the source behind
/// [`Task::join`](super::Task::join), made by [`wait::join`](super::wait::join).
pub struct JoinWait<'a, R> {
    pub(crate) handle: &'a mut JoinHandle<R>,
    pub(crate) last: Option<Waiter>,
}

impl<R> Source for JoinWait<'_, R> {
    type Output = Result<R, JoinError>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<Result<R, JoinError>> {
        self.handle.cell.take()
    }

    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
        let mut reactor = cx.shared().reactor.borrow_mut();
        if let Some(entry) = reactor.tasks.entry_mut(self.handle.id) {
            entry.joiners.push(waiter);
            self.last = Some(waiter);
        }
    }

    fn unregister(&mut self, cx: &mut Context<'_>) {
        if let Some(last) = self.last.take() {
            let mut reactor = cx.shared().reactor.borrow_mut();
            if let Some(entry) = reactor.tasks.entry_mut(self.handle.id) {
                entry.joiners.retain(|w| *w != last);
            }
        }
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::Join {
            task: self.handle.id,
            name: self.handle.name.clone(),
        }
    }
}

/// Ends a task's bookkeeping after a cancellation reached it (also if the
/// cancellation panicked): marks its result and wakes its joiners.
pub(crate) struct FinishGuard<'a> {
    shared: &'a Shared,
    id: CoroutineId,
    armed: bool,
}

impl<'a> FinishGuard<'a> {
    pub(crate) fn new(shared: &'a Shared, id: CoroutineId) -> Self {
        FinishGuard {
            shared,
            id,
            armed: true,
        }
    }

    /// The cancellation did not reach the task: leave its bookkeeping.
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for FinishGuard<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let panicking = std::thread::panicking();
        finish_task(self.shared, self.id, |finish| {
            if panicking {
                finish.panicked(None);
            } else {
                finish.cancelled();
            }
        });
    }
}

pub(crate) fn finished_error<R>(handle: &JoinHandle<R>) -> Error {
    Error::new(crate::error::Detail::Finished, Some(handle.id)).with_name(handle.name.as_deref())
}

/// Marks the task's result with `mark` (if still running) and removes the
/// task from the reactor, waking its joiners. The entry (which may hold the
/// last reference to the task's result) is dropped outside the reactor's
/// borrow, since the result's destructor may use channels.
pub(crate) fn finish_task(shared: &Shared, id: CoroutineId, mark: impl FnOnce(&dyn Finish)) {
    let entry = {
        let mut reactor = shared.reactor.borrow_mut();
        let Some(entry) = reactor.tasks.entry(id) else {
            return;
        };
        mark(&*entry.finish);
        shared.ended.set(shared.ended.get() + 1);
        reactor.remove_task(id)
    };
    if let Some(entry) = &entry {
        entry.finish.ended(id);
    }
    drop(entry);
}
