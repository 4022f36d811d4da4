//! The task table, and the rule that makes a wake-up reach only the wait
//! it was meant for.
//!
//! Every time a task parks, its wait sequence number (`seq`) is advanced,
//! and every registration (a timer, a place in a channel's waiter queue)
//! records the pair (task, seq) as a [`Waiter`]. [`TaskTable::wake`] makes
//! a task ready only if the task still exists, is waiting, and is waiting
//! under that very `seq`. A late timer or message for an old wait, or for
//! an old occupant of a reused slot (ids carry the slot generation), is
//! dropped. Waking is only a hint: a woken task polls what it waits on
//! again, so a wake never carries or consumes a message.
//!
//! The table is generic over the handle it keeps for each task, so that
//! these rules are tested here without a stage or a stack switch.

use std::borrow::Cow;
use std::num::NonZeroU64;
use std::panic::Location;
use std::rc::Rc;

use crate::driver::report::{TaskInfo, WaitOn};
use crate::error::CoroutineId;

/// One wait of one task: the task and its wait sequence number.
///
/// A source receives one in [`Source::register`](crate::driver::Source::register)
/// and keeps it wherever the event it waits for will come from; waking it
/// ([`DriverHandle::wake`](crate::driver::DriverHandle::wake),
/// [`Waker::wake`](crate::driver::Waker::wake)) makes the task ready only if
/// it is still in that very wait. Copying a waiter is free, and a stale
/// one is harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Waiter {
    pub(crate) task: CoroutineId,
    /// Never zero, so that an `Option<Waiter>` is no bigger than a waiter.
    pub(crate) seq: NonZeroU64,
}

impl Waiter {
    /// The waiting task's id.
    pub fn task(&self) -> CoroutineId {
        self.task
    }
}

/// Where a task is in its life as the driver sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskState {
    /// In the ready queue (or about to be put there).
    Ready,
    /// Resumed by the driver, and not yet parked again.
    Running,
    /// Parked in a wait; woken only through a current [`Waiter`].
    Waiting,
}

/// A type-erased view of a task's join cell, for the driver's bookkeeping.
pub(crate) trait Finish {
    /// Marks a still-running task as panicked.
    fn panicked(&self, payload: Option<Box<dyn std::any::Any + Send>>);
    /// Marks a still-running task as cancelled.
    fn cancelled(&self);
    /// Requests the task's cancellation (see `control.rs`); returns whether
    /// the request is visible now, so that a waiting task is to be woken.
    fn request_abort(&self) -> bool;
    /// The task has ended and left the table (called outside the reactor's
    /// borrow, so it may wake other tasks). The default does nothing; a
    /// task scope's child tells its scope here.
    fn ended(&self, id: CoroutineId) {
        let _ = id;
    }
}

/// The part of a task's bookkeeping that every wait and wake-up touches.
/// Slots are never `None`: a free slot holds [`Hot::VACANT`]'s id, which
/// no lookup matches, so a lookup is a bounds check and an id compare.
pub(crate) struct Hot<H> {
    /// The task's id, or `VACANT` for a free slot.
    pub(crate) id: CoroutineId,
    pub(crate) state: TaskState,
    pub(crate) seq: NonZeroU64,
    /// `None` only in a free slot.
    pub(crate) handle: Option<H>,
    /// What the task waits on, and where in its code; meaningful only
    /// while `state` is `Waiting` (they are not reset when the task wakes,
    /// only replaced at its next wait).
    pub(crate) wait: WaitOn,
    pub(crate) location: Option<&'static Location<'static>>,
}

impl<H> Hot<H> {
    /// The id of a free slot: its index is past any real slot's.
    const VACANT: CoroutineId = CoroutineId {
        index: u32::MAX,
        generation: 0,
    };

    fn vacant() -> Self {
        Hot {
            id: Self::VACANT,
            state: TaskState::Ready,
            seq: NonZeroU64::MIN,
            handle: None,
            wait: WaitOn::Ready,
            location: None,
        }
    }
}

/// The cold part of a live task's bookkeeping, touched only when it is
/// spawned, ends, is joined or is listed. At the same index as its [`Hot`]
/// part, whose id says which task the slot holds.
pub(crate) struct TaskEntry {
    /// The task's join cell. May hold the last reference to the task's
    /// result: drop entries outside the reactor's borrow.
    pub(crate) finish: Rc<dyn Finish>,
    pub(crate) name: Option<Rc<str>>,
    /// Tasks waiting for this one to finish.
    pub(crate) joiners: Vec<Waiter>,
    /// The task's span, entered while it runs.
    #[cfg(feature = "tracing")]
    pub(crate) span: tracing::Span,
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

/// The live tasks of a driver, by the slot index of their coroutine.
pub(crate) struct TaskTable<H> {
    /// What waits and wake-ups use...
    hot: Vec<Hot<H>>,
    /// ...and the rest, at the same index.
    cold: Vec<Option<TaskEntry>>,
    live: usize,
    /// The index of the shard this driver runs, for the tasks' spans.
    #[cfg(feature = "tracing")]
    shard: Option<usize>,
}

impl<H> Default for TaskTable<H> {
    fn default() -> Self {
        TaskTable {
            hot: Vec::new(),
            cold: Vec::new(),
            live: 0,
            #[cfg(feature = "tracing")]
            shard: None,
        }
    }
}

impl<H: Copy> TaskTable<H> {
    /// How many tasks are live.
    #[inline]
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// The hot part of a live task's bookkeeping.
    #[inline]
    pub(crate) fn hot(&self, id: CoroutineId) -> Option<&Hot<H>> {
        self.hot
            .get(id.index as usize)
            .filter(|h| same_task(h.id, id))
    }

    #[inline]
    fn hot_mut(&mut self, id: CoroutineId) -> Option<&mut Hot<H>> {
        self.hot
            .get_mut(id.index as usize)
            .filter(|h| same_task(h.id, id))
    }

    /// The cold part of a live task's bookkeeping.
    pub(crate) fn entry(&self, id: CoroutineId) -> Option<&TaskEntry> {
        self.hot(id)?;
        self.cold.get(id.index as usize)?.as_ref()
    }

    /// The cold part of a live task's bookkeeping.
    pub(crate) fn entry_mut(&mut self, id: CoroutineId) -> Option<&mut TaskEntry> {
        self.hot(id)?;
        self.cold.get_mut(id.index as usize)?.as_mut()
    }

    /// The handle of a live task.
    pub(crate) fn handle(&self, id: CoroutineId) -> Option<H> {
        self.hot(id).and_then(|h| h.handle)
    }

    /// The spans of tasks spawned from now on name shard `shard`.
    #[cfg(feature = "tracing")]
    pub(crate) fn set_shard(&mut self, shard: usize) {
        self.shard = Some(shard);
    }

    /// Adds a newly spawned task, in the `Ready` state; the caller queues
    /// it.
    pub(crate) fn add(
        &mut self,
        id: CoroutineId,
        handle: H,
        name: Option<Rc<str>>,
        finish: Rc<dyn Finish>,
    ) {
        let index = id.index as usize;
        if self.cold.len() <= index {
            self.cold.resize_with(index + 1, || None);
            self.hot.resize_with(index + 1, Hot::vacant);
        }
        debug_assert!(
            self.cold[index].is_none(),
            "slot reused while its task is listed"
        );
        #[cfg(feature = "tracing")]
        let span = {
            let span = tracing::info_span!(
                "task",
                id = %id,
                name = tracing::field::Empty,
                shard = tracing::field::Empty
            );
            if let Some(name) = &name {
                span.record("name", &**name);
            }
            if let Some(shard) = self.shard {
                span.record("shard", shard);
            }
            span
        };
        self.cold[index] = Some(TaskEntry {
            finish,
            name,
            joiners: Vec::new(),
            #[cfg(feature = "tracing")]
            span,
        });
        self.hot[index] = Hot {
            id,
            state: TaskState::Ready,
            seq: NonZeroU64::MIN,
            handle: Some(handle),
            wait: WaitOn::Ready,
            location: None,
        };
        self.live += 1;
    }

    /// Removes a finished task. Returns its entry, whose joiners the caller
    /// wakes and which it drops outside any borrow.
    #[must_use]
    pub(crate) fn remove(&mut self, id: CoroutineId) -> Option<TaskEntry> {
        self.hot(id)?;
        let entry = self.cold[id.index as usize]
            .take()
            .expect("a listed task has both parts");
        self.hot[id.index as usize] = Hot::vacant();
        self.live -= 1;
        Some(entry)
    }

    /// Removes every task, in slot order.
    #[must_use]
    pub(crate) fn take_all(&mut self) -> Vec<(CoroutineId, TaskEntry)> {
        let mut all = Vec::new();
        for (hot, cold) in self.hot.iter_mut().zip(&mut self.cold) {
            if let Some(entry) = cold.take() {
                all.push((hot.id, entry));
                *hot = Hot::vacant();
            }
        }
        self.live = 0;
        all
    }

    /// Takes a queued task to run it: if it is still live and `Ready`,
    /// marks it `Running` and returns its handle. A task that ended, or was
    /// queued twice, is skipped (`None`).
    #[inline]
    pub(crate) fn start(&mut self, id: CoroutineId) -> Option<H> {
        match self.hot_mut(id) {
            Some(hot) if hot.state == TaskState::Ready => {
                hot.state = TaskState::Running;
                hot.handle
            }
            _ => None,
        }
    }

    /// Starts a new wait for the running task `id`, at `location` in its
    /// code: advances its sequence number and marks it waiting.
    /// Registrations made with the returned waiter are the only ones that
    /// can wake it.
    #[inline(always)]
    pub(crate) fn begin_wait(
        &mut self,
        id: CoroutineId,
        wait: WaitOn,
        location: &'static Location<'static>,
    ) -> Waiter {
        let hot = self.hot_mut(id).expect("a running task is listed");
        hot.seq = hot.seq.saturating_add(1);
        hot.state = TaskState::Waiting;
        hot.location = Some(location);
        if owns_heap(&hot.wait) {
            drop_cold(std::mem::replace(&mut hot.wait, wait));
        } else {
            // Nothing to free: a plain store, without the drop glue.
            std::mem::forget(std::mem::replace(&mut hot.wait, wait));
        }
        Waiter {
            task: id,
            seq: hot.seq,
        }
    }

    /// The running task `id` yields without waiting on anything: it is
    /// ready again (the caller queues it), and every registration of its
    /// last wait is stale.
    pub(crate) fn yield_again(&mut self, id: CoroutineId) {
        let hot = self.hot_mut(id).expect("a running task is listed");
        hot.seq = hot.seq.saturating_add(1);
        hot.state = TaskState::Ready;
    }

    /// Marks the waiter's task ready if this is still its current wait;
    /// the caller queues it then.
    #[inline]
    pub(crate) fn wake(&mut self, waiter: Waiter) -> bool {
        match self.hot_mut(waiter.task) {
            Some(hot) if hot.seq == waiter.seq && hot.state == TaskState::Waiting => {
                hot.state = TaskState::Ready;
                true
            }
            _ => false,
        }
    }

    /// Marks the task `id` ready if it waits, whatever its wait: for a
    /// cancel scope's deadline and for a requested cancellation, which
    /// concern every wait of the task. The caller queues it then.
    pub(crate) fn wake_task(&mut self, id: CoroutineId) -> bool {
        match self.hot_mut(id) {
            Some(hot) if hot.state == TaskState::Waiting => {
                hot.state = TaskState::Ready;
                true
            }
            _ => false,
        }
    }

    /// Every live task with what it waits on, in slot order.
    pub(crate) fn list(&self) -> Vec<TaskInfo> {
        self.cold
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
                location: match h.state {
                    TaskState::Waiting => h.location,
                    TaskState::Running | TaskState::Ready => None,
                },
            })
            .collect()
    }
}

/// Whether dropping this description frees anything. Exhaustive on
/// purpose: a new variant must say whether it owns memory.
#[inline]
fn owns_heap(wait: &WaitOn) -> bool {
    match wait {
        WaitOn::Join { name, .. } => name.is_some(),
        WaitOn::Custom(what) => matches!(what, Cow::Owned(_)),
        WaitOn::Any(_) | WaitOn::Signal { .. } => true,
        WaitOn::Ready
        | WaitOn::Running
        | WaitOn::Sleep { .. }
        | WaitOn::Recv { .. }
        | WaitOn::Send { .. }
        | WaitOn::Notify { .. }
        | WaitOn::Event { .. }
        | WaitOn::Tick { .. }
        | WaitOn::Io { .. }
        | WaitOn::Scope { .. }
        | WaitOn::Semaphore { .. }
        | WaitOn::JoinAll { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[derive(Default)]
    struct Marks {
        panicked: Cell<bool>,
        cancelled: Cell<bool>,
    }

    impl Finish for Marks {
        fn panicked(&self, _payload: Option<Box<dyn std::any::Any + Send>>) {
            self.panicked.set(true);
        }

        fn cancelled(&self) {
            self.cancelled.set(true);
        }

        fn request_abort(&self) -> bool {
            true
        }
    }

    fn id(index: u32, generation: u32) -> CoroutineId {
        CoroutineId { index, generation }
    }

    fn table_with(ids: &[CoroutineId]) -> TaskTable<u32> {
        let mut table = TaskTable::default();
        for (n, &id) in ids.iter().enumerate() {
            table.add(id, n as u32, None, Rc::new(Marks::default()));
        }
        table
    }

    #[test]
    fn a_wake_reaches_only_the_current_wait() {
        let task = id(0, 0);
        let mut table = table_with(&[task]);
        assert_eq!(table.start(task), Some(0));
        let first = table.begin_wait(task, WaitOn::Recv { channel: 1 }, Location::caller());
        assert!(table.wake(first));
        assert!(
            !table.wake(first),
            "a task already woken is not woken twice"
        );
        assert_eq!(table.start(task), Some(0));
        let second = table.begin_wait(task, WaitOn::Recv { channel: 1 }, Location::caller());
        assert_ne!(first, second);
        assert!(!table.wake(first), "a wake-up for an old wait is dropped");
        assert!(table.wake(second));
    }

    #[test]
    fn a_wake_for_an_old_occupant_of_a_slot_is_dropped() {
        let old = id(3, 0);
        let mut table = table_with(&[old]);
        table.start(old);
        let stale = table.begin_wait(old, WaitOn::Ready, Location::caller());
        drop(table.remove(old).expect("listed"));
        assert!(!table.wake(stale), "the task is gone");
        let new = id(3, 1);
        table.add(new, 7, None, Rc::new(Marks::default()));
        table.start(new);
        let current = table.begin_wait(new, WaitOn::Ready, Location::caller());
        assert_eq!(stale.seq, current.seq, "same slot, same sequence number");
        assert!(!table.wake(stale), "the generation tells the two apart");
        assert!(table.wake(current));
        assert_eq!(table.handle(new), Some(7));
        assert_eq!(table.handle(old), None);
    }

    #[test]
    fn yielding_makes_earlier_registrations_stale() {
        let task = id(0, 0);
        let mut table = table_with(&[task]);
        table.start(task);
        let waiter = table.begin_wait(task, WaitOn::Ready, Location::caller());
        assert!(table.wake(waiter));
        table.start(task);
        table.yield_again(task);
        assert!(!table.wake(waiter));
        assert_eq!(table.start(task), Some(0), "it is ready again");
        assert_eq!(table.start(task), None, "and runs once");
    }

    #[test]
    fn the_list_shows_what_each_task_waits_on_in_slot_order() {
        let (a, b, c) = (id(0, 0), id(1, 0), id(2, 4));
        let mut table = table_with(&[c, a, b]);
        table.start(a);
        table.begin_wait(a, WaitOn::Event { id: 9 }, Location::caller());
        table.start(b);
        let listed: Vec<_> = table.list().into_iter().map(|t| (t.id, t.wait)).collect();
        assert_eq!(
            listed,
            [
                (a, WaitOn::Event { id: 9 }),
                (b, WaitOn::Running),
                (c, WaitOn::Ready)
            ]
        );
        assert_eq!(table.live(), 3);
        let entry = table.remove(b).expect("listed");
        entry.finish.cancelled();
        assert_eq!(table.live(), 2);
        assert!(table.remove(b).is_none(), "removed once");
    }
}
