//! Joining many tasks at once: the sources [`JoinAll`] and [`TryJoinAll`],
//! made by [`wait::join_all`](super::wait::join_all) and
//! [`wait::try_join_all`](super::wait::try_join_all).
//!
//! Both borrow a slice of handles and register one wait with every task
//! that has not finished; they take results only when they fire, so a
//! `select` that another source wins leaves every result in its handle.

use super::join::{JoinError, JoinHandle};
use super::reactor::Waiter;
use super::report::WaitOn;
use super::source::{Context, Source};

/// Registers `waiter` with every unfinished task of `handles`.
fn register_all<R>(handles: &[JoinHandle<R>], cx: &mut Context<'_>, waiter: Waiter) {
    let mut reactor = cx.shared().reactor.borrow_mut();
    for handle in handles {
        if let Some(entry) = reactor.tasks.entry_mut(handle.id) {
            entry.joiners.push(waiter);
        }
    }
}

/// Removes `waiter` from every task of `handles` that is still listed.
fn unregister_all<R>(handles: &[JoinHandle<R>], cx: &mut Context<'_>, waiter: Waiter) {
    let mut reactor = cx.shared().reactor.borrow_mut();
    for handle in handles {
        if let Some(entry) = reactor.tasks.entry_mut(handle.id) {
            entry.joiners.retain(|w| *w != waiter);
        }
    }
}

fn unfinished<R>(handles: &[JoinHandle<R>]) -> usize {
    handles.iter().filter(|h| !h.is_finished()).count()
}

/// Waits until every task of a slice of handles has finished, and takes
/// their results, in the order of the handles: the source behind
/// [`Task::join_all`](super::Task::join_all).
///
/// ```
/// use std::time::Duration;
///
/// use coshare::driver::{wait, DriverBuilder, Task};
/// use coshare::{select, Eff, Yields};
///
/// let mut driver = DriverBuilder::new().virtual_clock().build(());
/// let mut workers: Vec<_> = [30u64, 10, 20]
///     .into_iter()
///     .map(|ms| {
///         driver
///             .spawn(move |t: &mut Task<()>| -> Eff<Yields, u64> {
///                 t.sleep(Duration::from_millis(ms))?;
///                 Ok(ms)
///             })
///             .unwrap()
///     })
///     .collect();
/// let h = driver
///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, Vec<u64>> {
///         // All of them, or nothing if that takes more than 50 ms.
///         Ok(select!(t, {
///             all = wait::join_all(&mut workers) => all.into_iter().map(Result::unwrap).collect(),
///             () = wait::sleep(Duration::from_millis(50)) => Vec::new(),
///         }))
///     })
///     .unwrap();
/// assert_eq!(driver.block_on(h).unwrap().unwrap(), [30, 10, 20]);
/// ```
pub struct JoinAll<'a, R> {
    pub(crate) handles: &'a mut [JoinHandle<R>],
    pub(crate) last: Option<Waiter>,
}

impl<R> Source for JoinAll<'_, R> {
    type Output = Vec<Result<R, JoinError>>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<Self::Output> {
        if !self.handles.iter().all(JoinHandle::is_finished) {
            return None;
        }
        Some(
            self.handles
                .iter_mut()
                .map(|h| h.try_join().expect("finished"))
                .collect(),
        )
    }

    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
        register_all(self.handles, cx, waiter);
        self.last = Some(waiter);
    }

    fn unregister(&mut self, cx: &mut Context<'_>) {
        if let Some(waiter) = self.last.take() {
            unregister_all(self.handles, cx, waiter);
        }
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::JoinAll {
            tasks: unfinished(self.handles),
        }
    }
}

/// Waits until every task of a slice of handles has returned a value, or
/// one of them has ended without one: the source behind
/// [`Task::try_join_all`](super::Task::try_join_all).
///
/// Fires with `Ok(values)`, in the order of the handles, once every task
/// has returned; or, as soon as a task was cancelled, panicked or failed,
/// with `Err((index, error))` for the first such handle in the slice. Then
/// nothing else is taken: the other tasks go on (cancel them if they
/// should not, or spawn them in a [`Scope`](super::Scope), which does),
/// and the results of those that have returned stay in their handles.
pub struct TryJoinAll<'a, R> {
    pub(crate) handles: &'a mut [JoinHandle<R>],
    pub(crate) last: Option<Waiter>,
}

impl<R> Source for TryJoinAll<'_, R> {
    type Output = Result<Vec<R>, (usize, JoinError)>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<Self::Output> {
        if let Some(at) = self.handles.iter().position(|h| h.cell.has_failed()) {
            let error = match self.handles[at].try_join() {
                Some(Err(error)) => error,
                _ => unreachable!("a failed task has an error"),
            };
            return Some(Err((at, error)));
        }
        if !self.handles.iter().all(JoinHandle::is_finished) {
            return None;
        }
        let values = self
            .handles
            .iter_mut()
            .map(|h| match h.try_join() {
                Some(Ok(value)) => value,
                _ => unreachable!("every task returned"),
            })
            .collect();
        Some(Ok(values))
    }

    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
        register_all(self.handles, cx, waiter);
        self.last = Some(waiter);
    }

    fn unregister(&mut self, cx: &mut Context<'_>) {
        if let Some(waiter) = self.last.take() {
            unregister_all(self.handles, cx, waiter);
        }
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::JoinAll {
            tasks: unfinished(self.handles),
        }
    }
}
