//! [`Lane`]: the bounded queue into one shard, fed from any thread, with
//! the two kinds of wait on it: the shard's receiving task waits for a
//! message, a sending task of any shard waits for room.
//!
//! The queue is `concurrent-queue`'s bounded one: lock-free, FIFO for the
//! pushes of one thread, and closable (a push after the close fails and
//! gives the message back; what was pushed before stays to be drained).
//!
//! # Wake-ups across threads
//!
//! Both waits use the pair of fences of the crate's remote channels: the
//! side that changes the queue (push, pop, close) does it, then a
//! sequentially consistent fence, then looks whether somebody waits; the
//! side that waits records itself (under the lock), then the fence, then
//! looks at the queue again. At least one of the two sees the other, so a
//! message or a free place that comes between a poll and the registration
//! wakes the task at once. The wake goes through the waiting task's own
//! driver ([`RemoteHandle::wake`]): at once on that driver's thread, at its
//! next round from another one.
//!
//! ```text
//! sender task (shard a)        lane of shard b          receiver task (shard b)
//! push ──────────────────────▶ [m1 m2 .. mN] ─────────▶ pop
//!   full: wait for room ◀───── pop wakes the longest-waiting sender
//!   wake the receiver ───────────────────────────────▶ (if it waits)
//! ```
//!
//! One free place wakes one sender; a sender whose wait ends without
//! sending (a timeout, another source of a `select`) passes the wake-up
//! on if there is room, so none is lost.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use concurrent_queue::{ConcurrentQueue, PopError, PushError};

use crate::driver::handle::RemoteHandle;
use crate::driver::reactor::Waiter;

/// A wait registered on a lane: the waiting task's driver and wait.
struct Watch {
    ticket: u64,
    driver: RemoteHandle,
    waiter: Waiter,
}

impl Watch {
    fn wake(&self) -> bool {
        self.driver.wake(self.waiter).is_ok()
    }
}

/// The bounded queue into one shard. See the module docs.
pub(crate) struct Lane<T> {
    queue: ConcurrentQueue<T>,
    /// The receiving task waits: pushes look here after the fence.
    receiver_waiting: AtomicBool,
    receiver: Mutex<Option<Watch>>,
    /// Senders wait for room: pops look here after the fence.
    senders_waiting: AtomicUsize,
    senders: Mutex<VecDeque<Watch>>,
    /// Names registrations, so that one can be taken out again.
    tickets: AtomicU64,
    /// Counts pushes and pops, for a run of every shard on one thread
    /// that must know when the shards stopped talking.
    activity: Option<Arc<AtomicU64>>,
}

/// Ignores poisoning: no code of the crate panics while holding these locks.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T> Lane<T> {
    /// A lane with room for `capacity` messages (at least one).
    pub(crate) fn new(capacity: usize, activity: Option<Arc<AtomicU64>>) -> Lane<T> {
        Lane {
            queue: ConcurrentQueue::bounded(capacity.max(1)),
            receiver_waiting: AtomicBool::new(false),
            receiver: Mutex::new(None),
            senders_waiting: AtomicUsize::new(0),
            senders: Mutex::new(VecDeque::new()),
            tickets: AtomicU64::new(1),
            activity,
        }
    }

    fn touch(&self) {
        if let Some(activity) = &self.activity {
            activity.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Pushes without waiting; wakes the receiver if it waits.
    pub(crate) fn push(&self, msg: T) -> Result<(), PushError<T>> {
        self.queue.push(msg)?;
        self.touch();
        self.wake_receiver();
        Ok(())
    }

    /// Takes the next message; wakes the longest-waiting sender if one
    /// waits for room. `Err(PopError::Closed)` once closed and empty.
    pub(crate) fn pop(&self) -> Result<T, PopError> {
        let msg = self.queue.pop()?;
        self.touch();
        self.wake_sender();
        Ok(msg)
    }

    /// Messages waiting.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether the lane takes no more messages.
    pub(crate) fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// Takes no more messages: later pushes fail and give theirs back.
    /// Wakes everybody who waits on the lane. `true` if this call closed it.
    pub(crate) fn close(&self) -> bool {
        let closed = self.queue.close();
        if !closed {
            return false;
        }
        self.touch();
        self.wake_receiver();
        let waiting: Vec<Watch> = lock(&self.senders).drain(..).collect();
        self.senders_waiting.store(0, Ordering::Relaxed);
        for watch in &waiting {
            watch.wake();
        }
        closed
    }

    /// Takes every message still queued (after [`close`](Lane::close),
    /// all there will ever be).
    pub(crate) fn drain(&self) -> Vec<T> {
        let mut left = Vec::new();
        while let Ok(msg) = self.queue.pop() {
            left.push(msg);
        }
        left
    }

    fn wake_receiver(&self) {
        fence(Ordering::SeqCst);
        if !self.receiver_waiting.load(Ordering::Relaxed) {
            return;
        }
        let watch = {
            let mut receiver = lock(&self.receiver);
            self.receiver_waiting.store(false, Ordering::Relaxed);
            receiver.take()
        };
        if let Some(watch) = watch {
            watch.wake();
        }
    }

    /// Wakes the longest-waiting sender whose driver is still there.
    fn wake_sender(&self) {
        fence(Ordering::SeqCst);
        if self.senders_waiting.load(Ordering::Relaxed) == 0 {
            return;
        }
        loop {
            let watch = {
                let mut senders = lock(&self.senders);
                let watch = senders.pop_front();
                self.senders_waiting.store(senders.len(), Ordering::Relaxed);
                watch
            };
            match watch {
                Some(watch) if !watch.wake() => continue,
                _ => return,
            }
        }
    }

    /// Records the receiving task's wait; `true` if a message (or the
    /// close) is there already, and the caller must wake itself.
    pub(crate) fn watch_receiver(&self, driver: RemoteHandle, waiter: Waiter) -> bool {
        {
            let mut receiver = lock(&self.receiver);
            *receiver = Some(Watch {
                ticket: 0,
                driver,
                waiter,
            });
            self.receiver_waiting.store(true, Ordering::Relaxed);
        }
        fence(Ordering::SeqCst);
        !self.queue.is_empty() || self.queue.is_closed()
    }

    /// Removes the receiving task's wait.
    pub(crate) fn unwatch_receiver(&self) {
        let mut receiver = lock(&self.receiver);
        *receiver = None;
        self.receiver_waiting.store(false, Ordering::Relaxed);
    }

    /// Records a sender's wait for room; returns its ticket, and `true` if
    /// there is room (or the lane closed) already.
    pub(crate) fn watch_sender(&self, driver: RemoteHandle, waiter: Waiter) -> (u64, bool) {
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
        {
            let mut senders = lock(&self.senders);
            senders.push_back(Watch {
                ticket,
                driver,
                waiter,
            });
            self.senders_waiting.store(senders.len(), Ordering::Relaxed);
        }
        fence(Ordering::SeqCst);
        (ticket, !self.queue.is_full() || self.queue.is_closed())
    }

    /// Removes a sender's wait, if a pop has not taken it already.
    pub(crate) fn unwatch_sender(&self, ticket: u64) {
        let mut senders = lock(&self.senders);
        senders.retain(|watch| watch.ticket != ticket);
        self.senders_waiting.store(senders.len(), Ordering::Relaxed);
    }

    /// A sender's wait ended without sending: if there is room, the
    /// wake-up it may have been handed goes to the next sender.
    pub(crate) fn pass_on_room(&self) {
        if !self.queue.is_full() {
            self.wake_sender();
        }
    }
}
