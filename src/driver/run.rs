//! [`Driver`]: owns a stage, runs its tasks as events arrive, and the run
//! loop that does it.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use super::handle::{DriverHandle, RemoteHandle};
use super::join::{FinishGuard, JoinError, JoinHandle, finish_task, finished_error};
use super::observe::Observe;
use super::reactor::Instant;
use super::reactor::TaskHandle;
use super::reactor::choice::Schedule;
use super::report::{Deadlock, TaskInfo};
use super::task::{Task, spawn_task};
use super::timeline::Timeline;
use crate::effect::{Eff, Yields};
use crate::error::{CoroutineId, Error, SpawnError};
use crate::options::SpawnOptions;
use crate::resumed::Resumed;
use crate::stage::Stage;
use crate::stats::Stats;

/// What resuming a task returns.
type StepResult = Result<Resumed<(), ()>, crate::error::ResumeError<()>>;

/// Owns a stage and runs its tasks as events arrive. See the
/// [module docs](super).
pub struct Driver<S: 'static> {
    // Field order matters: other threads are told first that the driver is
    // gone, then the stage (and with it every task, whose cleanup may touch
    // the reactor) is dropped, then the books of the tasks it tore down are
    // closed, then the driver's handle.
    _gone: CloseRemote,
    stage: Stage<S>,
    _ends: EndAll,
    handle: DriverHandle,
    /// The timeline and the slow-step report, if asked for.
    observe: Option<Box<Observe>>,
}

/// Closes the books of every task still listed once the stage has torn
/// them down (the driver is being dropped): their handles say
/// [`JoinError::Cancelled`] (or `Panicked` without payload, if the
/// teardown panicked), their scopes hear of their end.
struct EndAll(DriverHandle);

impl Drop for EndAll {
    fn drop(&mut self) {
        let panicking = std::thread::panicking();
        let entries = self.0.shared().reactor.borrow_mut().take_all_tasks();
        for (id, entry) in &entries {
            if panicking {
                entry.finish.panicked(None);
            } else {
                entry.finish.cancelled();
            }
            entry.finish.ended(*id);
        }
        drop(entries);
    }
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

/// How a run ended, when it did not deadlock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// What the run waited for happened.
    Met,
    /// Another thread asked the driver to stop
    /// ([`RemoteHandle::stop`](super::RemoteHandle::stop)).
    Stopped,
}

/// What an idle driver waits for, for a run inside another runtime.
#[cfg(feature = "tokio")]
pub(crate) struct Outlook {
    pub(crate) ready: usize,
    pub(crate) live: usize,
    pub(crate) next: Option<Instant>,
    pub(crate) clock_is_virtual: bool,
}

/// Tells other threads the driver is gone (their sends fail and give the
/// message back, its wakers do nothing), before the stage, with every
/// task, is dropped.
struct CloseRemote(DriverHandle);

impl Drop for CloseRemote {
    fn drop(&mut self) {
        self.0.shared().close_remote();
    }
}

impl<S: 'static> Driver<S> {
    pub(crate) fn new_with(
        stage: Stage<S>,
        handle: DriverHandle,
        observe: Option<Box<Observe>>,
    ) -> Self {
        Driver {
            _gone: CloseRemote(handle.clone()),
            stage,
            _ends: EndAll(handle.clone()),
            handle,
            observe,
        }
    }

    /// The choices of schedule exploration made so far, if the driver was
    /// built with [`DriverBuilder::explore`](super::DriverBuilder::explore)
    /// or [`DriverBuilder::replay`](super::DriverBuilder::replay): the
    /// schedule that replays this run.
    pub fn schedule(&self) -> Option<Schedule> {
        let reactor = self.handle.shared().reactor.borrow();
        reactor.chooser.as_ref().map(|c| c.schedule().clone())
    }

    /// How many tasks each round had, when exploring.
    pub(crate) fn round_sizes(&self) -> Vec<usize> {
        let reactor = self.handle.shared().reactor.borrow();
        reactor
            .chooser
            .as_ref()
            .map_or_else(Vec::new, |c| c.sizes().to_vec())
    }

    /// The steps recorded so far, if the driver was built with
    /// [`DriverBuilder::timeline`](super::DriverBuilder::timeline).
    pub fn timeline(&self) -> Option<&Timeline> {
        self.observe.as_ref()?.timeline.as_ref()
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

    /// The driver's handle, which makes channels, notify objects, events,
    /// intervals and sockets.
    pub fn handle(&self) -> &DriverHandle {
        &self.handle
    }

    /// The driver's current time.
    pub fn now(&self) -> Instant {
        self.handle.now()
    }

    /// A handle for other threads (see [`RemoteHandle`]):
    /// `self.handle().remote()`.
    pub fn remote(&self) -> RemoteHandle {
        self.handle.remote()
    }

    /// Counters of the underlying stage and of the process's stacks.
    pub fn stats(&self) -> Stats {
        self.stage.stats()
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
        let handle = self.handle.clone();
        let stage = &mut self.stage;
        spawn_task(
            |wrapper| stage.spawn_with(options, wrapper),
            handle,
            options,
            body,
        )
    }

    /// The stage, for spawning and cancelling tasks in other rooms.
    pub(crate) fn stage_mut(&mut self) -> &mut Stage<S> {
        &mut self.stage
    }

    /// Cancels a task, on the main stack: its pending wait returns
    /// `Err(Interrupt)` and it unwinds, before this call returns (its
    /// cleanup cannot wait: see [`Task::shield`]). `Ok(())` if it was live; an
    /// [`ErrorKind::Finished`](crate::ErrorKind::Finished) error if it had already finished.
    /// To cancel without running the task now, see [`JoinHandle::abort`].
    ///
    /// # Panics
    ///
    /// A panic raised by the task's cleanup propagates out of this call
    /// (its joiner then sees [`JoinError::Panicked`] without payload).
    pub fn cancel<R>(&mut self, handle: &JoinHandle<R>) -> Result<(), Error> {
        let shared = self.handle.shared();
        let Some(target) = shared.reactor.borrow().tasks.handle(handle.id) else {
            return Err(finished_error(handle));
        };
        let _finish = FinishGuard::new(shared, handle.id);
        self.stage.cancel(target).map(drop)
    }

    /// Tears down every task, as dropping the driver does (each one's
    /// pending wait returns `Err(Interrupt)` and its cleanup runs, without
    /// waiting), and returns the state, which the cleanup may still have
    /// touched.
    ///
    /// ```
    /// use coshare::driver::{DriverBuilder, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// let mut driver = DriverBuilder::new().virtual_clock().build(Vec::new());
    /// driver
    ///     .spawn(|t: &mut Task<Vec<&str>>| -> Eff<Yields, ()> {
    ///         t.state().push("started");
    ///         let stop = t.handle().event();
    ///         let outcome = t.wait_event(&stop); // never set
    ///         t.state().push("cancelled");
    ///         outcome
    ///     })
    ///     .unwrap();
    /// driver.run_until_idle();
    /// assert_eq!(driver.into_state(), ["started", "cancelled"]);
    /// ```
    ///
    /// # Panics
    ///
    /// If a task's cleanup panicked, the panic is resumed after the
    /// teardown finished (and the state is dropped).
    pub fn into_state(self) -> S {
        let Driver {
            _gone,
            stage,
            _ends,
            handle,
            observe,
        } = self;
        drop(_gone);
        let state = stage.into_state();
        drop((_ends, handle, observe));
        state
    }

    /// Every live task and what it waits on, in slot order.
    pub fn tasks(&self) -> Vec<TaskInfo> {
        self.handle.shared().reactor.borrow().task_list()
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
        self.drive(Stop::AllDone).map(drop)
    }

    /// Runs until driver time reaches `deadline` and nothing is ready. A
    /// virtual clock ends exactly at `deadline`; a real one sleeps until it.
    pub fn run_until(&mut self, deadline: Instant) -> Result<(), Deadlock> {
        self.drive(Stop::Deadline(deadline)).map(drop)
    }

    /// Runs for `duration` of driver time (see [`run_until`](Driver::run_until)).
    pub fn run_for(&mut self, duration: Duration) -> Result<(), Deadlock> {
        let deadline = self.now() + duration;
        self.drive(Stop::Deadline(deadline)).map(drop)
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
        self.drive(Stop::State(&mut condition)).map(drop)
    }

    /// Runs until the task of `handle` has finished, and takes its result.
    /// A [`stop`](super::RemoteHandle::stop) request does not end it; it
    /// ends the next run instead.
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
                let shared = self.handle.shared();
                let ended = shared.ended.get();
                if ended == *ended_seen {
                    return false;
                }
                *ended_seen = ended;
                shared.reactor.borrow().tasks.entry(*id).is_none()
            }
            Stop::State(condition) => condition(self.stage.state()),
        }
    }

    /// Takes what other threads left in the inbox; `true` if one asked the
    /// run to stop (a run for one task's end leaves that request for the
    /// next run).
    #[cold]
    #[inline(never)]
    fn take_remote(&self, stop: &Stop<'_, S>) -> bool {
        self.handle.shared().take_remote();
        self.take_stop(stop)
    }

    /// Takes a stop request, unless the run is for one task's end.
    fn take_stop(&self, stop: &Stop<'_, S>) -> bool {
        if matches!(stop, Stop::Task(_)) {
            return false;
        }
        let core = self.handle.shared().reactor.borrow().remote.clone();
        core.is_some_and(|core| core.take_stop())
    }

    /// Runs rounds until nothing is ready, or until about `steps` task steps
    /// were taken; for a run inside another runtime, which must hand the
    /// thread back now and then. The rounds are those of the run loop
    /// (remote inbox, I/O events, due timers, then the tasks ready at the
    /// start of the round), written apart from it so that the budget costs
    /// the run loop nothing.
    #[cfg(feature = "tokio")]
    pub(crate) fn run_steps(&mut self, steps: u32) -> Ended {
        let idle = Stop::Idle;
        if self.take_stop(&idle) {
            return Ended::Stopped;
        }
        let mut left = steps;
        let watched = self.watched();
        loop {
            let ready_now = {
                let mut reactor = self.handle.shared().reactor.borrow_mut();
                if reactor.remote_notified() {
                    drop(reactor);
                    if self.take_remote(&idle) {
                        return Ended::Stopped;
                    }
                    reactor = self.handle.shared().reactor.borrow_mut();
                }
                if reactor.has_sockets() {
                    reactor.poll_io(Some(Duration::ZERO));
                }
                if reactor.has_timers() {
                    let now = reactor.now();
                    reactor.fire_due(now);
                }
                let ready_now = reactor.ready_len();
                if watched {
                    reactor.begin_round(ready_now);
                }
                ready_now
            };
            if ready_now == 0 {
                return Ended::Met;
            }
            for _ in 0..ready_now {
                if watched {
                    self.step_watched();
                } else {
                    self.step();
                }
            }
            left = left.saturating_sub(ready_now.try_into().unwrap_or(u32::MAX));
            if left == 0 {
                return Ended::Met;
            }
        }
    }

    /// Lets a virtual clock jump to `until` (a run inside another runtime
    /// with nothing ready).
    #[cfg(feature = "tokio")]
    pub(crate) fn advance_virtual(&mut self, until: Instant) {
        self.handle
            .shared()
            .reactor
            .borrow_mut()
            .clock
            .advance_to(until);
    }

    /// What an idle driver waits for.
    #[cfg(feature = "tokio")]
    pub(crate) fn outlook(&self) -> Outlook {
        let mut reactor = self.handle.shared().reactor.borrow_mut();
        Outlook {
            ready: reactor.ready_len(),
            live: reactor.tasks.live(),
            next: reactor.next_deadline(),
            clock_is_virtual: reactor.clock.is_virtual(),
        }
    }

    /// Whether each step is watched: the task's span, the timeline, slow
    /// steps, or an exploring driver's choices.
    fn watched(&self) -> bool {
        let exploring = self.handle.shared().reactor.borrow().chooser.is_some();
        exploring || self.observe.is_some() || cfg!(feature = "tracing")
    }

    /// The run loop. See "Order of wake-ups" in the module docs.
    fn drive(&mut self, stop: Stop<'_, S>) -> Result<Ended, Deadlock> {
        // Two copies of the loop: one that watches each step, and one that
        // does not and pays nothing for it.
        if self.watched() {
            self.drive_loop::<true>(stop)
        } else {
            self.drive_loop::<false>(stop)
        }
    }

    /// The run loop, with (`WATCHED`) or without what is watched of each
    /// step.
    fn drive_loop<const WATCHED: bool>(
        &mut self,
        mut stop: Stop<'_, S>,
    ) -> Result<Ended, Deadlock> {
        // Differs from the count, so that the first check looks.
        let mut ended_seen = self.handle.shared().ended.get().wrapping_sub(1);
        // A request left by a run that did not take it (`block_on`).
        if self.take_stop(&stop) {
            return Ok(Ended::Stopped);
        }
        loop {
            if self.stop_met(&mut stop, &mut ended_seen) {
                return Ok(Ended::Met);
            }
            // A round: take what other threads sent, take I/O events, fire
            // due timers, then run the tasks ready now.
            let ready_now = {
                let mut reactor = self.handle.shared().reactor.borrow_mut();
                if reactor.remote_notified() {
                    drop(reactor);
                    if self.take_remote(&stop) {
                        return Ok(Ended::Stopped);
                    }
                    reactor = self.handle.shared().reactor.borrow_mut();
                }
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
                let ready_now = reactor.ready_len();
                if WATCHED {
                    reactor.begin_round(ready_now);
                }
                ready_now
            };
            if ready_now > 0 {
                let mut left = ready_now;
                loop {
                    if WATCHED {
                        self.step_watched();
                    } else {
                        self.step();
                    }
                    if self.stop_met(&mut stop, &mut ended_seen) {
                        return Ok(Ended::Met);
                    }
                    left -= 1;
                    if left == 0 {
                        // The round is over. If the next round's start has
                        // nothing to do, run its tasks straight away.
                        let mut reactor = self.handle.shared().reactor.borrow_mut();
                        left = reactor.ready_if_no_round_work();
                        if left == 0 {
                            break;
                        }
                        if WATCHED {
                            reactor.begin_round(left);
                        }
                    }
                }
                continue;
            }
            // Nothing is ready.
            let (live, next, clock_is_virtual, io_waits) = {
                let mut reactor = self.handle.shared().reactor.borrow_mut();
                (
                    reactor.tasks.live(),
                    reactor.next_deadline(),
                    reactor.clock.is_virtual(),
                    reactor.io_waits,
                )
            };
            match stop {
                Stop::Idle => return Ok(Ended::Met),
                Stop::AllDone if live == 0 => return Ok(Ended::Met),
                Stop::Deadline(deadline) => {
                    let target = match next {
                        Some(next) if next <= deadline => next,
                        _ => deadline,
                    };
                    if self.now() >= deadline && next.is_none_or(|n| n > deadline) {
                        return Ok(Ended::Met);
                    }
                    self.wait_until(Some(target), clock_is_virtual);
                    continue;
                }
                _ => {}
            }
            if live == 0 {
                // A task or state condition that nothing left can satisfy.
                return Err(self.deadlock());
            }
            match next {
                Some(next) => self.wait_until(Some(next), clock_is_virtual),
                None if io_waits > 0 => self.wait_until(None, clock_is_virtual),
                None => return Err(self.deadlock()),
            }
        }
    }

    /// Lets time pass until `until`, or until an I/O event or a request
    /// from another thread arrives (with `until == None`: only those end
    /// the wait). A virtual clock jumps to `until` at once.
    ///
    /// Before blocking, the driver says it is idle and looks at the remote
    /// inbox once more (see the protocol in `reactor/remote.rs`): a request
    /// that arrived since the round started ends the wait before it begins.
    fn wait_until(&mut self, until: Option<Instant>, clock_is_virtual: bool) {
        let shared = self.handle.shared();
        if let (true, Some(until)) = (clock_is_virtual, until) {
            shared.reactor.borrow_mut().clock.advance_to(until);
            return;
        }
        let core = shared.reactor.borrow().remote.clone();
        if core.as_ref().is_some_and(|core| !core.enter_idle()) {
            return;
        }
        {
            let mut reactor = shared.reactor.borrow_mut();
            // Virtual time cannot help here: only a socket or another
            // thread can.
            let timeout = until.map(|until| until - reactor.now());
            reactor.poll_io(timeout);
        }
        if let Some(core) = core {
            core.leave_idle();
        }
    }

    fn deadlock(&self) -> Deadlock {
        Deadlock {
            tasks: self.tasks(),
        }
    }

    /// Resumes the first ready task until it waits, returns or panics.
    ///
    /// A task parks itself: before it suspends, its wait (or `yield_now`)
    /// has already recorded where it waits or queued it again, so a yield
    /// needs nothing here.
    #[inline]
    fn step(&mut self) {
        let Some(task) = self.handle.shared().reactor.borrow_mut().next_ready() else {
            return;
        };
        let result = panic::catch_unwind(AssertUnwindSafe(|| self.stage.resume(task, ())));
        self.after_step(task, result);
    }

    /// [`step`](Driver::step) with what is watched: the task's `tracing`
    /// span entered while it runs, the timeline, slow steps.
    #[inline(never)]
    fn step_watched(&mut self) {
        let Some(task) = self.handle.shared().reactor.borrow_mut().next_ready() else {
            return;
        };
        #[cfg(feature = "tracing")]
        let span = self.task_span(task.id());
        #[cfg(feature = "tracing")]
        let entered = span.enter();
        let watch = self
            .observe
            .as_ref()
            .map(|observe| observe.before(self.handle.shared(), task.id()));
        let result = panic::catch_unwind(AssertUnwindSafe(|| self.stage.resume(task, ())));
        #[cfg(feature = "tracing")]
        drop(entered);
        self.after_step(task, result);
        if let (Some(observe), Some(watch)) = (&mut self.observe, watch) {
            observe.after(self.handle.shared(), watch);
        }
    }

    /// The span of the task `id`, entered while it runs.
    #[cfg(feature = "tracing")]
    fn task_span(&self, id: CoroutineId) -> tracing::Span {
        let reactor = self.handle.shared().reactor.borrow();
        reactor
            .tasks
            .entry(id)
            .map_or_else(tracing::Span::none, |entry| entry.span.clone())
    }

    /// Ends the bookkeeping of a step: a task that returned or panicked is
    /// finished.
    #[inline(always)]
    fn after_step(&mut self, task: TaskHandle, result: std::thread::Result<StepResult>) {
        let shared = self.handle.shared();
        match result {
            Ok(Ok(Resumed::Yield(()))) => {}
            // The body's value is already in the task's join cell.
            Ok(Ok(Resumed::Return(()))) => finish_task(shared, task.id(), |_| {}),
            Ok(Err(error)) => unreachable!(
                "a task's coroutine is resumed only by the driver, and only while live: {error}"
            ),
            Err(payload) => finish_task(shared, task.id(), |finish| {
                finish.panicked(Some(payload));
            }),
        }
    }
}

impl<S: 'static> fmt::Debug for Driver<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reactor = self.handle.shared().reactor.borrow();
        f.debug_struct("Driver")
            .field("now", &reactor.now())
            .field("live_tasks", &reactor.tasks.live())
            .field("ready", &reactor.ready_len())
            .field("timers", &reactor.pending_timers())
            .finish_non_exhaustive()
    }
}
