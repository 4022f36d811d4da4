//! The event driver: timers, channels, notifications, joins and
//! wait-for-any, with a real or a virtual clock.
//!
//! A [`Driver`] owns a [`Stage`] and runs its *tasks* on the main stack:
//! it resumes each task until it waits, and wakes it when what it waits for
//! happens. A task body gets a [`Task`] instead of a bare `Co`; its waiting
//! methods ([`sleep`](Task::sleep), [`recv`](Task::recv),
//! [`send`](Task::send), [`join`](Task::join), [`notified`](Task::notified),
//! [`select`](Task::select), ...) are yield points that return
//! `Eff<Yields, _>`, so task code reads as plain sequential code and the
//! borrow rules of the core still hold: a task has the shared state to
//! itself between two waits.
//!
//! ```
//! use std::time::Duration;
//!
//! use coshare::driver::{DriverBuilder, Task};
//! use coshare::{Eff, Yields};
//!
//! let mut driver = DriverBuilder::new().virtual_clock().build(Vec::<String>::new());
//! let (tx, mut rx) = driver.channel::<u32>(1);
//! driver
//!     .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
//!         for n in 1..=3 {
//!             t.sleep(Duration::from_millis(10))?;
//!             t.send(&tx, n)?.unwrap(); // waits while the channel is full
//!         }
//!         Ok(())
//!     })
//!     .unwrap();
//! driver
//!     .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
//!         while let Ok(n) = t.recv(&mut rx)? {
//!             let now = t.now();
//!             t.state().push(format!("{n} at {now}"));
//!         }
//!         Ok(())
//!     })
//!     .unwrap();
//! driver.run().unwrap();
//! assert_eq!(driver.state(), &["1 at 10ms", "2 at 20ms", "3 at 30ms"]);
//! ```
//!
//! # Order of wake-ups
//!
//! With a virtual clock a run is fully deterministic: the same program with
//! the same inputs resumes tasks in the same order. The rules:
//!
//! 1. Tasks run in the order they became ready (first in, first out). A
//!    spawned task becomes ready when it is spawned.
//! 2. The driver works in rounds. Each round first fires every timer that is
//!    due, in order of deadline and then of creation, then runs the tasks
//!    that are ready at the start of the round. Tasks woken during a round
//!    run in the next one.
//! 3. When nothing is ready, a virtual clock jumps to the next deadline; a
//!    real clock sleeps until it.
//! 4. A message wakes the channel's receiver; room in a full channel wakes
//!    the longest-waiting sender; `notify_one` wakes the longest-waiting
//!    task; `notify_waiters`, `Event::set` and the end of a task wake every
//!    waiter in the order they started waiting.
//! 5. [`Task::select`] polls its sources left to right; the leftmost ready
//!    one wins and the others are left untouched.
//!
//! # Cancellation and errors
//!
//! Cancelling a waiting task ([`Driver::cancel`], [`Task::cancel`]) makes
//! its pending wait return `Err(Interrupt)`; its registrations (timers,
//! places in waiter queues) are removed, and a wake-up it had been handed
//! (room in a channel, a notification) is passed to the next waiter. A
//! message is never lost: it is either delivered or still in the channel.
//!
//! A panic in a task is caught by the driver and handed to whoever joins the
//! task as [`JoinError::Panicked`], with the original payload (the panic
//! hook has already printed it). A task that waits on something nothing can
//! provide any more is reported by [`Driver::run`] as a [`Deadlock`], naming
//! every waiting task and what it waits on.

#[cfg(feature = "io")]
mod net;
mod reactor;
mod select;
mod sync;

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use crate::co::Co;
use crate::effect::{Eff, Yields};
use crate::error::{CoroutineId, Error, ErrorKind, SpawnError};
use crate::handle::Handle;
use crate::options::SpawnOptions;
use crate::resumed::Resumed;
use crate::stage::{Stage, StageBuilder};

#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub use net::{Accept, ReadSome, TcpListener, TcpStream, WriteSome};
pub use reactor::{Instant, TaskInfo, WaitOn};
pub use select::{Interval, Sleep, Source, Tick};
pub use sync::{
    Event, EventWait, Notified, Notify, Receiver, Recv, RecvError, SendError, Sender, TryRecvError,
    TrySendError,
};

use reactor::{Clock, Finish, Hot, TaskState};
#[doc(hidden)]
pub use reactor::{Shared, Waiter};
#[doc(hidden)]
pub use select::{SourceImpl, Waits};

/// Constructors for the sources of [`Task::select`].
///
/// ```
/// use std::time::Duration;
///
/// use coshare::driver::{wait, DriverBuilder, Task};
/// use coshare::{Eff, Yields};
/// use frunk::{hlist, Coproduct};
///
/// let mut driver = DriverBuilder::new().virtual_clock().build(());
/// let (_tx, mut rx) = driver.channel::<&str>(4);
/// let shutdown = driver.event();
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
pub mod wait {
    use std::time::Duration;

    use super::{
        Event, EventWait, Instant, Interval, Join, JoinHandle, Notified, Notify, Receiver, Recv,
        Sleep, Tick,
    };

    /// The next message of `rx`, or `Err(RecvError)` once every sender is
    /// gone and the channel is empty.
    pub fn recv<T>(rx: &mut Receiver<T>) -> Recv<'_, T> {
        Recv { rx }
    }

    /// Fires `duration` after the wait starts.
    pub fn sleep(duration: Duration) -> Sleep {
        Sleep::after(duration)
    }

    /// Fires at `deadline` (at once if it has passed).
    pub fn until(deadline: Instant) -> Sleep {
        Sleep::until(deadline)
    }

    /// Fires when `notify` hands this task a notification or a stored permit.
    pub fn notified(notify: &Notify) -> Notified<'_> {
        Notified { notify, last: None }
    }

    /// Fires once `event` is set.
    pub fn event(event: &Event) -> EventWait<'_> {
        EventWait { event, last: None }
    }

    /// Fires at the next tick of `interval`, with the tick's instant.
    pub fn tick(interval: &mut Interval) -> Tick<'_> {
        Tick {
            interval,
            key: None,
        }
    }

    /// Fires when the task of `handle` has finished, with its result.
    pub fn join<R>(handle: &mut JoinHandle<R>) -> Join<'_, R> {
        Join { handle, last: None }
    }

    /// Fires with the next connection of `listener`.
    #[cfg(feature = "io")]
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    pub fn accept(listener: &mut super::TcpListener) -> super::Accept<'_> {
        super::Accept {
            listener,
            waiting: false,
        }
    }

    /// Fires when some bytes were read from `stream` into `buf` (`Ok(0)`:
    /// the peer closed its side).
    #[cfg(feature = "io")]
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    pub fn read<'a>(stream: &'a mut super::TcpStream, buf: &'a mut [u8]) -> super::ReadSome<'a> {
        super::ReadSome {
            stream,
            buf,
            waiting: false,
        }
    }

    /// Fires when some bytes of `buf` were written to `stream`.
    #[cfg(feature = "io")]
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    pub fn write<'a>(stream: &'a mut super::TcpStream, buf: &'a [u8]) -> super::WriteSome<'a> {
        super::WriteSome {
            stream,
            buf,
            waiting: false,
        }
    }
}

/// Settings for a new [`Driver`].
#[derive(Clone, Debug, Default)]
pub struct DriverBuilder {
    stage: StageBuilder,
    virtual_clock: bool,
}

impl DriverBuilder {
    /// A real clock and the default stage settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Use a virtual clock: time starts at zero and moves only when the
    /// driver has nothing ready to run (it jumps to the next deadline) or is
    /// told to ([`Driver::run_for`], [`Driver::run_until`]). Runs are then
    /// deterministic and take no wall time.
    pub fn virtual_clock(mut self) -> Self {
        self.virtual_clock = true;
        self
    }

    /// The settings of the underlying stage (stack size, budgets).
    pub fn stage(mut self, stage: StageBuilder) -> Self {
        self.stage = stage;
        self
    }

    /// Creates the driver, owning `state`.
    pub fn build<S: 'static>(self, state: S) -> Driver<S> {
        self.build_with(|_| state)
    }

    /// Creates the driver with a state built by `make`, which can create
    /// channels, notify objects and events of this driver to keep in the
    /// state.
    ///
    /// ```
    /// use coshare::driver::{DriverBuilder, Event, Sender, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// struct Plant {
    ///     alarms: Sender<&'static str>,
    ///     stop: Event,
    /// }
    ///
    /// let mut rx = None;
    /// let mut driver = DriverBuilder::new().virtual_clock().build_with(|setup| {
    ///     let (alarms, receiver) = setup.channel(4);
    ///     rx = Some(receiver);
    ///     Plant { alarms, stop: setup.event() }
    /// });
    /// driver
    ///     .spawn(|t: &mut Task<Plant>| -> Eff<Yields, ()> {
    ///         t.state().alarms.try_send("overheat").unwrap();
    ///         let stop = t.state().stop.clone();
    ///         t.wait_event(&stop)
    ///     })
    ///     .unwrap();
    /// driver.run_until_idle();
    /// assert_eq!(rx.unwrap().try_recv(), Ok("overheat"));
    /// driver.state().stop.set();
    /// driver.run().unwrap();
    /// ```
    pub fn build_with<S: 'static>(self, make: impl FnOnce(&mut Setup<'_>) -> S) -> Driver<S> {
        let clock = if self.virtual_clock {
            Clock::Virtual { now: Instant::ZERO }
        } else {
            Clock::Real {
                start: std::time::Instant::now(),
            }
        };
        let shared = Shared::new(clock);
        let state = make(&mut Setup { shared: &shared });
        Driver {
            stage: self.stage.build(state),
            shared,
        }
    }
}

/// Makes the driver objects a state needs before the driver exists; see
/// [`DriverBuilder::build_with`].
pub struct Setup<'a> {
    shared: &'a Rc<Shared>,
}

impl Setup<'_> {
    /// A new bounded channel. See [`Driver::channel`].
    ///
    /// # Panics
    ///
    /// If `capacity` is zero.
    pub fn channel<T>(&mut self, capacity: usize) -> (Sender<T>, Receiver<T>) {
        sync::channel(self.shared, capacity)
    }

    /// A new notify object.
    pub fn notify(&mut self) -> Notify {
        Notify::new(self.shared)
    }

    /// A new event.
    pub fn event(&mut self) -> Event {
        Event::new(self.shared)
    }
}

impl fmt::Debug for Setup<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Setup").finish_non_exhaustive()
    }
}

/// Owns a stage and runs its tasks as events arrive. See the
/// [module docs](self).
pub struct Driver<S: 'static> {
    // Field order matters: the stage (and with it every task, whose cleanup
    // may touch the reactor) is dropped before the driver's reactor handle.
    stage: Stage<S>,
    shared: Rc<Shared>,
}

/// Why [`Driver::run`] could not finish: tasks wait and nothing can wake
/// them. Lists every live task and what it waits on.
#[derive(Clone, Debug)]
pub struct Deadlock {
    /// Every live task and what it waits on, in slot order.
    pub tasks: Vec<TaskInfo>,
}

impl fmt::Display for Deadlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.tasks.is_empty() {
            return f.write_str(
                "the driver stalled: no task is left and the condition it was run for is not met",
            );
        }
        write!(
            f,
            "deadlock: {} task(s) wait and nothing can wake them (no timer is pending):",
            self.tasks.len()
        )?;
        for task in &self.tasks {
            write!(f, "\n  {task}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Deadlock {}

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
        }
    }
}

impl std::error::Error for JoinError {}

enum Outcome<R> {
    Running,
    Returned(R),
    Cancelled,
    Panicked(Option<Box<dyn Any + Send + 'static>>),
    Taken,
}

/// Where a task's result waits for its joiner.
struct JoinCell<R> {
    outcome: RefCell<Outcome<R>>,
}

impl<R> Finish for JoinCell<R> {
    fn panicked(&self, payload: Option<Box<dyn Any + Send>>) {
        let mut outcome = self.outcome.borrow_mut();
        if matches!(*outcome, Outcome::Running) {
            *outcome = Outcome::Panicked(payload);
        }
    }

    fn cancelled(&self) {
        let mut outcome = self.outcome.borrow_mut();
        if matches!(*outcome, Outcome::Running) {
            *outcome = Outcome::Cancelled;
        }
    }
}

impl<R> JoinCell<R> {
    fn is_finished(&self) -> bool {
        !matches!(*self.outcome.borrow(), Outcome::Running)
    }

    fn take(&self) -> Option<Result<R, JoinError>> {
        let mut outcome = self.outcome.borrow_mut();
        match std::mem::replace(&mut *outcome, Outcome::Taken) {
            Outcome::Running => {
                *outcome = Outcome::Running;
                None
            }
            Outcome::Returned(value) => Some(Ok(value)),
            Outcome::Cancelled => Some(Err(JoinError::Cancelled)),
            Outcome::Panicked(payload) => Some(Err(JoinError::Panicked(payload))),
            Outcome::Taken => Some(Err(JoinError::AlreadyJoined)),
        }
    }
}

/// The result of a spawned task. Join it from a task with [`Task::join`],
/// or from the main stack with [`Driver::block_on`] or
/// [`JoinHandle::try_join`]. Dropping it detaches the task, which keeps
/// running.
pub struct JoinHandle<R> {
    id: CoroutineId,
    name: Option<Rc<str>>,
    cell: Rc<JoinCell<R>>,
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

/// Waits for a task to finish: the source behind [`Task::join`].
pub struct Join<'a, R> {
    handle: &'a mut JoinHandle<R>,
    last: Option<Waiter>,
}

impl<R> SourceImpl for Join<'_, R> {
    type Output = Result<R, JoinError>;

    fn poll(&mut self, _shared: &Shared) -> Option<Result<R, JoinError>> {
        self.handle.cell.take()
    }

    fn register(&mut self, shared: &Shared, waiter: Waiter) {
        let mut reactor = shared.reactor.borrow_mut();
        if let Some(entry) = reactor.entry_mut(self.handle.id) {
            entry.joiners.push(waiter);
            self.last = Some(waiter);
        }
    }

    fn unregister(&mut self, shared: &Shared) {
        if let Some(last) = self.last.take() {
            let mut reactor = shared.reactor.borrow_mut();
            if let Some(entry) = reactor.entry_mut(self.handle.id) {
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

/// The capability a driver task receives: everything a [`Co`] offers for
/// the state, plus the driver's waiting operations.
///
/// Every waiting method takes `&mut self` and returns `Eff<Yields, _>`: it
/// is a yield point, so no reference into the state may be alive across it,
/// and a cancellation arrives there as `Err(Interrupt)`.
pub struct Task<'a, S: 'static> {
    co: &'a mut Co<S>,
    shared: &'a Rc<Shared>,
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

    /// The underlying coroutine capability, for helpers written against
    /// [`Co`]. A bare [`Co::suspend`] in a task acts as
    /// [`yield_now`](Task::yield_now).
    pub fn co(&mut self) -> &mut Co<S> {
        self.co
    }

    /// This task's id.
    pub fn id(&self) -> CoroutineId {
        self.co.id()
    }

    /// This task's name, if it was spawned with one.
    pub fn name(&self) -> Option<Rc<str>> {
        let id = self.co.id();
        self.shared
            .reactor
            .borrow()
            .entry(id)
            .and_then(|e| e.name.clone())
    }

    /// The driver's current time.
    pub fn now(&self) -> Instant {
        self.shared.reactor.borrow().now()
    }

    /// Waits on `source` until it fires. The common loop behind every
    /// waiting method. A source that is ready at once costs one poll, inlined
    /// into the caller.
    #[inline(always)]
    fn wait_for<Src: Source>(&mut self, mut source: Src) -> Eff<Yields, Src::Output> {
        match source.poll(self.shared) {
            Some(out) => Ok(out),
            None => self.park_on(source),
        }
    }

    /// The rest of [`wait_for`](Task::wait_for) once the first poll found
    /// nothing: park until woken, then poll again.
    #[inline(never)]
    fn park_on<Src: Source>(&mut self, mut source: Src) -> Eff<Yields, Src::Output> {
        let id = self.co.id();
        loop {
            let waiter = self
                .shared
                .reactor
                .borrow_mut()
                .begin_wait(id, source.wait_on());
            source.register(self.shared, waiter);
            // If the coroutine is unwound by force while parked, the guard
            // still removes the registrations and passes on any wake-up.
            let mut guard = Registered {
                source: &mut source,
                shared: self.shared,
                armed: true,
            };
            self.shared.set_parked(id);
            let woke = self.co.suspend(());
            guard.source.unregister(guard.shared);
            guard.armed = false;
            if let Err(interrupt) = woke {
                guard.source.abandon(guard.shared);
                return Err(interrupt);
            }
            if let Some(out) = guard.source.poll(guard.shared) {
                return Ok(out);
            }
        }
    }

    /// Sleeps for `duration` of driver time.
    pub fn sleep(&mut self, duration: Duration) -> Eff<Yields, ()> {
        self.wait_for(Sleep::after(duration))
    }

    /// Sleeps until `deadline` (returns at once if it has passed).
    pub fn sleep_until(&mut self, deadline: Instant) -> Eff<Yields, ()> {
        self.wait_for(Sleep::until(deadline))
    }

    /// Lets every other ready task run, then continues.
    pub fn yield_now(&mut self) -> Eff<Yields, ()> {
        let id = self.co.id();
        self.shared.reactor.borrow_mut().requeue(id);
        self.shared.set_parked(id);
        self.co.suspend(())
    }

    /// Receives the next message, waiting while the channel is empty.
    /// `Err(RecvError)` once every sender is gone and the channel is empty.
    #[inline(always)]
    pub fn recv<T>(&mut self, rx: &mut Receiver<T>) -> Eff<Yields, Result<T, RecvError>> {
        self.wait_for(wait::recv(rx))
    }

    /// Receives the next message, waiting at most `timeout`. `Ok(None)` on
    /// timeout; the channel is left untouched then.
    pub fn recv_timeout<T>(
        &mut self,
        rx: &mut Receiver<T>,
        timeout: Duration,
    ) -> Eff<Yields, Option<Result<T, RecvError>>> {
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
    /// it; it was never in the channel.
    #[inline]
    pub fn send<T>(&mut self, tx: &Sender<T>, msg: T) -> Eff<Yields, Result<(), SendError<T>>> {
        match tx.try_send(msg) {
            Ok(()) => Ok(Ok(())),
            Err(TrySendError::Closed(back)) => Ok(Err(SendError(back))),
            Err(TrySendError::Full(back)) => self.send_parked(tx, back),
        }
    }

    /// The rest of [`send`](Task::send) once the channel was found full:
    /// park until there is room, then try again.
    #[inline(never)]
    fn send_parked<T>(&mut self, tx: &Sender<T>, msg: T) -> Eff<Yields, Result<(), SendError<T>>> {
        let id = self.co.id();
        let mut msg = msg;
        loop {
            let waiter = self
                .shared
                .reactor
                .borrow_mut()
                .begin_wait(id, tx.wait_description());
            tx.register_sender(waiter);
            let mut guard = SendRegistered {
                tx,
                waiter,
                armed: true,
            };
            self.shared.set_parked(id);
            let woke = self.co.suspend(());
            let still_queued = guard.tx.unregister_sender(waiter);
            guard.armed = false;
            if let Err(interrupt) = woke {
                if !still_queued {
                    guard.tx.pass_on();
                }
                return Err(interrupt);
            }
            match tx.try_send(msg) {
                Ok(()) => return Ok(Ok(())),
                Err(TrySendError::Closed(back)) => return Ok(Err(SendError(back))),
                Err(TrySendError::Full(back)) => msg = back,
            }
        }
    }

    /// Waits for a notification from `notify`.
    pub fn notified(&mut self, notify: &Notify) -> Eff<Yields, ()> {
        self.wait_for(wait::notified(notify))
    }

    /// Waits until `event` is set (returns at once if it is).
    pub fn wait_event(&mut self, event: &Event) -> Eff<Yields, ()> {
        self.wait_for(wait::event(event))
    }

    /// Waits for the next tick of `interval` and returns when it was due.
    pub fn tick(&mut self, interval: &mut Interval) -> Eff<Yields, Instant> {
        self.wait_for(wait::tick(interval))
    }

    /// Waits for another task to finish and takes its result.
    pub fn join<R>(&mut self, handle: &mut JoinHandle<R>) -> Eff<Yields, Result<R, JoinError>> {
        self.wait_for(wait::join(handle))
    }

    /// Waits for whichever source in the HList fires first and tells which
    /// one, as a frunk `Coproduct` of their outputs. See [`wait`].
    pub fn select<L: Source>(&mut self, sources: L) -> Eff<Yields, L::Output> {
        self.wait_for(sources)
    }

    /// A new bounded channel. See [`Driver::channel`].
    pub fn channel<T>(&mut self, capacity: usize) -> (Sender<T>, Receiver<T>) {
        sync::channel(self.shared, capacity)
    }

    /// Binds a TCP listener registered with this driver.
    #[cfg(feature = "io")]
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    pub fn tcp_listen(&mut self, addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
        TcpListener::bind(self.shared, addr)
    }

    /// Connects to `addr`, waiting until the connection is established or
    /// fails.
    #[cfg(feature = "io")]
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    pub fn tcp_connect(
        &mut self,
        addr: std::net::SocketAddr,
    ) -> Eff<Yields, std::io::Result<TcpStream>> {
        let mut stream = match TcpStream::connect_started(self.shared, addr) {
            Ok(stream) => stream,
            Err(err) => return Ok(Err(err)),
        };
        let connected = self.wait_for(net::Connected {
            stream: &mut stream,
            waiting: false,
        })?;
        Ok(connected.map(|()| stream))
    }

    /// Accepts the next connection, waiting for one.
    #[cfg(feature = "io")]
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    pub fn accept(
        &mut self,
        listener: &mut TcpListener,
    ) -> Eff<Yields, std::io::Result<(TcpStream, std::net::SocketAddr)>> {
        self.wait_for(wait::accept(listener))
    }

    /// Reads some bytes, waiting until there are any. `Ok(0)` means the peer
    /// closed its side (or `buf` is empty).
    #[cfg(feature = "io")]
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    pub fn read(
        &mut self,
        stream: &mut TcpStream,
        buf: &mut [u8],
    ) -> Eff<Yields, std::io::Result<usize>> {
        self.wait_for(wait::read(stream, buf))
    }

    /// Writes some bytes, waiting until the socket takes any.
    #[cfg(feature = "io")]
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    pub fn write(
        &mut self,
        stream: &mut TcpStream,
        buf: &[u8],
    ) -> Eff<Yields, std::io::Result<usize>> {
        self.wait_for(wait::write(stream, buf))
    }

    /// Writes all of `buf`, waiting as needed. A peer that stopped reading
    /// (closed or reset) is an error.
    #[cfg(feature = "io")]
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    pub fn write_all(
        &mut self,
        stream: &mut TcpStream,
        mut buf: &[u8],
    ) -> Eff<Yields, std::io::Result<()>> {
        while !buf.is_empty() {
            match self.write(stream, buf)? {
                Ok(0) => return Ok(Err(std::io::ErrorKind::WriteZero.into())),
                Ok(n) => buf = &buf[n..],
                Err(err) => return Ok(Err(err)),
            }
        }
        Ok(Ok(()))
    }

    /// A new notify object.
    pub fn notify(&mut self) -> Notify {
        Notify::new(self.shared)
    }

    /// A new event.
    pub fn event(&mut self) -> Event {
        Event::new(self.shared)
    }

    /// A new interval whose first tick is due now.
    ///
    /// # Panics
    ///
    /// If `period` is zero.
    pub fn interval(&mut self, period: Duration) -> Interval {
        Interval::new(self.now(), period)
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
        let shared = Rc::clone(self.shared);
        spawn_task(
            |wrapper| self.co.spawn_with(options, wrapper),
            shared,
            options,
            body,
        )
    }

    /// Cancels another task: its pending wait returns `Err(Interrupt)` and it
    /// unwinds, on top of this task. A yield point. `Ok(())` if it was live.
    pub fn cancel<R>(&mut self, handle: &JoinHandle<R>) -> Eff<Yields, Result<(), Error>> {
        let Some(target) = task_handle(self.shared, handle.id) else {
            return Ok(Err(finished_error(handle)));
        };
        let result = {
            let _finish = FinishGuard {
                shared: self.shared,
                id: handle.id,
            };
            self.co.cancel(target)?
        };
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

/// Removes a wait's registrations if the task is unwound while parked.
struct Registered<'a, Src: Source> {
    source: &'a mut Src,
    shared: &'a Shared,
    armed: bool,
}

impl<Src: Source> Drop for Registered<'_, Src> {
    fn drop(&mut self) {
        if self.armed {
            self.source.unregister(self.shared);
            self.source.abandon(self.shared);
        }
    }
}

/// The same for a waiting sender.
struct SendRegistered<'a, T> {
    tx: &'a Sender<T>,
    waiter: Waiter,
    armed: bool,
}

impl<T> Drop for SendRegistered<'_, T> {
    fn drop(&mut self) {
        if self.armed && !self.tx.unregister_sender(self.waiter) {
            self.tx.pass_on();
        }
    }
}

/// Ends a task's bookkeeping after it was cancelled (also if the
/// cancellation panicked): marks its result and wakes its joiners.
struct FinishGuard<'a> {
    shared: &'a Rc<Shared>,
    id: CoroutineId,
}

impl Drop for FinishGuard<'_> {
    fn drop(&mut self) {
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

fn task_handle(shared: &Shared, id: CoroutineId) -> Option<Handle<(), (), ()>> {
    shared.reactor.borrow().hot(id).and_then(|h| h.handle)
}

fn finished_error<R>(handle: &JoinHandle<R>) -> Error {
    Error::new(crate::error::Detail::Finished, Some(handle.id)).with_name(handle.name.as_deref())
}

/// Marks the task's result with `mark` (if still running) and removes the
/// task from the reactor, waking its joiners. The entry (which may hold the
/// last reference to the task's result) is dropped outside the reactor's
/// borrow, since the result's destructor may use channels.
fn finish_task(shared: &Shared, id: CoroutineId, mark: impl FnOnce(&dyn Finish)) {
    let entry = {
        let mut reactor = shared.reactor.borrow_mut();
        let Some(entry) = reactor.entry(id) else {
            return;
        };
        mark(&*entry.finish);
        shared.ended.set(shared.ended.get() + 1);
        reactor.remove_task(id)
    };
    drop(entry);
}

/// A task body wrapped as a plain coroutine body.
type Wrapped<S> = Box<dyn FnOnce(&mut Co<S>, ()) -> Eff<Yields, ()>>;

/// Wraps a task body into a plain coroutine body, spawns it with `spawn`,
/// and registers the task with the reactor.
fn spawn_task<S, R, F, Sp>(
    spawn: Sp,
    shared: Rc<Shared>,
    options: &SpawnOptions,
    body: F,
) -> Result<JoinHandle<R>, SpawnError<F>>
where
    S: 'static,
    R: 'static,
    F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, R> + 'static,
    Sp: FnOnce(
        Box<dyn FnOnce(&mut Co<S>, ()) -> Eff<Yields, ()>>,
    ) -> Result<
        Handle<(), (), ()>,
        SpawnError<Box<dyn FnOnce(&mut Co<S>, ()) -> Eff<Yields, ()>>>,
    >,
{
    let cell = Rc::new(JoinCell {
        outcome: RefCell::new(Outcome::Running),
    });
    // The body waits here until the coroutine starts, so that a failed
    // spawn can give it back.
    let slot: Rc<Cell<Option<F>>> = Rc::new(Cell::new(Some(body)));
    let wrapper: Wrapped<S> = {
        let cell = Rc::clone(&cell);
        let slot = Rc::clone(&slot);
        let shared = Rc::clone(&shared);
        Box::new(move |co: &mut Co<S>, ()| -> Eff<Yields, ()> {
            let body = slot.take().expect("a task body runs once");
            drop(slot);
            let mut task = Task {
                co,
                shared: &shared,
            };
            match body(&mut task) {
                Ok(value) => {
                    *cell.outcome.borrow_mut() = Outcome::Returned(value);
                    Ok(())
                }
                Err(interrupt) => {
                    cell.cancelled();
                    Err(interrupt)
                }
            }
        })
    };
    let handle = match spawn(wrapper) {
        Ok(handle) => handle,
        Err(err) => {
            let (error, wrapper) = err.into_parts();
            drop(wrapper);
            let body = slot.take().expect("the body was not started");
            return Err(SpawnError::new(error, body));
        }
    };
    let id = handle.id();
    let name: Option<Rc<str>> = options.name.as_deref().map(Rc::from);
    let finish: Rc<dyn Finish> = cell.clone();
    shared
        .reactor
        .borrow_mut()
        .add_task(handle, name.clone(), finish);
    Ok(JoinHandle { id, name, cell })
}

/// What stops a run.
enum Stop<'f, S> {
    /// Nothing is ready (time does not advance).
    Idle,
    /// Every task has finished.
    AllDone,
    /// Driver time reached this instant and nothing is ready.
    Deadline(Instant),
    /// This task has finished.
    Task(CoroutineId),
    /// The predicate holds.
    State(&'f mut dyn FnMut(&mut S) -> bool),
}

impl<S: 'static> Driver<S> {
    /// A driver with a real clock and default stage settings.
    pub fn new(state: S) -> Self {
        DriverBuilder::new().build(state)
    }

    /// The shared state, borrowed until the next use of the driver.
    #[inline]
    pub fn state(&mut self) -> &mut S {
        self.stage.state()
    }

    /// Runs `f` on the shared state.
    #[inline]
    pub fn with_state<T>(&mut self, f: impl FnOnce(&mut S) -> T) -> T {
        self.stage.with_state(f)
    }

    /// The underlying stage, for plain (non-task) coroutines.
    pub fn stage(&mut self) -> &mut Stage<S> {
        &mut self.stage
    }

    /// The driver's current time.
    pub fn now(&self) -> Instant {
        self.shared.reactor.borrow().now()
    }

    /// A new bounded channel holding at most `capacity` messages. Its ends
    /// may be kept anywhere, the shared state included; [`Sender::try_send`]
    /// and [`Receiver::try_recv`] work from any code, and tasks wait with
    /// [`Task::send`] and [`Task::recv`].
    ///
    /// # Panics
    ///
    /// If `capacity` is zero.
    pub fn channel<T>(&mut self, capacity: usize) -> (Sender<T>, Receiver<T>) {
        sync::channel(&self.shared, capacity)
    }

    /// Binds a TCP listener registered with this driver.
    #[cfg(feature = "io")]
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    pub fn tcp_listen(&mut self, addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
        TcpListener::bind(&self.shared, addr)
    }

    /// A new notify object, for signalling tasks from anywhere.
    pub fn notify(&mut self) -> Notify {
        Notify::new(&self.shared)
    }

    /// A new event (a latch).
    pub fn event(&mut self) -> Event {
        Event::new(&self.shared)
    }

    /// A new interval whose first tick is due now.
    ///
    /// # Panics
    ///
    /// If `period` is zero.
    pub fn interval(&mut self, period: Duration) -> Interval {
        Interval::new(self.now(), period)
    }

    /// Spawns a task. It is ready at once; it runs when the driver runs.
    pub fn spawn<R, F>(&mut self, body: F) -> Result<JoinHandle<R>, SpawnError<F>>
    where
        R: 'static,
        F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, R> + 'static,
    {
        self.spawn_with(&SpawnOptions::new(), body)
    }

    /// Spawns a task with a name (shown in listings, errors and deadlock
    /// reports) and/or a stack size.
    pub fn spawn_with<R, F>(
        &mut self,
        options: &SpawnOptions,
        body: F,
    ) -> Result<JoinHandle<R>, SpawnError<F>>
    where
        R: 'static,
        F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, R> + 'static,
    {
        let shared = Rc::clone(&self.shared);
        let stage = &mut self.stage;
        spawn_task(
            |wrapper| stage.spawn_with(options, wrapper),
            shared,
            options,
            body,
        )
    }

    /// Cancels a task, on the main stack: its pending wait returns
    /// `Err(Interrupt)` and it unwinds. `Ok(())` if it was live; an
    /// [`ErrorKind::Finished`] error if it had already finished.
    ///
    /// # Panics
    ///
    /// A panic raised by the task's cleanup propagates out of this call
    /// (its joiner then sees [`JoinError::Panicked`] without payload).
    pub fn cancel<R>(&mut self, handle: &JoinHandle<R>) -> Result<(), Error> {
        let Some(target) = task_handle(&self.shared, handle.id) else {
            return Err(finished_error(handle));
        };
        let _finish = FinishGuard {
            shared: &self.shared,
            id: handle.id,
        };
        self.stage.cancel(target).map(drop)
    }

    /// Every live task and what it waits on, in slot order.
    pub fn tasks(&self) -> Vec<TaskInfo> {
        self.shared.reactor.borrow().task_list()
    }

    /// Runs every task that is ready, and those they wake, until none is
    /// ready. Time does not advance (a real clock's due timers fire).
    pub fn run_until_idle(&mut self) {
        let outcome = self.drive(Stop::Idle);
        debug_assert!(outcome.is_ok(), "running until idle cannot deadlock");
    }

    /// Runs until every task has finished, advancing time as needed.
    ///
    /// Fails with [`Deadlock`] if tasks remain but nothing can wake them.
    pub fn run(&mut self) -> Result<(), Deadlock> {
        self.drive(Stop::AllDone)
    }

    /// Runs until driver time reaches `deadline` and nothing is ready. A
    /// virtual clock ends exactly at `deadline`; a real one sleeps until it.
    pub fn run_until(&mut self, deadline: Instant) -> Result<(), Deadlock> {
        self.drive(Stop::Deadline(deadline))
    }

    /// Runs for `duration` of driver time (see [`run_until`](Driver::run_until)).
    pub fn run_for(&mut self, duration: Duration) -> Result<(), Deadlock> {
        let deadline = self.now() + duration;
        self.drive(Stop::Deadline(deadline))
    }

    /// Runs until `condition` holds for the state (checked before the run
    /// and after each task step), advancing time as needed.
    ///
    /// Fails with [`Deadlock`] if nothing can run any more and the
    /// condition does not hold.
    pub fn run_until_state(
        &mut self,
        mut condition: impl FnMut(&mut S) -> bool,
    ) -> Result<(), Deadlock> {
        self.drive(Stop::State(&mut condition))
    }

    /// Runs until the task of `handle` has finished, and takes its result.
    pub fn block_on<R>(
        &mut self,
        mut handle: JoinHandle<R>,
    ) -> Result<Result<R, JoinError>, Deadlock> {
        self.drive(Stop::Task(handle.id))?;
        Ok(handle
            .try_join()
            .expect("the task finished, so its result is there"))
    }

    /// Whether the run is over. `ended_seen` is the count of ended tasks at
    /// the last check: a task can only have finished if it moved.
    #[inline]
    fn stop_met(&mut self, stop: &mut Stop<'_, S>, ended_seen: &mut u64) -> bool {
        match stop {
            Stop::Idle | Stop::AllDone | Stop::Deadline(_) => false,
            Stop::Task(id) => {
                let ended = self.shared.ended.get();
                if ended == *ended_seen {
                    return false;
                }
                *ended_seen = ended;
                self.shared.reactor.borrow().entry(*id).is_none()
            }
            Stop::State(condition) => condition(self.stage.state()),
        }
    }

    /// The run loop. See "Order of wake-ups" in the module docs.
    fn drive(&mut self, mut stop: Stop<'_, S>) -> Result<(), Deadlock> {
        // Differs from the count, so that the first check looks.
        let mut ended_seen = self.shared.ended.get().wrapping_sub(1);
        loop {
            if self.stop_met(&mut stop, &mut ended_seen) {
                return Ok(());
            }
            // A round: take I/O events, fire due timers, then run the tasks
            // ready now.
            let ready_now = {
                let mut reactor = self.shared.reactor.borrow_mut();
                #[cfg(feature = "io")]
                if reactor.has_sockets() {
                    reactor.poll_io(Some(Duration::ZERO));
                }
                if reactor.has_timers() {
                    let now = reactor.now();
                    if let Stop::Deadline(deadline) = stop {
                        reactor.fire_due(now.min(deadline));
                    } else {
                        reactor.fire_due(now);
                    }
                }
                reactor.ready.len()
            };
            if ready_now > 0 {
                let mut left = ready_now;
                loop {
                    self.step();
                    if self.stop_met(&mut stop, &mut ended_seen) {
                        return Ok(());
                    }
                    left -= 1;
                    if left == 0 {
                        // The round is over. If the next round's start has
                        // nothing to do, run its tasks straight away.
                        left = self.shared.reactor.borrow().ready_if_no_round_work();
                        if left == 0 {
                            break;
                        }
                    }
                }
                continue;
            }
            // Nothing is ready.
            let (live, next, clock_is_virtual, io_waits) = {
                let reactor = self.shared.reactor.borrow();
                (
                    reactor.live,
                    reactor.next_deadline(),
                    reactor.clock.is_virtual(),
                    reactor.io_waits,
                )
            };
            match stop {
                Stop::Idle => return Ok(()),
                Stop::AllDone if live == 0 => return Ok(()),
                Stop::Deadline(deadline) => {
                    let target = match next {
                        Some(next) if next <= deadline => next,
                        _ => deadline,
                    };
                    if self.now() >= deadline && next.is_none_or(|n| n > deadline) {
                        return Ok(());
                    }
                    self.wait_until(Some(target), clock_is_virtual, io_waits);
                    continue;
                }
                _ => {}
            }
            if live == 0 {
                // A task or state condition that nothing left can satisfy.
                return Err(self.deadlock());
            }
            match next {
                Some(next) => self.wait_until(Some(next), clock_is_virtual, io_waits),
                None if io_waits > 0 => self.wait_until(None, clock_is_virtual, io_waits),
                None => return Err(self.deadlock()),
            }
        }
    }

    /// Lets time pass until `until`, or until an I/O event arrives (with
    /// `until == None`: only an I/O event ends the wait).
    fn wait_until(&mut self, until: Option<Instant>, clock_is_virtual: bool, io_waits: usize) {
        let _ = io_waits;
        if clock_is_virtual {
            match until {
                Some(until) => self.shared.reactor.borrow_mut().advance_to(until),
                // Virtual time cannot help: only a socket can.
                None => self.block_on_io(None),
            }
            return;
        }
        let timeout = until.map(|until| until - self.now());
        self.block_on_io(timeout);
    }

    #[cfg(feature = "io")]
    fn block_on_io(&mut self, timeout: Option<Duration>) {
        self.shared.reactor.borrow_mut().poll_io(timeout);
    }

    #[cfg(not(feature = "io"))]
    fn block_on_io(&mut self, timeout: Option<Duration>) {
        if let Some(timeout) = timeout {
            std::thread::sleep(timeout);
        }
    }

    fn deadlock(&self) -> Deadlock {
        Deadlock {
            tasks: self.shared.reactor.borrow().task_list(),
        }
    }

    /// Resumes the first ready task until it waits, returns or panics.
    #[inline]
    fn step(&mut self) {
        let next = {
            let mut reactor = self.shared.reactor.borrow_mut();
            loop {
                let Some(id) = reactor.ready.pop_front() else {
                    return;
                };
                match reactor.hot_mut(id) {
                    Some(Hot {
                        state: state @ TaskState::Ready,
                        handle: Some(handle),
                        ..
                    }) => {
                        *state = TaskState::Running;
                        break (id, *handle);
                    }
                    _ => continue, // ended meanwhile
                }
            }
        };
        let (id, handle) = next;
        self.shared.clear_parked(id);
        let result = panic::catch_unwind(AssertUnwindSafe(|| self.stage.resume(handle, ())));
        match result {
            Ok(Ok(Resumed::Yield(()))) => {
                if !self.shared.did_park(id) {
                    self.bare_suspend(id);
                }
            }
            Ok(Ok(Resumed::Return(()))) => finish_task(&self.shared, id, |_| {}),
            Ok(Err(err)) => {
                // The coroutine ended behind the driver's back (for example,
                // it was cancelled through the bare stage).
                let kind = err.kind();
                finish_task(&self.shared, id, |finish| {
                    if kind == ErrorKind::Panicked {
                        finish.panicked(None);
                    } else {
                        finish.cancelled();
                    }
                });
            }
            Err(payload) => finish_task(&self.shared, id, |finish| {
                finish.panicked(Some(payload));
            }),
        }
    }

    /// The task yielded without parking through the driver: a bare
    /// `suspend`, treated as `yield_now`.
    #[cold]
    fn bare_suspend(&mut self, id: CoroutineId) {
        let mut reactor = self.shared.reactor.borrow_mut();
        if reactor
            .hot(id)
            .is_some_and(|h| h.state == TaskState::Running)
        {
            reactor.requeue(id);
        }
    }
}

impl<S: 'static> fmt::Debug for Driver<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reactor = self.shared.reactor.borrow();
        f.debug_struct("Driver")
            .field("now", &reactor.now())
            .field("live_tasks", &reactor.live)
            .field("ready", &reactor.ready.len())
            .field("timers", &reactor.pending_timers())
            .finish_non_exhaustive()
    }
}
