//! The driver's bookkeeping: timers, ready queue, task table, each task's
//! interrupt control and (with the `io` feature) the poller.
//!
//! Everything here is reached through one `Rc<Shared>`, held by the driver,
//! by its [`DriverHandle`](super::DriverHandle)s, and so by every task and
//! every channel, notify and event object. The `RefCell` inside is borrowed
//! only for short, non-switching sections of library code, never across a
//! yield point and never while user code runs (no user value is dropped
//! while it is borrowed), so a borrow can never fail.
//!
//! This room knows nothing of sources, tasks' bodies or the run loop: it is
//! the layer they all stand on.
//!
//! Other threads reach a driver only through its [`RemoteCore`] (in
//! `remote.rs`, with the wake-up protocol): an inbox the run loop takes at
//! the start of a round. A wake from the driver's own thread (a future's
//! `Waker` called by another future of the same thread) skips the inbox:
//! [`wake_from_anywhere`] finds the driver through a thread-local list and
//! marks the task ready directly.

pub(crate) mod choice;
pub(crate) mod control;
#[cfg(feature = "io")]
pub(crate) mod poller;
mod ready;
pub(crate) mod remote;
pub(crate) mod tasks;
mod timers;

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::sync::Arc;

pub(crate) use super::clock::Clock;
pub use super::clock::Instant;
use ready::ReadyQueue;
pub use remote::DriverGone;
pub(crate) use remote::RemoteCore;
use remote::{Inbox, Signal};
pub use tasks::Waiter;
use tasks::{Finish, TaskEntry, TaskTable};
pub(crate) use timers::TimerKey;
use timers::Timers;

use super::report::{TaskInfo, WaitOn};
use crate::error::CoroutineId;
use crate::handle::Handle;

/// A task's coroutine, as the driver resumes it.
pub(crate) type TaskHandle = Handle<(), (), ()>;

/// The driver's mutable bookkeeping.
pub(crate) struct Reactor {
    pub(crate) clock: Clock,
    timers: Timers,
    /// Tasks to run, in the order they became ready.
    ready: ReadyQueue,
    pub(crate) tasks: TaskTable<TaskHandle>,
    next_object: u64,
    /// Tasks waiting on something outside the driver: a socket, a remote
    /// channel, a future (so that waiting is not a deadlock).
    pub(crate) io_waits: usize,
    /// The poller, created with the first socket (or the remote core).
    #[cfg(feature = "io")]
    pub(crate) poller: Option<Box<poller::Poller>>,
    /// Schedule exploration's choices, when exploring.
    pub(crate) chooser: Option<Box<choice::Chooser>>,
    /// What other threads reach, made the first time something needs it.
    pub(crate) remote: Option<Arc<RemoteCore>>,
    /// The vectors the inbox is swapped into, kept to be reused.
    spare: Inbox,
    /// Events that can be set from other threads, by id.
    latches: Vec<(u64, Weak<dyn Latch>)>,
    /// While the driver awaits inside another runtime: the waker of that
    /// await, woken by the first wake-up (async code on the same thread
    /// sending to a task, say).
    idle_waker: Option<std::task::Waker>,
}

/// Something the inbox can set by id: an event with a remote setter.
pub(crate) trait Latch {
    /// Sets it, waking its waiters (outside any borrow of the reactor).
    fn set(&self);
}

thread_local! {
    /// The drivers of this thread that have a remote core, by core id: how
    /// a wake from the driver's own thread finds the reactor.
    static LOCAL: RefCell<Vec<(u64, Weak<Shared>)>> = const { RefCell::new(Vec::new()) };
}

/// The driver of remote core `id`, if it lives on this thread.
fn local_driver(id: u64) -> Option<Rc<Shared>> {
    LOCAL
        .try_with(|local| {
            let local = local.try_borrow().ok()?;
            let (_, shared) = local.iter().find(|(core, _)| *core == id)?;
            shared.upgrade()
        })
        .ok()
        .flatten()
}

/// Wakes `waiter` from any thread. On the driver's own thread, when the
/// reactor is free (the driver is between steps, or awaits inside another
/// runtime, which the wake then wakes), the task is marked ready directly;
/// from another thread (or inside a reactor borrow) the wake goes
/// through the inbox. `false` if the driver is gone.
pub(crate) fn wake_from_anywhere(core: &RemoteCore, waiter: Waiter) -> bool {
    if let Some(shared) = local_driver(core.id) {
        if let Ok(mut reactor) = shared.reactor.try_borrow_mut() {
            reactor.wake(waiter);
            return true;
        }
    }
    core.push(|inbox| inbox.wakes.push(waiter))
}

/// The reactor, shared by the driver, its tasks and its objects.
pub(crate) struct Shared {
    pub(crate) reactor: RefCell<Reactor>,
    /// How many tasks have ended so far, so that a run waiting for one task
    /// looks it up only after some task ended.
    pub(crate) ended: Cell<u64>,
}

impl Shared {
    pub(crate) fn new(clock: Clock) -> Rc<Shared> {
        Rc::new(Shared {
            reactor: RefCell::new(Reactor {
                clock,
                timers: Timers::default(),
                ready: ReadyQueue::default(),
                tasks: TaskTable::default(),
                next_object: 1,
                io_waits: 0,
                #[cfg(feature = "io")]
                poller: None,
                chooser: None,
                remote: None,
                spare: Inbox::default(),
                latches: Vec::new(),
                idle_waker: None,
            }),
            ended: Cell::new(0),
        })
    }

    /// Wakes `waiter` if it is still current (see [`tasks`]).
    #[inline(always)]
    pub(crate) fn wake(&self, waiter: Waiter) -> bool {
        self.reactor.borrow_mut().wake(waiter)
    }

    /// The driver's current time.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.reactor.borrow().now()
    }

    /// The driver's remote core, made on first use. With the `io` feature
    /// this makes the poller too: an idle driver then always blocks in its
    /// mio poll, which the core's `mio::Waker` ends.
    ///
    /// # Panics
    ///
    /// With the `io` feature, if the poller or its waker cannot be made
    /// (the process is out of file descriptors).
    pub(crate) fn remote(self: &Rc<Self>) -> Arc<RemoteCore> {
        let mut reactor = self.reactor.borrow_mut();
        if let Some(core) = &reactor.remote {
            return Arc::clone(core);
        }
        #[cfg(feature = "io")]
        let signal = {
            let poller = match &mut reactor.poller {
                Some(poller) => poller,
                none => none.insert(Box::new(
                    poller::Poller::new().expect("make the driver's poller for remote wake-ups"),
                )),
            };
            Signal::Poll(
                poller
                    .waker()
                    .expect("make the driver's waker for remote wake-ups"),
            )
        };
        #[cfg(not(feature = "io"))]
        let signal = Signal::Thread(std::thread::current());
        let core = RemoteCore::new(signal);
        LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            local.retain(|(_, shared)| shared.strong_count() > 0);
            local.push((core.id, Rc::downgrade(self)));
        });
        reactor.remote = Some(Arc::clone(&core));
        core
    }

    /// The driver is being dropped: other threads' requests are refused
    /// from now on, and its wakers do nothing.
    pub(crate) fn close_remote(&self) {
        let Some(core) = self.reactor.borrow().remote.clone() else {
            return;
        };
        core.close();
        let _ = LOCAL.try_with(|local| {
            if let Ok(mut local) = local.try_borrow_mut() {
                local.retain(|(id, _)| *id != core.id);
            }
        });
    }

    /// Makes `latch` settable from other threads under `id`.
    pub(crate) fn add_latch(&self, id: u64, latch: Weak<impl Latch + 'static>) {
        let mut reactor = self.reactor.borrow_mut();
        reactor.latches.retain(|(_, l)| l.strong_count() > 0);
        if !reactor.latches.iter().any(|(known, _)| *known == id) {
            reactor.latches.push((id, latch as Weak<dyn Latch>));
        }
    }

    /// Takes the inbox: wakes the waits other threads woke, then sets the
    /// events they set (outside the reactor's borrow: setting wakes).
    pub(crate) fn take_remote(&self) {
        let latches: Vec<Rc<dyn Latch>> = {
            let mut reactor = self.reactor.borrow_mut();
            let Some(core) = reactor.remote.clone() else {
                return;
            };
            let mut inbox = std::mem::take(&mut reactor.spare);
            core.take(&mut inbox);
            for waiter in inbox.wakes.drain(..) {
                reactor.wake(waiter);
            }
            let latches = inbox
                .events
                .drain(..)
                .filter_map(|id| {
                    let (_, latch) = reactor.latches.iter().find(|(known, _)| *known == id)?;
                    latch.upgrade()
                })
                .collect();
            reactor.spare = inbox;
            latches
        };
        for latch in latches {
            latch.set();
        }
    }
}

impl Reactor {
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// A fresh id for a channel, notify or event (for descriptions).
    pub(crate) fn object_id(&mut self) -> u64 {
        let id = self.next_object;
        self.next_object += 1;
        id
    }

    /// Makes the waiter's task ready if this is still its current wait.
    #[inline]
    pub(crate) fn wake(&mut self, waiter: Waiter) -> bool {
        let woken = self.tasks.wake(waiter);
        if woken {
            self.ready.push_back(waiter.task);
            if self.idle_waker.is_some() {
                self.wake_idle();
            }
        }
        woken
    }

    /// A task became ready while the driver awaits inside another runtime:
    /// wake that await.
    #[cold]
    #[inline(never)]
    fn wake_idle(&mut self) {
        if let Some(waker) = self.idle_waker.take() {
            waker.wake();
        }
    }

    /// Sets (or clears) the waker of the driver's await inside another
    /// runtime.
    #[cfg(feature = "tokio")]
    pub(crate) fn set_idle_waker(&mut self, waker: Option<std::task::Waker>) {
        self.idle_waker = waker;
    }

    /// Adds a newly spawned task, ready to run.
    pub(crate) fn add_task(
        &mut self,
        handle: TaskHandle,
        name: Option<Rc<str>>,
        finish: Rc<dyn Finish>,
    ) {
        let id = handle.id();
        self.tasks.add(id, handle, name, finish);
        self.ready.push_back(id);
    }

    /// Removes a finished task and wakes the tasks joining it. Returns the
    /// entry, for the caller to drop outside the reactor's borrow.
    #[must_use]
    pub(crate) fn remove_task(&mut self, id: CoroutineId) -> Option<TaskEntry> {
        let mut entry = self.tasks.remove(id)?;
        for waiter in std::mem::take(&mut entry.joiners) {
            self.wake(waiter);
        }
        Some(entry)
    }

    /// Removes every task (the driver is being dropped), with its id.
    #[must_use]
    pub(crate) fn take_all_tasks(&mut self) -> Vec<(CoroutineId, TaskEntry)> {
        self.ready = ReadyQueue::default();
        self.tasks.take_all()
    }

    /// Starts a new wait for the running task (see [`TaskTable::begin_wait`]).
    #[inline(always)]
    pub(crate) fn begin_wait(
        &mut self,
        id: CoroutineId,
        wait: WaitOn,
        location: &'static std::panic::Location<'static>,
    ) -> Waiter {
        self.tasks.begin_wait(id, wait, location)
    }

    /// The running task yields without waiting on anything: it goes to the
    /// back of the ready queue.
    pub(crate) fn requeue(&mut self, id: CoroutineId) {
        self.tasks.yield_again(id);
        self.ready.push_back(id);
    }

    /// The next queued task that is still ready, marked running, with its
    /// handle.
    #[inline]
    pub(crate) fn next_ready(&mut self) -> Option<TaskHandle> {
        loop {
            let id = self.ready.pop_front()?;
            if let Some(handle) = self.tasks.start(id) {
                return Some(handle);
            }
            // Ended (or was queued twice) meanwhile.
        }
    }

    /// How many tasks are queued.
    #[inline]
    pub(crate) fn ready_len(&self) -> usize {
        self.ready.len()
    }

    pub(crate) fn add_timer(&mut self, deadline: Instant, waiter: Waiter) -> TimerKey {
        let deadline = match &mut self.chooser {
            // Exploring: a timer may fire late, never early.
            Some(chooser) => deadline + chooser.timer_delay(),
            None => deadline,
        };
        self.timers.add(deadline, waiter)
    }

    /// A round of `n` tasks starts: an exploring driver picks their order.
    pub(crate) fn begin_round(&mut self, n: usize) {
        if let Some(chooser) = &mut self.chooser {
            if n > 0 {
                let order = chooser.round_order(n);
                self.ready.permute_front(&order);
            }
        }
    }

    /// A timer that wakes the task `id` at `deadline` in whatever wait it
    /// is in then: a cancel scope's deadline.
    pub(crate) fn add_task_timer(&mut self, deadline: Instant, id: CoroutineId) -> TimerKey {
        let waiter = Waiter {
            task: id,
            seq: std::num::NonZeroU64::MIN,
        };
        self.timers.add_for_task(deadline, waiter)
    }

    /// Makes the task `id` ready if it waits, whatever it waits on.
    pub(crate) fn wake_task(&mut self, id: CoroutineId) -> bool {
        let woken = self.tasks.wake_task(id);
        if woken {
            self.ready.push_back(id);
        }
        woken
    }

    /// Requests the cancellation of the task `id` (if it is live): its
    /// current or next wait returns `Err(Interrupt)`, unless it is inside a
    /// shield. Wakes it if it waits and no shield hides the request.
    pub(crate) fn abort_task(&mut self, id: CoroutineId) {
        let visible = match self.tasks.entry(id) {
            Some(entry) => entry.finish.request_abort(),
            None => return,
        };
        if visible {
            self.wake_task(id);
        }
    }

    pub(crate) fn remove_timer(&mut self, key: TimerKey) {
        self.timers.remove(key);
    }

    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    pub(crate) fn pending_timers(&self) -> usize {
        self.timers.len()
    }

    /// Whether any timer is pending.
    #[inline]
    pub(crate) fn has_timers(&self) -> bool {
        !self.timers.is_empty()
    }

    /// Whether any socket is registered.
    #[inline]
    pub(crate) fn has_sockets(&self) -> bool {
        #[cfg(feature = "io")]
        return self.poller.as_ref().is_some_and(|p| !p.is_empty());
        #[cfg(not(feature = "io"))]
        return false;
    }

    /// How many tasks are ready, if starting a round has nothing else to
    /// do (no timer is pending and no socket is registered); zero otherwise.
    #[inline]
    pub(crate) fn ready_if_no_round_work(&self) -> usize {
        if self.has_sockets() || self.has_timers() || self.remote_notified() {
            return 0;
        }
        self.ready.len()
    }

    /// Whether other threads left something in the inbox (one relaxed
    /// load, and nothing without a remote core).
    #[inline(always)]
    pub(crate) fn remote_notified(&self) -> bool {
        self.remote.as_ref().is_some_and(|core| core.is_notified())
    }

    /// Fires every timer due at `now`, in deadline-then-creation order.
    pub(crate) fn fire_due(&mut self, now: Instant) {
        let Reactor {
            timers,
            tasks,
            ready,
            ..
        } = self;
        timers.fire_due(now, |waiter, any_wait| {
            let woken = if any_wait {
                tasks.wake_task(waiter.task)
            } else {
                tasks.wake(waiter)
            };
            if woken {
                ready.push_back(waiter.task);
            }
        });
    }

    /// Polls for I/O events, waiting at most `timeout` (`None`: until one
    /// arrives), and wakes the tasks waiting on ready sockets; returns how
    /// many events there were. Without a poller, parks the thread for
    /// `timeout` (a remote wake unparks it; an early return only makes the
    /// run loop look again).
    pub(crate) fn poll_io(&mut self, timeout: Option<std::time::Duration>) -> usize {
        #[cfg(feature = "io")]
        if let Some(poller) = self.poller.as_mut() {
            let Reactor { tasks, ready, .. } = self;
            return poller.poll(timeout, |waiter| {
                if tasks.wake(waiter) {
                    ready.push_back(waiter.task);
                }
            });
        }
        match timeout {
            Some(timeout) => std::thread::park_timeout(timeout),
            None => std::thread::park(),
        }
        0
    }

    /// Every live task with what it waits on, in slot order.
    pub(crate) fn task_list(&self) -> Vec<TaskInfo> {
        self.tasks.list()
    }
}
