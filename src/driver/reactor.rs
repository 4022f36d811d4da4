//! The driver's bookkeeping: clock, timers, ready queue and task table.
//!
//! Everything here is reached through one `Rc<Shared>` held by the driver,
//! by every task and by every channel, notify and event object. The
//! `RefCell` inside is borrowed only for short, non-switching sections of
//! library code, never across a yield point and never while user code runs
//! (no user value is dropped while it is borrowed), so a borrow can never
//! fail.
//!
//! # Wake-ups reach only the wait they were meant for
//!
//! Every time a task parks, its wait sequence number (`seq`) is advanced,
//! and every registration (a timer, a place in a channel's waiter queue)
//! records the pair (task, seq) as a [`Waiter`]. [`Reactor::wake`] makes a
//! task ready only if the task still exists, is waiting, and is waiting
//! under that very `seq`. A late timer or message for an old wait, or for an
//! old occupant of a reused slot (ids carry the slot generation), is dropped.
//! Waking is only a hint: a woken task re-polls what it waits on, so a wake
//! never carries or consumes a message.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU64;
use std::ops::{Add, AddAssign, Sub};
use std::rc::Rc;
use std::time::Duration;

use crate::error::CoroutineId;
use crate::handle::Handle;

/// A point in driver time: the time elapsed since the driver was created,
/// on its clock (real or virtual).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// The driver's start.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    /// The time since the driver's start.
    pub fn since_start(self) -> Duration {
        self.0
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the largest representable instant instead of
    /// overflowing.
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// Saturates at zero.
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// Which clock a driver runs on.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Clock {
    /// Wall time since `start`.
    Real { start: std::time::Instant },
    /// Time that moves only when the driver advances it.
    Virtual { now: Instant },
}

impl Clock {
    pub(crate) fn now(&self) -> Instant {
        match *self {
            Clock::Real { start } => Instant(start.elapsed()),
            Clock::Virtual { now } => now,
        }
    }

    pub(crate) fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual { .. })
    }
}

/// One wait of one task: the task and its wait sequence number. Internal.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waiter {
    pub(crate) task: CoroutineId,
    /// Never zero, so that an `Option<Waiter>` is no bigger than a waiter.
    pub(crate) seq: NonZeroU64,
}

/// What a task waits on, as listed by [`Driver::tasks`](super::Driver::tasks)
/// and in a deadlock report.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitOn {
    /// Ready to run (spawned, woken, or yielded with `yield_now`).
    Ready,
    /// Running now (only seen from inside a task).
    Running,
    /// Sleeping until the instant.
    Sleep {
        /// When the sleep ends.
        until: Instant,
    },
    /// Waiting to receive on a channel.
    Recv {
        /// The channel.
        channel: u64,
    },
    /// Waiting for room to send on a full channel.
    Send {
        /// The channel.
        channel: u64,
        /// Its capacity.
        capacity: usize,
    },
    /// Waiting for another task to finish.
    Join {
        /// The task waited for.
        task: CoroutineId,
        /// Its name, if it has one.
        name: Option<Rc<str>>,
    },
    /// Waiting for a [`Notify`](super::Notify).
    Notify {
        /// The notify object.
        id: u64,
    },
    /// Waiting for an [`Event`](super::Event) to be set.
    Event {
        /// The event object.
        id: u64,
    },
    /// Waiting for the next tick of an [`Interval`](super::Interval).
    Tick {
        /// When the tick is due.
        at: Instant,
    },
    /// Waiting for a socket to become readable or writable.
    Io {
        /// What the socket is waiting for.
        what: &'static str,
        /// The registration token.
        token: usize,
    },
    /// Waiting for whichever of these comes first.
    Any(Vec<WaitOn>),
}

impl fmt::Display for WaitOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitOn::Ready => f.write_str("is ready to run"),
            WaitOn::Running => f.write_str("is running"),
            WaitOn::Sleep { until } => write!(f, "sleeps until {until}"),
            WaitOn::Recv { channel } => write!(f, "waits to receive on channel #{channel}"),
            WaitOn::Send { channel, capacity } => write!(
                f,
                "waits to send on channel #{channel} (full, capacity {capacity})"
            ),
            WaitOn::Join {
                task,
                name: Some(name),
            } => {
                write!(f, "waits for task `{name}` ({task}) to finish")
            }
            WaitOn::Join { task, name: None } => write!(f, "waits for task {task} to finish"),
            WaitOn::Notify { id } => write!(f, "waits on notify #{id}"),
            WaitOn::Event { id } => write!(f, "waits for event #{id}"),
            WaitOn::Tick { at } => write!(f, "waits for an interval tick at {at}"),
            WaitOn::Io { what, token } => write!(f, "waits for socket {token} to become {what}"),
            WaitOn::Any(all) => {
                f.write_str("waits for any of: ")?;
                for (i, w) in all.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{w}")?;
                }
                Ok(())
            }
        }
    }
}

impl WaitOn {
    /// Whether dropping this description frees anything. Exhaustive on
    /// purpose: a new variant must say whether it owns memory.
    #[inline]
    fn owns_heap(&self) -> bool {
        match self {
            WaitOn::Join { name, .. } => name.is_some(),
            WaitOn::Any(_) => true,
            WaitOn::Ready
            | WaitOn::Running
            | WaitOn::Sleep { .. }
            | WaitOn::Recv { .. }
            | WaitOn::Send { .. }
            | WaitOn::Notify { .. }
            | WaitOn::Event { .. }
            | WaitOn::Tick { .. }
            | WaitOn::Io { .. } => false,
        }
    }
}

/// `a == b`, written so that the two halves are compared as one word.
#[inline(always)]
fn same_task(a: CoroutineId, b: CoroutineId) -> bool {
    let word = |id: CoroutineId| u64::from(id.index) | (u64::from(id.generation) << 32);
    word(a) == word(b)
}

#[cold]
#[inline(never)]
fn drop_cold(wait: WaitOn) {
    drop(wait);
}

/// The ready queue: a ring buffer of task ids whose length is a power of
/// two, so that pushing and popping are a few instructions.
#[derive(Default)]
pub(crate) struct ReadyQueue {
    /// Every element is initialized; those outside `head..head + len`
    /// (modulo the length) are stale.
    buf: Vec<CoroutineId>,
    head: usize,
    len: usize,
}

impl ReadyQueue {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn push_back(&mut self, id: CoroutineId) {
        if self.len == self.buf.len() {
            self.grow();
        }
        let mask = self.buf.len() - 1;
        self.buf[(self.head + self.len) & mask] = id;
        self.len += 1;
    }

    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<CoroutineId> {
        if self.len == 0 {
            return None;
        }
        let id = self.buf[self.head];
        self.head = (self.head + 1) & (self.buf.len() - 1);
        self.len -= 1;
        Some(id)
    }

    /// Doubles the buffer (at least 8 slots), keeping the order.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let old = self.buf.len();
        let new = (old * 2).max(8);
        let mut buf = Vec::with_capacity(new);
        buf.extend((0..self.len).map(|k| self.buf[(self.head + k) & (old.max(1) - 1)]));
        let filler = CoroutineId {
            index: u32::MAX,
            generation: 0,
        };
        buf.resize(new, filler);
        self.buf = buf;
        self.head = 0;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskState {
    Ready,
    Running,
    Waiting,
}

/// Type-erased view of a task's join cell, for the driver's bookkeeping.
pub(crate) trait Finish {
    /// Marks a still-running task as panicked.
    fn panicked(&self, payload: Option<Box<dyn std::any::Any + Send>>);
    /// Marks a still-running task as cancelled.
    fn cancelled(&self);
}

/// The part of a task's bookkeeping that every wait and wake-up touches.
/// Slots are never `None`: a free slot holds [`Hot::VACANT`]'s id, which
/// no lookup matches, so a lookup is a bounds check and an id compare.
pub(crate) struct Hot {
    /// The task's id, or `VACANT` for a free slot.
    pub(crate) id: CoroutineId,
    pub(crate) state: TaskState,
    pub(crate) seq: NonZeroU64,
    /// `None` only in a free slot.
    pub(crate) handle: Option<Handle<(), (), ()>>,
    /// What the task waits on; meaningful only while `state` is
    /// `Waiting` (it is not reset when the task wakes, only replaced at its
    /// next wait).
    pub(crate) wait: WaitOn,
}

impl Hot {
    /// The id of a free slot: its index is past any real slot's.
    const VACANT: CoroutineId = CoroutineId {
        index: u32::MAX,
        generation: 0,
    };

    fn vacant() -> Hot {
        Hot {
            id: Hot::VACANT,
            state: TaskState::Ready,
            seq: NonZeroU64::MIN,
            handle: None,
            wait: WaitOn::Ready,
        }
    }
}

/// The rest of a task's bookkeeping, touched only when it is spawned, ends,
/// is joined or is listed.
/// The cold part of a live task's bookkeeping, at the same index as its
/// [`Hot`] part, whose id says which task the slot holds.
pub(crate) struct TaskEntry {
    /// The task's join cell. May hold the last reference to the task's
    /// result: drop entries outside the reactor's borrow.
    pub(crate) finish: Rc<dyn Finish>,
    pub(crate) name: Option<Rc<str>>,
    /// Tasks waiting for this one to finish.
    pub(crate) joiners: Vec<Waiter>,
}

/// The driver's mutable bookkeeping.
pub(crate) struct Reactor {
    pub(crate) clock: Clock,
    /// Pending timers in firing order: deadline, then creation.
    timers: BTreeMap<(Instant, u64), Waiter>,
    timer_seq: u64,
    /// Tasks to run, in the order they became ready.
    pub(crate) ready: ReadyQueue,
    /// Live tasks by slot index: what waits and wake-ups use...
    hot: Vec<Hot>,
    /// ...and the rest, at the same index.
    tasks: Vec<Option<TaskEntry>>,
    pub(crate) live: usize,
    next_object: u64,
    /// Tasks waiting on a socket (so that waiting is not a deadlock).
    pub(crate) io_waits: usize,
    /// The poller, created with the first socket.
    #[cfg(feature = "io")]
    pub(crate) io: Option<Box<super::net::IoDriver>>,
}

/// The reactor, shared by the driver, its tasks and its sync objects.
/// Internal.
#[doc(hidden)]
pub struct Shared {
    pub(crate) reactor: RefCell<Reactor>,
    /// The last task that parked through the driver (a wait or
    /// `yield_now`), set just before it suspends. After a task yields, the
    /// driver compares it with the task's id to tell a driver wait from a
    /// bare `Co::suspend` without looking the task up. Before resuming a
    /// task the driver sets it to an id that differs from the task's (see
    /// [`Shared::clear_parked`]), so no `Option` is needed.
    parked: Cell<CoroutineId>,
    /// How many tasks have ended so far, so that a run waiting for one task
    /// looks it up only after some task ended.
    pub(crate) ended: Cell<u64>,
}

impl Shared {
    pub(crate) fn new(clock: Clock) -> Rc<Shared> {
        Rc::new(Shared {
            reactor: RefCell::new(Reactor {
                clock,
                timers: BTreeMap::new(),
                timer_seq: 0,
                ready: ReadyQueue::default(),
                hot: Vec::new(),
                tasks: Vec::new(),
                live: 0,
                next_object: 1,
                io_waits: 0,
                #[cfg(feature = "io")]
                io: None,
            }),
            parked: Cell::new(CoroutineId {
                index: u32::MAX,
                generation: 0,
            }),
            ended: Cell::new(0),
        })
    }

    /// Records that the running task `id` parks through the driver.
    #[inline(always)]
    pub(crate) fn set_parked(&self, id: CoroutineId) {
        self.parked.set(id);
    }

    /// Forgets the last parked task before `id` is resumed: stores an id of
    /// the same slot with another generation, which no task running now
    /// can have.
    #[inline(always)]
    pub(crate) fn clear_parked(&self, id: CoroutineId) {
        self.parked.set(CoroutineId {
            index: id.index,
            generation: id.generation.wrapping_add(1),
        });
    }

    /// Whether `id` parked through the driver since
    /// [`clear_parked`](Shared::clear_parked).
    #[inline(always)]
    pub(crate) fn did_park(&self, id: CoroutineId) -> bool {
        same_task(self.parked.get(), id)
    }

    /// Wakes `waiter` if it is still current (see the module docs).
    #[inline(always)]
    pub(crate) fn wake(&self, waiter: Waiter) -> bool {
        self.reactor.borrow_mut().wake(waiter)
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

    #[inline]
    pub(crate) fn entry(&self, id: CoroutineId) -> Option<&TaskEntry> {
        self.hot(id)?;
        self.tasks.get(id.index as usize)?.as_ref()
    }

    /// The hot part of a live task's bookkeeping.
    #[inline]
    pub(crate) fn hot(&self, id: CoroutineId) -> Option<&Hot> {
        self.hot
            .get(id.index as usize)
            .filter(|h| same_task(h.id, id))
    }

    /// The hot part of a live task's bookkeeping.
    #[inline]
    pub(crate) fn hot_mut(&mut self, id: CoroutineId) -> Option<&mut Hot> {
        self.hot
            .get_mut(id.index as usize)
            .filter(|h| same_task(h.id, id))
    }

    #[inline]
    pub(crate) fn entry_mut(&mut self, id: CoroutineId) -> Option<&mut TaskEntry> {
        self.hot(id)?;
        self.tasks.get_mut(id.index as usize)?.as_mut()
    }

    /// Adds a newly spawned task, ready to run.
    pub(crate) fn add_task(
        &mut self,
        handle: Handle<(), (), ()>,
        name: Option<Rc<str>>,
        finish: Rc<dyn Finish>,
    ) {
        let id = handle.id();
        let index = id.index as usize;
        if self.tasks.len() <= index {
            self.tasks.resize_with(index + 1, || None);
            self.hot.resize_with(index + 1, Hot::vacant);
        }
        debug_assert!(
            self.tasks[index].is_none(),
            "slot reused while its task is listed"
        );
        self.tasks[index] = Some(TaskEntry {
            finish,
            name,
            joiners: Vec::new(),
        });
        self.hot[index] = Hot {
            id,
            state: TaskState::Ready,
            seq: NonZeroU64::MIN,
            handle: Some(handle),
            wait: WaitOn::Ready,
        };
        self.live += 1;
        self.ready.push_back(id);
    }

    /// Removes a finished task and wakes the tasks joining it. Returns the
    /// entry, for the caller to drop outside the reactor's borrow.
    #[must_use]
    pub(crate) fn remove_task(&mut self, id: CoroutineId) -> Option<TaskEntry> {
        self.hot(id)?;
        let mut entry = self.tasks[id.index as usize]
            .take()
            .expect("a listed task has both parts");
        self.hot[id.index as usize] = Hot::vacant();
        self.live -= 1;
        for waiter in std::mem::take(&mut entry.joiners) {
            self.wake(waiter);
        }
        Some(entry)
    }

    /// Starts a new wait for the running task: advances its sequence number
    /// and marks it waiting. Registrations made with the returned waiter are
    /// the only ones that can wake it.
    #[inline]
    pub(crate) fn begin_wait(&mut self, id: CoroutineId, wait: WaitOn) -> Waiter {
        let entry = self.hot_mut(id).expect("a running task is listed");
        entry.seq = entry.seq.saturating_add(1);
        entry.state = TaskState::Waiting;
        if entry.wait.owns_heap() {
            drop_cold(std::mem::replace(&mut entry.wait, wait));
        } else {
            // Nothing to free: a plain store, without the drop glue.
            std::mem::forget(std::mem::replace(&mut entry.wait, wait));
        }
        Waiter {
            task: id,
            seq: entry.seq,
        }
    }

    /// The running task yields without waiting on anything: it goes to the
    /// back of the ready queue.
    pub(crate) fn requeue(&mut self, id: CoroutineId) {
        let entry = self.hot_mut(id).expect("a running task is listed");
        entry.seq = entry.seq.saturating_add(1);
        entry.state = TaskState::Ready;
        self.ready.push_back(id);
    }

    /// Makes the waiter's task ready if this is still its current wait.
    #[inline]
    pub(crate) fn wake(&mut self, waiter: Waiter) -> bool {
        match self.hot_mut(waiter.task) {
            Some(entry) if entry.seq == waiter.seq && entry.state == TaskState::Waiting => {
                entry.state = TaskState::Ready;
                self.ready.push_back(waiter.task);
                true
            }
            _ => false,
        }
    }

    pub(crate) fn add_timer(&mut self, deadline: Instant, waiter: Waiter) -> (Instant, u64) {
        let key = (deadline, self.timer_seq);
        self.timer_seq += 1;
        self.timers.insert(key, waiter);
        key
    }

    pub(crate) fn remove_timer(&mut self, key: (Instant, u64)) {
        self.timers.remove(&key);
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers.keys().next().map(|&(deadline, _)| deadline)
    }

    pub(crate) fn pending_timers(&self) -> usize {
        self.timers.len()
    }

    /// Whether any timer is pending.
    #[inline]
    pub(crate) fn has_timers(&self) -> bool {
        !self.timers.is_empty()
    }

    /// How many tasks are ready, if starting a round has nothing else to
    /// do (no timer is pending and no socket is registered); zero otherwise.
    #[inline]
    pub(crate) fn ready_if_no_round_work(&self) -> usize {
        #[cfg(feature = "io")]
        if self.has_sockets() {
            return 0;
        }
        if self.has_timers() {
            return 0;
        }
        self.ready.len()
    }

    /// Fires every timer due at `now`, in deadline-then-creation order.
    pub(crate) fn fire_due(&mut self, now: Instant) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let waiter = entry.remove();
            self.wake(waiter);
        }
    }

    /// Advances a virtual clock to `to` (never backwards).
    pub(crate) fn advance_to(&mut self, to: Instant) {
        if let Clock::Virtual { now } = &mut self.clock {
            if to > *now {
                *now = to;
            }
        }
    }

    /// Every live task with what it waits on, in slot order.
    pub(crate) fn task_list(&self) -> Vec<TaskInfo> {
        self.tasks
            .iter()
            .zip(&self.hot)
            .filter_map(|(e, h)| Some((e.as_ref()?, h)))
            .map(|(e, h)| TaskInfo {
                id: h.id,
                name: e.name.clone(),
                wait: match h.state {
                    TaskState::Running => WaitOn::Running,
                    TaskState::Ready => WaitOn::Ready,
                    TaskState::Waiting => h.wait.clone(),
                },
            })
            .collect()
    }
}

/// A live task and what it waits on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    /// The task's coroutine id.
    pub id: CoroutineId,
    /// Its name, if it was spawned with one.
    pub name: Option<Rc<str>>,
    /// What it waits on.
    pub wait: WaitOn,
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "task `{name}` ({}) {}", self.id, self.wait),
            None => write!(f, "task {} {}", self.id, self.wait),
        }
    }
}
