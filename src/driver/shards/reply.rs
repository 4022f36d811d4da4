//! [`Reply`]: the way back of a call to another shard, and the source the
//! calling task waits on for it.
//!
//! One slot, shared by the two ends under a lock that is held only to
//! read or write it (never across a wait):
//!
//! ```text
//! Waiting(watch) ──Reply::send──▶ Answered(value) ──poll──▶ Taken
//!        │
//!        └──Reply dropped unsent──▶ Dropped ──poll──▶ Err(NoReply)
//! ```
//!
//! The caller records its wait in the slot and looks at it under the same
//! lock, so an answer cannot fall between its look and its registration.
//! If the caller stops waiting (a timeout, a cancellation) it closes the
//! slot, and a late [`Reply::send`] gives its value back.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::driver::handle::RemoteHandle;
use crate::driver::reactor::Waiter;
use crate::driver::report::WaitOn;
use crate::driver::source::{Context, Source};

enum Slot<A> {
    /// No answer yet; the caller's wait, if it waits.
    Waiting(Option<(RemoteHandle, Waiter)>),
    Answered(A),
    /// The [`Reply`] was dropped without an answer.
    Dropped,
    /// The caller took the answer or gave up.
    Closed,
}

struct Shared<A> {
    slot: Mutex<Slot<A>>,
    activity: Option<Arc<AtomicU64>>,
}

impl<A> Shared<A> {
    /// Ignores poisoning: nothing panics while holding the lock.
    fn slot(&self) -> MutexGuard<'_, Slot<A>> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `next` in the slot unless the caller is gone; wakes it.
    fn settle(&self, next: Slot<A>) -> Result<(), Slot<A>> {
        let watch = {
            let mut slot = self.slot();
            match &mut *slot {
                Slot::Waiting(watch) => {
                    let watch = watch.take();
                    *slot = next;
                    watch
                }
                _ => return Err(next),
            }
        };
        if let Some(activity) = &self.activity {
            activity.fetch_add(1, Ordering::Relaxed);
        }
        if let Some((driver, waiter)) = watch {
            // A driver that is gone has no caller to wake.
            let _ = driver.wake(waiter);
        }
        Ok(())
    }
}

/// The way back of a [`Mesh::call`](super::Mesh::call): put into the
/// request message, it answers the calling task from whichever shard (or
/// thread) handles the request. `Send` if the answer is.
///
/// A reply dropped without an answer (the handler forgot it, panicked, or
/// its shard stopped with the request still queued) ends the call with
/// [`CallError::NoReply`](super::CallError::NoReply): the caller never
/// waits for an answer that cannot come.
///
/// ```
/// use coshare::driver::shards::{Reply, Shard, ShardsBuilder};
/// use coshare::driver::Task;
/// use coshare::{Eff, Yields};
///
/// // Shard 1 doubles numbers; shard 0 asks it for one.
/// let mut shards = ShardsBuilder::new()
///     .shards(2)
///     .local(|_, _| 0u64, |t: &mut Task<u64>, mut shard: Shard<(u64, Reply<u64>), u64>| -> Eff<Yields, ()> {
///         if shard.index() == 0 {
///             let doubled = shard.mesh().call(t, 1, |reply| (21, reply))?.unwrap();
///             *t.state() = doubled;
///             return Ok(());
///         }
///         while let Ok((n, reply)) = t.recv(shard.inbox())? {
///             let _ = reply.send(n * 2); // `Err(n)` if the caller gave up
///         }
///         Ok(())
///     })
///     .unwrap();
/// shards.run_until_idle();
/// shards.shutdown();
/// let states: Vec<u64> = shards.finish().into_iter().map(|end| end.unwrap().state).collect();
/// assert_eq!(states, [42, 0]);
/// ```
pub struct Reply<A> {
    shared: Option<Arc<Shared<A>>>,
}

impl<A> Reply<A> {
    /// Answers the call and wakes the caller. `Err(value)` gives the answer
    /// back if the caller no longer waits for it (it timed out or was
    /// cancelled).
    pub fn send(mut self, value: A) -> Result<(), A> {
        let shared = self.shared.take().expect("a reply is answered once");
        shared
            .settle(Slot::Answered(value))
            .map_err(|slot| match slot {
                Slot::Answered(value) => value,
                _ => unreachable!("settle gives back what it was given"),
            })
    }

    /// Whether the caller no longer waits for the answer.
    pub fn is_closed(&self) -> bool {
        self.shared
            .as_ref()
            .is_none_or(|shared| !matches!(*shared.slot(), Slot::Waiting(_)))
    }
}

impl<A> Drop for Reply<A> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            let _ = shared.settle(Slot::Dropped);
        }
    }
}

impl<A> fmt::Debug for Reply<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The answer to a request never came: its [`Reply`] was dropped
/// unanswered (the handler did not answer, panicked, or its shard stopped
/// before handling the request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoReply {
    /// The shard the request went to.
    pub shard: usize,
}

impl fmt::Display for NoReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "shard {} dropped the request's reply without answering (its handler forgot it or panicked, or the shard stopped first)",
            self.shard
        )
    }
}

impl std::error::Error for NoReply {}

/// A request in flight: the caller's end of a [`Reply`], made by
/// [`Mesh::request`](super::Mesh::request).
///
/// It is a wait source: [`Task::wait`](crate::driver::Task::wait) on it (or
/// on `&mut` it, in a [`select`](crate::driver::Task::select) or under a
/// [`timeout`](crate::driver::Task::timeout)) gives the answer, or
/// [`NoReply`] if the reply was dropped unanswered. Several answers can be
/// in flight at once, to as many shards: send every request, then wait for
/// each answer (scatter, then gather).
///
/// Dropping it gives up the answer: a later [`Reply::send`] gives its value
/// back to the handler.
pub struct Answer<A> {
    shared: Arc<Shared<A>>,
    shard: usize,
    /// Registered, and counted among the driver's outside waits.
    waiting: bool,
}

impl<A> Answer<A> {
    /// The shard the request went to.
    pub fn shard(&self) -> usize {
        self.shard
    }
}

impl<A> fmt::Debug for Answer<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let answered = matches!(*self.shared.slot(), Slot::Answered(_) | Slot::Dropped);
        f.debug_struct("Answer")
            .field("shard", &self.shard)
            .field("settled", &answered)
            .finish()
    }
}

/// A new request's two ends, to `shard`.
pub(crate) fn pair<A>(activity: Option<Arc<AtomicU64>>, shard: usize) -> (Reply<A>, Answer<A>) {
    let shared = Arc::new(Shared {
        slot: Mutex::new(Slot::Waiting(None)),
        activity,
    });
    (
        Reply {
            shared: Some(Arc::clone(&shared)),
        },
        Answer {
            shared,
            shard,
            waiting: false,
        },
    )
}

impl<A> Source for Answer<A> {
    type Output = Result<A, NoReply>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<Result<A, NoReply>> {
        let mut slot = self.shared.slot();
        match std::mem::replace(&mut *slot, Slot::Closed) {
            Slot::Answered(value) => Some(Ok(value)),
            Slot::Dropped | Slot::Closed => Some(Err(NoReply { shard: self.shard })),
            waiting @ Slot::Waiting(_) => {
                *slot = waiting;
                None
            }
        }
    }

    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
        let driver = cx.handle().remote();
        let settled = {
            let mut slot = self.shared.slot();
            match &mut *slot {
                Slot::Waiting(watch) => {
                    *watch = Some((driver, waiter));
                    false
                }
                _ => true,
            }
        };
        if settled {
            cx.handle().wake(waiter);
        }
        self.waiting = true;
        cx.begin_outside_wait();
    }

    fn unregister(&mut self, cx: &mut Context<'_>) {
        if let Slot::Waiting(watch) = &mut *self.shared.slot() {
            *watch = None;
        }
        if std::mem::take(&mut self.waiting) {
            cx.end_outside_wait();
        }
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::custom("a reply from another shard")
    }
}

impl<A> Drop for Answer<A> {
    /// The caller gave up (or took its answer): a later
    /// [`Reply::send`] gives its value back.
    fn drop(&mut self) {
        *self.shared.slot() = Slot::Closed;
    }
}
