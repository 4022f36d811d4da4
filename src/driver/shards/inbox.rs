//! [`Inbox`]: the receiving end of a shard's queue, and [`LaneRecv`], the
//! source a task waits on for the next message of a lane.

use std::fmt;
use std::sync::Arc;

use concurrent_queue::PopError;

use super::lane::Lane;
use crate::driver::reactor::Waiter;
use crate::driver::report::WaitOn;
use crate::driver::source::{Context, Source};
use crate::driver::sources::channel::RecvError;
use crate::driver::sources::receive::{Receive, sealed};
use crate::thread_bound::ThreadBound;

/// The messages sent to one shard, received by its tasks with
/// [`Task::recv`](crate::driver::Task::recv) (or
/// [`wait::recv`](crate::driver::wait::recv) in a `select`).
///
/// Each shard has one, handed to its main task in its
/// [`Shard`](super::Shard). Receiving returns `Err(RecvError)` once the
/// shard is shutting down ([`Shards::shutdown`](super::Shards::shutdown))
/// and every message sent before is received: a loop over the inbox ends
/// by itself, with nothing left behind. Dropping the inbox closes the
/// queue (later sends give their message back); the messages still in it
/// are handed to the shard's `finish`.
///
/// It stays on its shard's thread (`!Send`).
pub struct Inbox<M> {
    lane: Arc<Lane<M>>,
    shard: usize,
    _local: ThreadBound,
}

impl<M> Inbox<M> {
    pub(crate) fn new(lane: Arc<Lane<M>>, shard: usize) -> Inbox<M> {
        Inbox {
            lane,
            shard,
            _local: ThreadBound::new(),
        }
    }

    /// Takes the next message without waiting: `Ok(None)` if there is none
    /// yet, `Err(RecvError)` once the inbox is closed and empty.
    pub fn try_recv(&mut self) -> Result<Option<M>, RecvError> {
        match self.lane.pop() {
            Ok(msg) => Ok(Some(msg)),
            Err(PopError::Empty) => Ok(None),
            Err(PopError::Closed) => Err(RecvError),
        }
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.lane.len()
    }

    /// Whether no message waits.
    pub fn is_empty(&self) -> bool {
        self.lane.len() == 0
    }

    /// Whether the inbox takes no more messages (the shard is shutting
    /// down); messages may still be waiting.
    pub fn is_closed(&self) -> bool {
        self.lane.is_closed()
    }
}

impl<M> Drop for Inbox<M> {
    fn drop(&mut self) {
        self.lane.close();
    }
}

impl<M> fmt::Debug for Inbox<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("shard", &self.shard)
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<M> sealed::Sealed for Inbox<M> {}

impl<M> Receive for Inbox<M> {
    type Item = M;
    type Recv<'a>
        = LaneRecv<'a, M>
    where
        M: 'a;

    fn recv_source(&mut self) -> LaneRecv<'_, M> {
        LaneRecv::new(&self.lane, self.shard)
    }
}

/// Waits for the next message of a shard's [`Inbox`]: the source
/// [`Task::recv`](crate::driver::Task::recv) uses for one. While it waits,
/// the driver does not call the wait a deadlock: a message may come from
/// another shard's thread.
pub struct LaneRecv<'a, T> {
    lane: &'a Lane<T>,
    shard: usize,
    /// Registered, and counted among the driver's outside waits.
    waiting: bool,
}

impl<'a, T> LaneRecv<'a, T> {
    pub(crate) fn new(lane: &'a Lane<T>, shard: usize) -> LaneRecv<'a, T> {
        LaneRecv {
            lane,
            shard,
            waiting: false,
        }
    }
}

impl<T> Source for LaneRecv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<Result<T, RecvError>> {
        match self.lane.pop() {
            Ok(msg) => Some(Ok(msg)),
            Err(PopError::Closed) => Some(Err(RecvError)),
            Err(PopError::Empty) => None,
        }
    }

    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
        if self.lane.watch_receiver(cx.handle().remote(), waiter) {
            // A message (or the close) came since the poll.
            cx.handle().wake(waiter);
        }
        self.waiting = true;
        cx.begin_outside_wait();
    }

    fn unregister(&mut self, cx: &mut Context<'_>) {
        self.lane.unwatch_receiver();
        if std::mem::take(&mut self.waiting) {
            cx.end_outside_wait();
        }
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::custom("a message from another shard")
    }
}

impl<T> fmt::Debug for LaneRecv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LaneRecv")
            .field("shard", &self.shard)
            .finish_non_exhaustive()
    }
}
