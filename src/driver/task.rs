//! [`Task`]: the capability a driver task receives, its waiting methods,
//! and the one loop that parks a task on a [`Source`].

use std::cell::Cell;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;
use std::time::Duration;

use super::handle::DriverHandle;
use super::interrupts;
use super::join::{FinishGuard, JoinCell, JoinError, JoinHandle, finished_error};
use super::reactor::Instant;
use super::reactor::control::Control;
use super::reactor::tasks::Finish;
use super::source::{Context, Source};
use super::sources::channel::{RecvError, SendError, Sender};
use super::sources::event::Event;
use super::sources::notify::Notify;
use super::sources::receive::Receive;
use super::sources::semaphore::{Permit, Semaphore};
use super::sources::time::Interval;
use super::wait;
use crate::co::Co;
use crate::effect::{Eff, Yields};
use crate::error::{CoroutineId, Error, ErrorKind, SpawnError};
use crate::handle::Handle;
use crate::options::SpawnOptions;

/// The capability a driver task receives: the shared state, and the
/// driver's waiting operations.
///
/// Every waiting method takes `&mut self` and returns `Eff<Yields, _>`: it
/// is a yield point, so no reference into the state may be alive across
/// it, and a cancellation arrives there as `Err(Interrupt)`. Helpers that
/// only touch the state can be written against
/// [`StateAccess`](crate::StateAccess), which `Task`, [`Co`], the
/// [`Driver`](super::Driver) and the [`Stage`](crate::Stage) implement.
///
/// `Task` is `!Send` and `!Sync`, like everything that can reach a stage.
pub struct Task<'a, S: 'static> {
    pub(crate) co: &'a mut Co<S>,
    pub(crate) handle: &'a DriverHandle,
    /// What interrupts this task's waits besides a cancellation: its
    /// cancel scopes, task scopes, shields, and a requested cancellation.
    pub(crate) control: &'a Control,
}

impl<S: 'static> Task<'_, S> {
    /// The shared state, borrowed until the next use of the task.
    #[inline]
    pub fn state(&mut self) -> &mut S {
        self.co.state()
    }

    /// Runs `f` on the shared state; `f` cannot wait.
    #[inline]
    pub fn with_state<T>(&mut self, f: impl FnOnce(&mut S) -> T) -> T {
        self.co.with_state(f)
    }

    /// This task's id.
    pub fn id(&self) -> CoroutineId {
        self.co.id()
    }

    /// This task's name, if it was spawned with one.
    pub fn name(&self) -> Option<Rc<str>> {
        let id = self.co.id();
        let reactor = self.handle.shared().reactor.borrow();
        reactor.tasks.entry(id).and_then(|e| e.name.clone())
    }

    /// The driver's current time.
    pub fn now(&self) -> Instant {
        self.handle.now()
    }

    /// The driver's handle, which makes channels, notify objects, events,
    /// intervals and sockets.
    pub fn handle(&self) -> &DriverHandle {
        self.handle
    }

    /// Waits until `source` fires and returns its output: the one loop
    /// behind every waiting method (see [`Source`] for the protocol). A
    /// source that is ready at once costs one poll, inlined into the caller.
    ///
    /// Inside an expired cancel scope, or once the task's cancellation was
    /// requested, a wait returns `Err(Interrupt)` without polling (see
    /// [`Task::timeout`]). (A `Future` is awaited with
    /// [`wait_future`](Task::wait_future).)
    #[inline(always)]
    #[track_caller]
    pub fn wait<Src: Source>(&mut self, mut source: Src) -> Eff<Yields, Src::Output> {
        self.interrupt_point()?;
        match source.poll(&mut Context::new(self.handle)) {
            Some(out) => Ok(out),
            None => self.park_on(source),
        }
    }

    /// The rest of [`wait`](Task::wait) once the first poll found nothing:
    /// park until woken, then poll again. Inlined into each wait: it keeps
    /// the state of the wait in the caller's frame, across the switch, and
    /// saves a call and its register spills per park (about a tenth of a
    /// driver hop, counted in instructions; see `benches/RESULTS.md`).
    #[inline(always)]
    #[track_caller]
    fn park_on<Src: Source>(&mut self, mut source: Src) -> Eff<Yields, Src::Output> {
        let id = self.co.id();
        let mut cx = Context::new(self.handle);
        loop {
            // (The description is built inside the call: built before the
            // borrow, it costs a copy per park.)
            #[cfg(feature = "tracing")]
            tracing::trace!(
                target: "coshare::wait",
                wait = %source.wait_on(),
                at = %At(Location::caller()),
                "wait starts"
            );
            let waiter = self.handle.shared().reactor.borrow_mut().begin_wait(
                id,
                source.wait_on(),
                Location::caller(),
            );
            source.register(&mut cx, waiter);
            // If the coroutine is unwound by force while parked, the guard
            // still removes the registrations and passes on any wake-up.
            let mut guard = Registered {
                source: &mut source,
                handle: self.handle,
                armed: true,
            };
            let woke = self.co.suspend(());
            #[cfg(feature = "tracing")]
            tracing::trace!(
                target: "coshare::wait",
                at = %At(Location::caller()),
                interrupted = woke.is_err(),
                "wait ends"
            );
            guard.armed = false;
            guard.source.unregister(&mut cx);
            let woke = woke.and_then(|()| self.interrupt_point());
            if let Err(interrupt) = woke {
                guard.source.abandon(&mut cx);
                return Err(interrupt);
            }
            if let Some(out) = guard.source.poll(&mut cx) {
                return Ok(out);
            }
        }
    }

    /// Waits for whichever source in the HList fires first and tells which
    /// one, as a frunk `Coproduct` of their outputs; the others are left as
    /// they were (see [`Source`]). Sources are polled left to right, so the
    /// leftmost ready one wins.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use coshare::driver::{wait, DriverBuilder, Task};
    /// use coshare::{Eff, Yields};
    /// use frunk::{hlist, Coproduct};
    ///
    /// let mut driver = DriverBuilder::new().virtual_clock().build(());
    /// let (_tx, mut rx) = driver.handle().channel::<&str>(4);
    /// let shutdown = driver.handle().event();
    /// let h = driver
    ///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, &'static str> {
    ///         let fired = t.select(hlist![
    ///             wait::recv(&mut rx),
    ///             wait::sleep(Duration::from_secs(5)),
    ///             wait::event(&shutdown),
    ///         ])?;
    ///         Ok(match fired {
    ///             Coproduct::Inl(_message) => "message",
    ///             Coproduct::Inr(Coproduct::Inl(())) => "timeout",
    ///             Coproduct::Inr(Coproduct::Inr(_)) => "shutdown",
    ///         })
    ///     })
    ///     .unwrap();
    /// assert_eq!(driver.block_on(h).unwrap().unwrap(), "timeout");
    /// ```
    #[inline]
    #[track_caller]
    pub fn select<L: Source>(&mut self, sources: L) -> Eff<Yields, L::Output> {
        self.wait(sources)
    }

    /// Sleeps for `duration` of driver time.
    #[track_caller]
    pub fn sleep(&mut self, duration: Duration) -> Eff<Yields, ()> {
        self.wait(wait::sleep(duration))
    }

    /// Sleeps until `deadline` (returns at once if it has passed).
    #[track_caller]
    pub fn sleep_until(&mut self, deadline: Instant) -> Eff<Yields, ()> {
        self.wait(wait::until(deadline))
    }

    /// `Err(Interrupt)` if a cancel scope or a requested cancellation
    /// interrupts this task's waits now (see [`Task::timeout`]): one test
    /// of a flag unless the task is inside a scope or was asked to stop.
    #[inline(always)]
    pub(crate) fn interrupt_point(&self) -> Eff<Yields, ()> {
        if self.control.is_armed() {
            return interrupts::check(self.control, self.handle, self.co.id());
        }
        Ok(())
    }

    /// Whether this task is being cancelled: by [`Driver::cancel`](super::Driver::cancel)
    /// or [`Task::cancel`] (a wait has returned their interrupt), or by a
    /// requested cancellation ([`JoinHandle::abort`], or its task scope
    /// cancelling it), which may still be held off by a shield. An expired
    /// cancel scope is not a cancellation of the task: it does not count.
    pub fn is_cancelled(&self) -> bool {
        self.co.is_cancelling() || self.control.is_aborted()
    }

    /// Lets every other ready task run, then continues.
    #[track_caller]
    pub fn yield_now(&mut self) -> Eff<Yields, ()> {
        self.interrupt_point()?;
        let id = self.co.id();
        self.handle.shared().reactor.borrow_mut().requeue(id);
        self.co.suspend(())?;
        self.interrupt_point()
    }

    /// Receives the next message of a [`Receiver`](super::Receiver) or a
    /// [`RemoteReceiver`](super::RemoteReceiver), waiting while the channel
    /// is empty. `Err(RecvError)` once every sender is gone and the channel
    /// is empty.
    #[inline(always)]
    #[track_caller]
    pub fn recv<R: Receive>(&mut self, rx: &mut R) -> Eff<Yields, Result<R::Item, RecvError>> {
        self.wait(wait::recv(rx))
    }

    /// Receives the next message, waiting at most `timeout`. `Ok(None)` on
    /// timeout; the channel is left untouched then.
    #[track_caller]
    pub fn recv_timeout<R: Receive>(
        &mut self,
        rx: &mut R,
        timeout: Duration,
    ) -> Eff<Yields, Option<Result<R::Item, RecvError>>> {
        use frunk::Coproduct;
        Ok(
            match self.select(frunk::hlist![wait::recv(rx), wait::sleep(timeout)])? {
                Coproduct::Inl(received) => Some(received),
                Coproduct::Inr(_) => None,
            },
        )
    }

    /// Sends a message, waiting while the channel is full (back-pressure).
    /// `Err(SendError(msg))` gives the message back if the receiver is gone.
    /// If the task is cancelled while waiting, the message is dropped with
    /// it; it was never in the channel. (To keep it, wait on
    /// [`wait::send`] by `&mut`; see [`SendWait`](super::SendWait).)
    #[inline(always)]
    #[track_caller]
    pub fn send<T>(&mut self, tx: &Sender<T>, msg: T) -> Eff<Yields, Result<(), SendError<T>>> {
        self.wait(wait::send(tx, msg))
    }

    /// Waits for a notification from `notify`.
    #[track_caller]
    pub fn notified(&mut self, notify: &Notify) -> Eff<Yields, ()> {
        self.wait(wait::notified(notify))
    }

    /// Waits until `event` is set (returns at once if it is).
    #[track_caller]
    pub fn wait_event(&mut self, event: &Event) -> Eff<Yields, ()> {
        self.wait(wait::event(event))
    }

    /// Waits for the next tick of `interval` and returns when it was due.
    #[track_caller]
    pub fn tick(&mut self, interval: &mut Interval) -> Eff<Yields, Instant> {
        self.wait(wait::tick(interval))
    }

    /// Waits for another task to finish and takes its result.
    #[track_caller]
    pub fn join<R>(&mut self, handle: &mut JoinHandle<R>) -> Eff<Yields, Result<R, JoinError>> {
        self.wait(wait::join(handle))
    }

    /// Waits for every task of `handles` to finish and takes their
    /// results, in the order of the handles (see [`wait::join_all`]).
    #[track_caller]
    pub fn join_all<R>(
        &mut self,
        handles: &mut [JoinHandle<R>],
    ) -> Eff<Yields, Vec<Result<R, JoinError>>> {
        self.wait(wait::join_all(handles))
    }

    /// Waits for every task of `handles` to return a value, or for the
    /// first to end without one (see [`wait::try_join_all`]).
    #[track_caller]
    pub fn try_join_all<R>(
        &mut self,
        handles: &mut [JoinHandle<R>],
    ) -> Eff<Yields, Result<Vec<R>, (usize, JoinError)>> {
        self.wait(wait::try_join_all(handles))
    }

    /// Waits for a permit of `semaphore`; it goes back when the permit is
    /// dropped.
    #[track_caller]
    pub fn acquire(&mut self, semaphore: &Semaphore) -> Eff<Yields, Permit> {
        self.wait(wait::acquire(semaphore))
    }

    /// Waits for `permits` permits of `semaphore` at once.
    #[track_caller]
    pub fn acquire_many(&mut self, semaphore: &Semaphore, permits: usize) -> Eff<Yields, Permit> {
        self.wait(wait::acquire_many(semaphore, permits))
    }

    /// Spawns another task on the same driver. It is ready at once and runs
    /// after the tasks that are already ready.
    pub fn spawn<R, F>(&mut self, body: F) -> Result<JoinHandle<R>, SpawnError<F>>
    where
        R: 'static,
        F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, R> + 'static,
    {
        self.spawn_with(&SpawnOptions::new(), body)
    }

    /// Spawns another task with a name and/or stack size.
    pub fn spawn_with<R, F>(
        &mut self,
        options: &SpawnOptions,
        body: F,
    ) -> Result<JoinHandle<R>, SpawnError<F>>
    where
        R: 'static,
        F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, R> + 'static,
    {
        let handle = self.handle.clone();
        spawn_task(
            |wrapper| self.co.spawn_with(options, wrapper),
            handle,
            options,
            body,
        )
    }

    /// Cancels another task: its pending wait returns `Err(Interrupt)` and it
    /// unwinds, on top of this task. A yield point. `Ok(())` if it was live;
    /// an [`ErrorKind::Finished`](crate::ErrorKind::Finished) error if it
    /// had already finished, an
    /// [`ErrorKind::Running`](crate::ErrorKind::Running) error for this
    /// task itself. The other task's cleanup runs to its end before this
    /// returns, so it cannot wait (see [`Task::shield`]); to cancel it
    /// without running it now, see [`JoinHandle::abort`].
    #[track_caller]
    pub fn cancel<R>(&mut self, handle: &JoinHandle<R>) -> Eff<Yields, Result<(), Error>> {
        let shared = self.handle.shared();
        let Some(target) = shared.reactor.borrow().tasks.handle(handle.id) else {
            return Ok(Err(finished_error(handle)));
        };
        let mut finish = FinishGuard::new(shared, handle.id);
        let result = self.co.cancel(target)?;
        if matches!(&result, Err(e) if e.kind() == ErrorKind::Running) {
            // This task, or one whose cancellation is running this one: it
            // goes on, and so does its bookkeeping.
            finish.disarm();
        }
        Ok(result.map(drop))
    }
}

impl<S: 'static> fmt::Debug for Task<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.co.id())
            .finish_non_exhaustive()
    }
}

/// A location as `file:line`, for `tracing` events.
#[cfg(feature = "tracing")]
struct At(&'static Location<'static>);

#[cfg(feature = "tracing")]
impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0.file(), self.0.line())
    }
}

/// Removes a wait's registrations if the task is unwound while parked.
struct Registered<'a, Src: Source> {
    source: &'a mut Src,
    handle: &'a DriverHandle,
    armed: bool,
}

impl<Src: Source> Drop for Registered<'_, Src> {
    fn drop(&mut self) {
        if self.armed {
            let mut cx = Context::new(self.handle);
            self.source.unregister(&mut cx);
            self.source.abandon(&mut cx);
        }
    }
}

/// A task body wrapped as a plain coroutine body.
pub(crate) type Wrapped<S> = Box<dyn FnOnce(&mut Co<S>, ()) -> Eff<Yields, ()>>;

/// Wraps a task body into a plain coroutine body, spawns it with `spawn`,
/// and registers the task with the reactor.
pub(crate) fn spawn_task<S, R, F, Sp>(
    spawn: Sp,
    handle: DriverHandle,
    options: &SpawnOptions,
    body: F,
) -> Result<JoinHandle<R>, SpawnError<F>>
where
    S: 'static,
    R: 'static,
    F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, R> + 'static,
    Sp: FnOnce(Wrapped<S>) -> Result<Handle<(), (), ()>, SpawnError<Wrapped<S>>>,
{
    let cell = Rc::new(JoinCell::new());
    let sink = Rc::clone(&cell);
    let finish: Rc<dyn Finish> = cell.clone();
    spawn_task_with(spawn, handle, options, body, cell, finish, move |value| {
        sink.returned(value);
    })
}

/// [`spawn_task`] for a body whose value of type `V` goes to `on_value`
/// (a task scope's child routes its errors to its scope), with `finish` as
/// the task's bookkeeping in the reactor.
pub(crate) fn spawn_task_with<S, V, R, F, Sp, K>(
    spawn: Sp,
    handle: DriverHandle,
    options: &SpawnOptions,
    body: F,
    cell: Rc<JoinCell<R>>,
    finish: Rc<dyn Finish>,
    on_value: K,
) -> Result<JoinHandle<R>, SpawnError<F>>
where
    S: 'static,
    R: 'static,
    F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, V> + 'static,
    K: FnOnce(V) + 'static,
    Sp: FnOnce(Wrapped<S>) -> Result<Handle<(), (), ()>, SpawnError<Wrapped<S>>>,
{
    // The body waits here until the coroutine starts, so that a failed
    // spawn can give it back.
    let slot: Rc<Cell<Option<F>>> = Rc::new(Cell::new(Some(body)));
    let wrapper: Wrapped<S> = {
        let cell = Rc::clone(&cell);
        let slot = Rc::clone(&slot);
        let handle = handle.clone();
        Box::new(move |co: &mut Co<S>, ()| -> Eff<Yields, ()> {
            let body = slot.take().expect("a task body runs once");
            drop(slot);
            if cell.control.is_aborted() {
                // Its cancellation was requested before it started: it
                // never runs, as a cancelled coroutine that never ran.
                drop(body);
                cell.cancelled();
                return Ok(());
            }
            let mut task = Task {
                co,
                handle: &handle,
                control: &cell.control,
            };
            match body(&mut task) {
                Ok(value) => {
                    on_value(value);
                    Ok(())
                }
                Err(interrupt) => {
                    // Only an interrupt this task received means it was
                    // cancelled: through the core (then the core ends the
                    // cancellation with it), or by a request (then the
                    // task ends here, as if it had returned). One carried
                    // in from elsewhere is left to the core, which reports
                    // it as a panic that says so. An expired cancel scope's
                    // interrupt never gets here: its scope stops it.
                    if co.is_cancelling() {
                        cell.cancelled();
                        Err(interrupt)
                    } else if cell.control.is_aborted() {
                        cell.cancelled();
                        Ok(())
                    } else {
                        Err(interrupt)
                    }
                }
            }
        })
    };
    let coroutine = match spawn(wrapper) {
        Ok(coroutine) => coroutine,
        Err(err) => {
            let (error, wrapper) = err.into_parts();
            drop(wrapper);
            let body = slot.take().expect("the body was not started");
            return Err(SpawnError::new(error, body));
        }
    };
    let id = coroutine.id();
    let name: Option<Rc<str>> = options.name.as_deref().map(Rc::from);
    handle
        .shared()
        .reactor
        .borrow_mut()
        .add_task(coroutine, name.clone(), finish);
    Ok(JoinHandle {
        id,
        name,
        cell,
        driver: handle,
    })
}
