//! Task scopes on the main stack: [`Driver::scope`] and [`DriverScope`].
//!
//! The same books as a task's scope (`scope_shared.rs`); the main stack
//! cannot wait, so after the body the scope runs the driver until the last
//! child has ended.

use std::ops::{Deref, DerefMut};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use super::join::{FinishGuard, JoinHandle};
use super::report::Deadlock;
use super::run::Driver;
use super::scope::spawn_child;
use super::scope_shared::{Failure, ScopeError, ScopeShared};
use super::task::Task;
use crate::effect::{Eff, Yields};
use crate::error::SpawnError;
use crate::options::SpawnOptions;

/// A task scope's handle on the main stack, inside the body of
/// [`Driver::scope`]: spawns the scope's children, and derefs to the
/// [`Driver`]. It cannot leave the body.
pub struct DriverScope<'s, S: 'static, E: 'static> {
    driver: &'s mut Driver<S>,
    shared: Rc<ScopeShared<E>>,
}

impl<S: 'static, E: 'static> DriverScope<'_, S, E> {
    /// Spawns a child into the scope; see [`Scope::spawn`](super::Scope::spawn).
    pub fn spawn<R, F>(&mut self, body: F) -> Result<JoinHandle<R>, SpawnError<F>>
    where
        R: 'static,
        F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, Result<R, E>> + 'static,
    {
        self.spawn_with(&SpawnOptions::new(), body)
    }

    /// Spawns a child into the scope with a name and/or stack size.
    pub fn spawn_with<R, F>(
        &mut self,
        options: &SpawnOptions,
        body: F,
    ) -> Result<JoinHandle<R>, SpawnError<F>>
    where
        R: 'static,
        F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, Result<R, E>> + 'static,
    {
        let handle = self.driver.handle().clone();
        let stage = self.driver.stage_mut();
        spawn_child(
            |wrapper| stage.spawn_with(options, wrapper),
            handle,
            &self.shared,
            options,
            body,
        )
    }

    /// Cancels every child, and every child spawned from now on, by
    /// request; see [`Scope::cancel_all`](super::Scope::cancel_all).
    pub fn cancel_all(&self) {
        self.shared.close();
    }

    /// How many children have not ended yet.
    pub fn live_children(&self) -> usize {
        self.shared.live()
    }
}

impl<S: 'static, E: 'static> Deref for DriverScope<'_, S, E> {
    type Target = Driver<S>;

    fn deref(&self) -> &Driver<S> {
        self.driver
    }
}

impl<S: 'static, E: 'static> DerefMut for DriverScope<'_, S, E> {
    fn deref_mut(&mut self) -> &mut Driver<S> {
        self.driver
    }
}

impl<S: 'static, E: 'static> std::fmt::Debug for DriverScope<'_, S, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverScope")
            .field("live_children", &self.shared.live())
            .finish_non_exhaustive()
    }
}

impl<S: 'static> Driver<S> {
    /// Runs `body` as a task scope on the main stack: the tasks it spawns
    /// with [`DriverScope::spawn`] end before this call returns. After the
    /// body, the driver runs (all its tasks, not only the scope's) until
    /// the last child has ended. The rules are those of
    /// [`Task::scope`](super::Task::scope): a failure (a child's `Err` or
    /// panic, or the body's `Err`) cancels the other children by request,
    /// and the result is `Ok(Err(ScopeError))` with every failure in order.
    ///
    /// If the children can no longer end (every task waits and nothing can
    /// wake them), they are cancelled through the core and the
    /// [`Deadlock`] is returned. If the body panics, the children are
    /// cancelled through the core before the panic goes on.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use coshare::driver::{DriverBuilder, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// let mut driver = DriverBuilder::new().virtual_clock().build(0u64);
    /// let total = driver
    ///     .scope(|s| {
    ///         let handles: Vec<_> = (1..=3u64)
    ///             .map(|n| {
    ///                 s.spawn(move |t: &mut Task<u64>| -> Eff<Yields, Result<u64, String>> {
    ///                     t.sleep(Duration::from_millis(10 * n))?;
    ///                     *t.state() += n;
    ///                     Ok(Ok(n * n))
    ///                 })
    ///                 .unwrap()
    ///             })
    ///             .collect();
    ///         Ok::<_, String>(handles)
    ///     })
    ///     .unwrap() // no deadlock
    ///     .unwrap() // no failure
    ///     .into_iter()
    ///     .map(|mut h| h.try_join().unwrap().unwrap())
    ///     .sum::<u64>();
    /// assert_eq!((total, *driver.state()), (14, 6));
    /// assert_eq!(driver.now().since_start(), Duration::from_millis(30));
    /// ```
    pub fn scope<T, E, F>(&mut self, body: F) -> Result<Result<T, ScopeError<E>>, Deadlock>
    where
        E: 'static,
        F: FnOnce(&mut DriverScope<'_, S, E>) -> Result<T, E>,
    {
        let shared = Rc::new(ScopeShared::new(None, self.handle()));
        let ran = panic::catch_unwind(AssertUnwindSafe(|| {
            body(&mut DriverScope {
                driver: &mut *self,
                shared: Rc::clone(&shared),
            })
        }));
        let value = match ran {
            Ok(Ok(value)) => Some(value),
            Ok(Err(error)) => {
                shared.fail(Failure::Error { task: None, error });
                None
            }
            Err(payload) => {
                self.cancel_children_now(&shared);
                panic::resume_unwind(payload);
            }
        };
        let watched = Rc::clone(&shared);
        if let Err(deadlock) = self.run_until_state(move |_| watched.live() == 0) {
            self.cancel_children_now(&shared);
            return Err(deadlock);
        }
        if let Some(error) = shared.take_error() {
            return Ok(Err(error));
        }
        Ok(Ok(
            value.expect("the body returned a value, or the scope failed")
        ))
    }

    /// Cancels every live child of the scope through the core, in spawn
    /// order.
    fn cancel_children_now<E>(&mut self, shared: &ScopeShared<E>) {
        shared.close_quietly();
        let handle = self.handle().clone();
        let reactor = handle.shared();
        for id in shared.live_children() {
            let Some(target) = reactor.reactor.borrow().tasks.handle(id) else {
                continue;
            };
            let _finish = FinishGuard::new(reactor, id);
            // Not running (this is the main stack): the cancellation ends.
            let _ = self.stage_mut().cancel(target);
        }
    }
}
