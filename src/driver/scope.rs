//! Task scopes (nurseries) in a task: [`Task::scope`] and [`Scope`].
//!
//! A scope is a level of the task's interrupt control (so a failing child
//! interrupts the body's waits) plus its books (`scope_shared.rs`), both
//! made when the first child is spawned: a scope that spawns nothing costs
//! no allocation. (The level can wait until then: the scope handle is
//! usable only at the body's own level, where no inner level is open.)
//! The body runs; then the scope waits for every child, cancelling them
//! first if the body failed, a child failed, or something interrupts the
//! task; then it reports. A panic of the body, and a cancellation of the
//! task through the core, cancel the children through the core at once
//! (the task cannot wait any more), before the scope's frame is left.

use std::ops::{Deref, DerefMut};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use super::handle::DriverHandle;
use super::interrupts::LevelGuard;
use super::join::{FinishGuard, JoinCell, JoinHandle};
use super::reactor::control::{Flag, Level};
use super::reactor::tasks::Finish;
use super::scope_shared::{Failure, ScopeDone, ScopeError, ScopeShared, ScopedFinish, route};
use super::task::{Task, Wrapped, spawn_task_with};
use crate::effect::{Eff, Interrupt, Yields};
use crate::error::{ErrorKind, SpawnError};
use crate::handle::Handle;
use crate::options::SpawnOptions;

/// A task scope's handle, inside the scope's body: spawns the scope's
/// children, and derefs to the [`Task`] that runs the scope, so the body
/// waits and uses the state through it as usual. Made by
/// [`Task::scope`]; it cannot leave the body (its lifetime is the body's),
/// so no task can be spawned into a scope that has ended.
pub struct Scope<'s, 'a, S: 'static, E: 'static> {
    task: &'s mut Task<'a, S>,
    books: &'s mut Option<Books<'a, E>>,
}

/// A scope's books and its level, once it has a child.
struct Books<'a, E> {
    shared: Rc<ScopeShared<E>>,
    level: LevelGuard<'a>,
}

impl<'a, S: 'static, E: 'static> Scope<'_, 'a, S, E> {
    /// The scope's books, made with its level at the first spawn.
    fn shared(&mut self) -> Rc<ScopeShared<E>> {
        let task = &*self.task;
        let books = self.books.get_or_insert_with(|| {
            let shared = Rc::new(ScopeShared::new(Some(task.co.id()), task.handle));
            let flag: Rc<dyn Flag> = shared.clone();
            let level = LevelGuard::enter(task.control, task.handle, Level::flagged(flag));
            Books { shared, level }
        });
        Rc::clone(&books.shared)
    }

    /// Spawns a child into the scope: a task like any other, ready at once,
    /// sharing the state under the usual rule. Its body is `'static` (it
    /// borrows nothing from the body that spawns it) and returns
    /// `Result<R, E>`: `Ok(value)` goes to the returned [`JoinHandle`],
    /// `Err(error)` fails the scope (the handle then says
    /// [`JoinError::Failed`](super::JoinError::Failed)). A panic fails the
    /// scope too, with the payload.
    ///
    /// A child spawned after the scope started cancelling (see
    /// [`Task::scope`]) is cancelled at once: its body never runs.
    pub fn spawn<R, F>(&mut self, body: F) -> Result<JoinHandle<R>, SpawnError<F>>
    where
        R: 'static,
        F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, Result<R, E>> + 'static,
    {
        self.spawn_with(&SpawnOptions::new(), body)
    }

    /// [`spawn`](Scope::spawn) with a name and/or stack size.
    pub fn spawn_with<R, F>(
        &mut self,
        options: &SpawnOptions,
        body: F,
    ) -> Result<JoinHandle<R>, SpawnError<F>>
    where
        R: 'static,
        F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, Result<R, E>> + 'static,
    {
        let shared = self.shared();
        let handle = self.task.handle.clone();
        let co = &mut *self.task.co;
        spawn_child(
            |wrapper| co.spawn_with(options, wrapper),
            handle,
            &shared,
            options,
            body,
        )
    }

    /// Cancels every child of the scope, and every child spawned from now
    /// on, by request (as [`JoinHandle::abort`] does: their cleanup may
    /// wait in a shield). The body goes on, and the scope waits for the
    /// children's ends as usual. Cancelled children are not failures.
    pub fn cancel_all(&mut self) {
        self.shared().close();
    }

    /// How many children have not ended yet.
    pub fn live_children(&self) -> usize {
        self.books.as_ref().map_or(0, |b| b.shared.live())
    }
}

impl<'a, S: 'static, E: 'static> Deref for Scope<'_, 'a, S, E> {
    type Target = Task<'a, S>;

    fn deref(&self) -> &Task<'a, S> {
        self.task
    }
}

impl<S: 'static, E: 'static> DerefMut for Scope<'_, '_, S, E> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.task
    }
}

impl<S: 'static, E: 'static> std::fmt::Debug for Scope<'_, '_, S, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("task", &self.task.id())
            .field("live_children", &self.live_children())
            .finish_non_exhaustive()
    }
}

impl<'a, S: 'static> Task<'a, S> {
    /// Runs `body` as a task scope (a nursery): tasks spawned into it with
    /// [`Scope::spawn`] end before the scope does.
    ///
    /// * **The call returns only when every child has ended.** After the
    ///   body returns, the scope waits for its children. That wait is a
    ///   wait point even when there is no child: an interrupt that became
    ///   visible during the body (an enclosing deadline that passed inside
    ///   a shield) arrives there, as at any wait.
    /// * **A failure cancels the rest.** If a child returns `Err` or
    ///   panics, or the body returns `Err`, every other child is cancelled
    ///   (by request: their cleanup may wait in a shield) and so is the
    ///   body (its current wait returns `Err(Interrupt)`, which the scope
    ///   stops when the body returns it); then the scope waits for the
    ///   children and returns `Ok(Err(ScopeError))`. The first failure is
    ///   [`ScopeError::first`]; failures that came after it are
    ///   [`ScopeError::others`], in order, never dropped. A value the body
    ///   returned is dropped then.
    /// * **A stopped parent stops its children first.** If something
    ///   interrupts the task while it runs the scope (an enclosing cancel
    ///   scope expires, or the task's cancellation is requested), the
    ///   children are cancelled by request and the scope waits for them,
    ///   shielded, before passing the interrupt on (unless a child failed:
    ///   then it reports that, and the interrupt, which does not go away,
    ///   interrupts the next wait). If the task is cancelled through the
    ///   core ([`Driver::cancel`](super::Driver::cancel), [`Task::cancel`],
    ///   dropping the driver), or the body panics, it cannot wait: the
    ///   children are cancelled through the core at once, in spawn order,
    ///   and their errors are dropped with the scope.
    /// * **Children borrow nothing from the body** (their bodies are
    ///   `'static`), and share the state under the usual rule. The scope
    ///   handle cannot leave the body.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use coshare::driver::{DriverBuilder, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// let mut driver = DriverBuilder::new().virtual_clock().build(Vec::<String>::new());
    /// let h = driver
    ///     .spawn(|t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
    ///         let outcome = t.scope(|s| {
    ///             for n in 1..=3u64 {
    ///                 s.spawn(move |t: &mut Task<Vec<String>>| {
    ///                     t.sleep(Duration::from_secs(n))?;
    ///                     if n == 2 {
    ///                         return Ok(Err(format!("child {n} failed")));
    ///                     }
    ///                     t.state().push(format!("child {n} done"));
    ///                     Ok(Ok(()))
    ///                 })
    ///                 .unwrap();
    ///             }
    ///             Ok(Ok(()))
    ///         })?;
    ///         let error = outcome.unwrap_err();
    ///         let now = t.now();
    ///         t.state().push(format!("{} at {now}", error.error().unwrap()));
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// driver.block_on(h).unwrap().unwrap();
    /// // Child 3 was cancelled when child 2 failed.
    /// assert_eq!(driver.state(), &["child 1 done", "child 2 failed at 2s"]);
    /// ```
    #[track_caller]
    pub fn scope<T, E, F>(&mut self, body: F) -> Eff<Yields, Result<T, ScopeError<E>>>
    where
        E: 'static,
        F: FnOnce(&mut Scope<'_, '_, S, E>) -> Eff<Yields, Result<T, E>>,
    {
        let mut books: Option<Books<'a, E>> = None;
        let ran = panic::catch_unwind(AssertUnwindSafe(|| {
            body(&mut Scope {
                task: &mut *self,
                books: &mut books,
            })
        }));
        let outcome = match ran {
            Ok(outcome) => outcome,
            Err(payload) => {
                // The body panicked (or is unwound by force): no waiting
                // now. The children end first, then the unwinding goes on.
                if let Some(Books { shared, level }) = books {
                    drop(level);
                    self.cancel_children_now(&shared);
                }
                panic::resume_unwind(payload);
            }
        };
        let Some(Books { shared, level }) = books else {
            // No child: the scope is its body. Its end is still a wait point,
            // as the wait for children would be: an interrupt that became
            // visible there (an enclosing deadline that passed inside a
            // shield) arrives now, unless the body failed.
            let outcome = outcome?;
            if outcome.is_ok() {
                self.interrupt_point()?;
            }
            return Ok(outcome.map_err(ScopeError::of_body));
        };
        let mut passing: Option<Interrupt<Yields>> = None;
        let mut value = None;
        match outcome {
            Ok(Ok(v)) => value = Some(v),
            Ok(Err(error)) => shared.fail(Failure::Error { task: None, error }),
            Err(interrupt) => {
                if self.co.is_cancelling() {
                    drop(level);
                    self.cancel_children_now(&shared);
                    return Err(interrupt);
                }
                if !level.owns_interrupt() {
                    // An enclosing scope's, or the task's cancellation.
                    passing = Some(interrupt);
                }
                // Otherwise the scope's own (a failure cancelled it): it
                // stops here, and the failure is reported below.
            }
        }
        drop(level);
        if passing.is_some() {
            shared.close();
        }
        self.join_children(&shared, &mut passing)?;
        if let Some(error) = shared.take_error() {
            return Ok(Err(error));
        }
        if let Some(interrupt) = passing {
            return Err(interrupt);
        }
        Ok(Ok(
            value.expect("the body returned a value, or the scope failed")
        ))
    }

    /// Waits until every child of the scope has ended. If something
    /// interrupts the wait, the children are cancelled and the wait goes
    /// on, shielded; the interrupt goes to `passing`. A cancellation
    /// through the core ends it at once, after cancelling the children
    /// through the core.
    #[track_caller]
    fn join_children<E>(
        &mut self,
        shared: &ScopeShared<E>,
        passing: &mut Option<Interrupt<Yields>>,
    ) -> Eff<Yields, ()> {
        if passing.is_none() {
            match self.wait(ScopeDone(shared)) {
                Ok(()) => return Ok(()),
                Err(interrupt) => {
                    if self.co.is_cancelling() {
                        self.cancel_children_now(shared);
                        return Err(interrupt);
                    }
                    *passing = Some(interrupt);
                    shared.close();
                }
            }
        }
        match self.shield(|t| t.wait(ScopeDone(shared))) {
            Ok(()) => Ok(()),
            Err(interrupt) => {
                self.cancel_children_now(shared);
                Err(interrupt)
            }
        }
    }

    /// Cancels every live child through the core, in spawn order, on this
    /// task's stack. A child that cannot be cancelled now (it is on the
    /// chain of resumes: it is cancelling this task) is cancelled by
    /// request instead.
    fn cancel_children_now<E>(&mut self, shared: &ScopeShared<E>) {
        shared.close_quietly();
        let reactor = self.handle.shared();
        for id in shared.live_children() {
            let Some(target) = reactor.reactor.borrow().tasks.handle(id) else {
                continue;
            };
            let mut finish = FinishGuard::new(reactor, id);
            let result = self.co.cancel(target);
            if matches!(&result, Ok(Err(e)) if e.kind() == ErrorKind::Running) {
                finish.disarm();
                drop(finish);
                reactor.reactor.borrow_mut().abort_task(id);
            }
        }
    }
}

/// Spawns a child of the scope whose books are `shared`, through `spawn`
/// (a task's `Co`, or the driver's stage for a [`DriverScope`](super::DriverScope)):
/// its `Ok` goes to its handle, its `Err` to the scope, and the scope
/// counts it until it ends.
pub(crate) fn spawn_child<S, R, E, F, Sp>(
    spawn: Sp,
    handle: DriverHandle,
    shared: &Rc<ScopeShared<E>>,
    options: &SpawnOptions,
    body: F,
) -> Result<JoinHandle<R>, SpawnError<F>>
where
    S: 'static,
    R: 'static,
    E: 'static,
    F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, Result<R, E>> + 'static,
    Sp: FnOnce(Wrapped<S>) -> Result<Handle<(), (), ()>, SpawnError<Wrapped<S>>>,
{
    let cell = Rc::new(JoinCell::new());
    let finish = Rc::new(ScopedFinish {
        cell: Rc::clone(&cell),
        scope: Rc::clone(shared),
        id: std::cell::Cell::new(None),
    });
    let sink = Rc::clone(&finish);
    let spawned = spawn_task_with(
        spawn,
        handle,
        options,
        body,
        cell,
        Rc::clone(&finish) as Rc<dyn Finish>,
        move |value| route(&sink.cell, &sink.scope, sink.id.get(), value),
    )?;
    finish.id.set(Some(spawned.id()));
    shared.added(spawned.id());
    Ok(spawned)
}
