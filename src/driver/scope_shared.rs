//! The books of a task scope, shared by the code that runs the scope and
//! its children: which children are live, how they failed, and the source
//! that waits for the last one. Also the errors a scope returns:
//! [`ScopeError`] and [`Failure`].
//!
//! ```text
//!   parent's frame ──Rc──┐
//!                        v
//!   ScopeShared { live: [child ids, spawn order], failures, flag, closing, waiter }
//!                        ^
//!   reactor: child's entry.finish = ScopedFinish { its JoinCell, Rc<ScopeShared> }
//! ```
//!
//! A child's end reaches its scope through its reactor entry
//! (`Finish::ended`), whatever ended it: a return, a panic caught by the
//! run loop, a cancellation. The first failure sets the scope's `flag` (the
//! level that interrupts the scope's body), requests the cancellation of
//! every live child, and wakes the parent; the end of the last child wakes
//! the parent's wait for the children. The scope holds the driver weakly:
//! it is kept by entries of the driver's own reactor.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};

use super::handle::DriverHandle;
use super::join::JoinCell;
use super::reactor::control::Flag;
use super::reactor::tasks::Finish;
use super::reactor::{Shared, Waiter};
use super::report::WaitOn;
use super::source::{Context, Source};
use crate::error::CoroutineId;

/// One failure in a task scope.
#[non_exhaustive]
pub enum Failure<E> {
    /// A child returned `Err(error)` (`task` is its id), or the scope's
    /// body did (`task` is `None`).
    Error {
        /// The child that failed, or `None` for the scope's body.
        task: Option<CoroutineId>,
        /// Its error.
        error: E,
    },
    /// A child panicked. The panic hook has already printed it.
    Panicked {
        /// The child that panicked.
        task: CoroutineId,
        /// The panic's payload; `None` if the panic happened while the
        /// child was being cancelled through the core (the payload went to
        /// the canceller).
        payload: Option<Box<dyn Any + Send + 'static>>,
    },
}

impl<E> Failure<E> {
    /// The child that failed, or `None` for the scope's body.
    pub fn task(&self) -> Option<CoroutineId> {
        match self {
            Failure::Error { task, .. } => *task,
            Failure::Panicked { task, .. } => Some(*task),
        }
    }

    /// The error, if this failure is one (not a panic).
    pub fn error(&self) -> Option<&E> {
        match self {
            Failure::Error { error, .. } => Some(error),
            Failure::Panicked { .. } => None,
        }
    }

    /// The error, if this failure is one (not a panic).
    pub fn into_error(self) -> Option<E> {
        match self {
            Failure::Error { error, .. } => Some(error),
            Failure::Panicked { .. } => None,
        }
    }

    /// Whether a child panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, Failure::Panicked { .. })
    }

    /// Resumes the child's panic on this stack if this failure is a panic
    /// with its payload; gives the failure back otherwise.
    pub fn resume_panic(self) -> Failure<E> {
        match self {
            Failure::Panicked {
                payload: Some(payload),
                ..
            } => std::panic::resume_unwind(payload),
            other => other,
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error { task, error } => f
                .debug_struct("Error")
                .field("task", task)
                .field("error", error)
                .finish(),
            Failure::Panicked { task, .. } => f
                .debug_struct("Panicked")
                .field("task", task)
                .finish_non_exhaustive(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error { task: None, error } => write!(f, "the scope's body failed: {error}"),
            Failure::Error {
                task: Some(task),
                error,
            } => write!(f, "task {task} failed: {error}"),
            Failure::Panicked { task, payload } => {
                write!(f, "task {task} panicked")?;
                match payload.as_deref().and_then(panic_text) {
                    Some(text) => write!(f, ": {text}"),
                    None => Ok(()),
                }
            }
        }
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// Why a task scope failed: every failure of its body and its children,
/// in the order they happened (under a virtual clock, a deterministic
/// order). [`first`](ScopeError::first) is the one that made the scope
/// cancel the rest; [`others`](ScopeError::others) are those that came
/// after it (a child that failed while, or instead of, being cancelled),
/// kept rather than dropped.
///
/// ```
/// use std::time::Duration;
///
/// use coshare::driver::{DriverBuilder, Failure, Task};
/// use coshare::{Eff, Yields};
///
/// let mut driver = DriverBuilder::new().virtual_clock().build(());
/// let error = driver
///     .scope(|s| {
///         for (n, ms) in [(1, 10u64), (2, 50)] {
///             s.spawn(move |t: &mut Task<()>| -> Eff<Yields, Result<(), String>> {
///                 // Shielded: child 2 goes on when child 1's failure
///                 // cancels it, and fails too.
///                 t.shield(|t| t.sleep(Duration::from_millis(ms)))?;
///                 Ok(Err(format!("child {n} failed")))
///             })
///             .unwrap();
///         }
///         Ok(())
///     })
///     .unwrap() // no deadlock
///     .unwrap_err();
/// assert_eq!(error.error().map(String::as_str), Some("child 1 failed"));
/// let later: Vec<_> = error.others().iter().filter_map(Failure::error).collect();
/// assert_eq!(later, ["child 2 failed"]);
/// ```
pub struct ScopeError<E> {
    /// Never empty.
    failures: Vec<Failure<E>>,
}

impl<E> ScopeError<E> {
    /// The first failure: the one that cancelled the rest of the scope.
    pub fn first(&self) -> &Failure<E> {
        &self.failures[0]
    }

    /// The failures after the first, in the order they happened.
    pub fn others(&self) -> &[Failure<E>] {
        &self.failures[1..]
    }

    /// The first failure, dropping the others.
    pub fn into_first(self) -> Failure<E> {
        self.failures
            .into_iter()
            .next()
            .expect("a scope error holds a failure")
    }

    /// Every failure, the first one first.
    pub fn into_failures(self) -> Vec<Failure<E>> {
        self.failures
    }

    /// The first failure's error, if it is one (not a panic).
    pub fn error(&self) -> Option<&E> {
        self.first().error()
    }
}

impl<E: fmt::Debug> fmt::Debug for ScopeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeError")
            .field("first", self.first())
            .field("others", &self.others())
            .finish()
    }
}

impl<E: fmt::Display> fmt::Display for ScopeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.first())?;
        match self.others().len() {
            0 => Ok(()),
            n => write!(f, " (and {n} more failure(s))"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for ScopeError<E> {}

/// The books of one task scope. See the module docs.
pub(crate) struct ScopeShared<E> {
    /// The task that runs the scope (woken when a child fails), or `None`
    /// for a scope on the main stack.
    parent: Option<CoroutineId>,
    driver: Weak<Shared>,
    /// Children that have not ended, in spawn order.
    live: RefCell<Vec<CoroutineId>>,
    failures: RefCell<Vec<Failure<E>>>,
    /// The scope's level in its parent's interrupt control: set on the
    /// first failure, so that the body's waits are interrupted.
    flag: Cell<bool>,
    /// The children are being cancelled: one spawned now starts cancelled.
    closing: Cell<bool>,
    /// The parent's wait for the last child's end.
    waiter: Cell<Option<Waiter>>,
}

/// The books are the flag of the scope's level (see
/// [`Level::flagged`](super::reactor::control::Level::flagged)).
impl<E> Flag for ScopeShared<E> {
    fn is_set(&self) -> bool {
        self.flag.get()
    }
}

impl<E> ScopeError<E> {
    /// The error of a scope whose body failed before it spawned anything.
    pub(crate) fn of_body(error: E) -> Self {
        ScopeError {
            failures: vec![Failure::Error { task: None, error }],
        }
    }
}

impl<E> ScopeShared<E> {
    pub(crate) fn new(parent: Option<CoroutineId>, handle: &DriverHandle) -> Self {
        ScopeShared {
            parent,
            driver: Rc::downgrade(handle.shared()),
            live: RefCell::new(Vec::new()),
            failures: RefCell::new(Vec::new()),
            flag: Cell::new(false),
            closing: Cell::new(false),
            waiter: Cell::new(None),
        }
    }

    /// How many children have not ended.
    pub(crate) fn live(&self) -> usize {
        self.live.borrow().len()
    }

    /// The live children, in spawn order.
    pub(crate) fn live_children(&self) -> Vec<CoroutineId> {
        self.live.borrow().clone()
    }

    /// A child was spawned (it is in the reactor already).
    pub(crate) fn added(&self, id: CoroutineId) {
        self.live.borrow_mut().push(id);
        if self.closing.get() {
            if let Some(shared) = self.driver.upgrade() {
                shared.reactor.borrow_mut().abort_task(id);
            }
        }
    }

    /// Records a failure; the scope reacts when the failed child's end
    /// reaches it (or, for the body's own, at once: see [`fail`](Self::fail)).
    pub(crate) fn record(&self, failure: Failure<E>) {
        self.failures.borrow_mut().push(failure);
    }

    /// The body failed: record it and cancel the children.
    pub(crate) fn fail(&self, failure: Failure<E>) {
        self.record(failure);
        self.react();
    }

    /// The failures so far, in order; `None` if there are none.
    pub(crate) fn take_error(&self) -> Option<ScopeError<E>> {
        let failures = std::mem::take(&mut *self.failures.borrow_mut());
        (!failures.is_empty()).then_some(ScopeError { failures })
    }

    /// Requests the cancellation of every live child, and of every child
    /// spawned from now on.
    pub(crate) fn close(&self) {
        self.closing.set(true);
        let Some(shared) = self.driver.upgrade() else {
            return;
        };
        let live = self.live_children();
        let mut reactor = shared.reactor.borrow_mut();
        for id in live {
            reactor.abort_task(id);
        }
    }

    /// Marks the scope closing without waking anyone: its children are
    /// about to be cancelled through the core, one by one.
    pub(crate) fn close_quietly(&self) {
        self.closing.set(true);
    }

    /// After a failure: set the flag (once), cancel the children, wake the
    /// parent so that its body's wait sees the flag.
    fn react(&self) {
        if self.failures.borrow().is_empty() || self.flag.get() {
            return;
        }
        self.flag.set(true);
        self.close();
        if let (Some(parent), Some(shared)) = (self.parent, self.driver.upgrade()) {
            shared.reactor.borrow_mut().wake_task(parent);
        }
    }

    /// A child ended and left the reactor.
    fn child_ended(&self, id: CoroutineId) {
        let empty = {
            let mut live = self.live.borrow_mut();
            live.retain(|c| *c != id);
            live.is_empty()
        };
        self.react();
        if empty {
            if let (Some(waiter), Some(shared)) = (self.waiter.take(), self.driver.upgrade()) {
                shared.wake(waiter);
            }
        }
    }
}

/// A scope's child, as the reactor's books see it: its join cell, and its
/// scope, which hears of its failure and its end.
pub(crate) struct ScopedFinish<R, E> {
    pub(crate) cell: Rc<JoinCell<R>>,
    pub(crate) scope: Rc<ScopeShared<E>>,
    /// The child's id, once spawned.
    pub(crate) id: Cell<Option<CoroutineId>>,
}

impl<R, E> Finish for ScopedFinish<R, E> {
    fn panicked(&self, payload: Option<Box<dyn Any + Send>>) {
        if self.cell.is_finished() {
            return;
        }
        self.cell.panicked(None);
        if let Some(task) = self.id.get() {
            self.scope.record(Failure::Panicked { task, payload });
        }
    }

    fn cancelled(&self) {
        self.cell.cancelled();
    }

    fn request_abort(&self) -> bool {
        self.cell.control.request_abort()
    }

    fn ended(&self, id: CoroutineId) {
        self.scope.child_ended(id);
    }
}

/// Routes a child's value: `Ok` to its handle, `Err` to its scope.
pub(crate) fn route<R, E>(
    cell: &JoinCell<R>,
    scope: &ScopeShared<E>,
    id: Option<CoroutineId>,
    value: Result<R, E>,
) {
    match value {
        Ok(value) => cell.returned(value),
        Err(error) => {
            cell.failed();
            scope.record(Failure::Error { task: id, error });
        }
    }
}

/// Fires when every child of a scope has ended.
pub(crate) struct ScopeDone<'a, E>(pub(crate) &'a ScopeShared<E>);

impl<E> Source for ScopeDone<'_, E> {
    type Output = ();

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<()> {
        (self.0.live() == 0).then_some(())
    }

    fn register(&mut self, _cx: &mut Context<'_>, waiter: Waiter) {
        self.0.waiter.set(Some(waiter));
    }

    fn unregister(&mut self, _cx: &mut Context<'_>) {
        self.0.waiter.set(None);
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::Scope {
            children: self.0.live(),
        }
    }
}
