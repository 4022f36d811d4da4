//! [`Mesh`]: how a shard reaches the others (send, call, spawn), and
//! [`SendMessage`], the source a task waits on for room in another
//! shard's queue.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use concurrent_queue::PushError;

use super::error::{CallError, ShardSendError};
use super::lane::Lane;
use super::reply::{self, Answer, NoReply, Reply};
use crate::driver::reactor::Waiter;
use crate::driver::report::WaitOn;
use crate::driver::source::{Context, Source};
use crate::driver::task::Task;
use crate::effect::{Eff, Yields};

/// A task body sent to another shard by [`Mesh::spawn_on`], boxed.
pub type SpawnBody<S> = Box<dyn FnOnce(&mut Task<'_, S>) -> Eff<Yields, ()> + Send + 'static>;

/// One shard's two queues: its messages, and the task bodies sent to it.
pub(crate) struct Peer<M, S: 'static> {
    pub(crate) messages: Arc<Lane<M>>,
    pub(crate) spawns: Arc<Lane<SpawnBody<S>>>,
}

impl<M, S: 'static> Clone for Peer<M, S> {
    fn clone(&self) -> Self {
        Peer {
            messages: Arc::clone(&self.messages),
            spawns: Arc::clone(&self.spawns),
        }
    }
}

/// What every shard's mesh shares.
pub(crate) struct MeshShared<M, S: 'static> {
    pub(crate) peers: Vec<Peer<M, S>>,
    /// Counts the shards' exchanges, for a run of all of them on one
    /// thread (`None` when each has its own thread).
    pub(crate) activity: Option<Arc<AtomicU64>>,
}

impl<M, S: 'static> MeshShared<M, S> {
    pub(crate) fn new(
        shards: usize,
        capacity: usize,
        activity: Option<Arc<AtomicU64>>,
    ) -> MeshShared<M, S> {
        let peers = (0..shards)
            .map(|_| Peer {
                messages: Arc::new(Lane::new(capacity, activity.clone())),
                spawns: Arc::new(Lane::new(capacity, activity.clone())),
            })
            .collect();
        MeshShared { peers, activity }
    }
}

/// Closes the queues of every shard, for whoever stops them (the type of
/// the messages and states left out).
pub(crate) trait CloseQueues: Send + Sync {
    /// Closes every inbox: a graceful shutdown.
    fn close_inboxes(&self);
    /// Closes every queue, inboxes and spawns.
    fn close_all(&self);
}

impl<M: Send, S: 'static> CloseQueues for MeshShared<M, S> {
    fn close_inboxes(&self) {
        for peer in &self.peers {
            peer.messages.close();
        }
    }

    fn close_all(&self) {
        for peer in &self.peers {
            peer.messages.close();
            peer.spawns.close();
        }
    }
}

/// How a shard reaches every shard (itself included): sends messages of
/// type `M` to their [`Inbox`](super::Inbox)es, calls them and waits for
/// the answer, and spawns tasks on them. `Send + Sync + Clone` (for
/// messages that are `Send`): keep it in the state, hand it to other
/// threads.
///
/// The queues are bounded ([`ShardsBuilder::queue_capacity`](super::ShardsBuilder::queue_capacity)):
/// a task's [`send`](Mesh::send) waits while the target's queue is full,
/// [`try_send`](Mesh::try_send) (for any thread) gives the message back.
/// Messages sent by one task, or one thread, arrive in the order they were
/// sent. A message to a shard that stopped, or to an index past the last
/// shard, is given back in the error.
///
/// ```
/// use coshare::driver::shards::{Shard, ShardsBuilder};
/// use coshare::driver::Task;
/// use coshare::{Eff, Yields};
///
/// // Every shard sends its index to the next one, which keeps it.
/// let mut shards = ShardsBuilder::new()
///     .shards(3)
///     .local(|_, _| Vec::new(), |t: &mut Task<Vec<usize>>, mut shard: Shard<usize, Vec<usize>>| -> Eff<Yields, ()> {
///         let next = (shard.index() + 1) % shard.mesh().shards();
///         shard.mesh().send(t, next, shard.index())?.unwrap();
///         while let Ok(from) = t.recv(shard.inbox())? {
///             t.state().push(from);
///         }
///         Ok(())
///     })
///     .unwrap();
/// shards.run_until_idle();
/// shards.shutdown();
/// let kept: Vec<Vec<usize>> =
///     shards.finish().into_iter().map(|end| end.unwrap().state).collect();
/// assert_eq!(kept, [vec![2], vec![0], vec![1]]);
/// ```
pub struct Mesh<M, S: 'static> {
    shared: Arc<MeshShared<M, S>>,
    index: usize,
}

impl<M, S: 'static> Mesh<M, S> {
    pub(crate) fn new(shared: Arc<MeshShared<M, S>>, index: usize) -> Mesh<M, S> {
        Mesh { shared, index }
    }

    pub(crate) fn shared(&self) -> &Arc<MeshShared<M, S>> {
        &self.shared
    }

    /// The index of the shard this mesh was handed to.
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many shards there are (they are numbered `0..shards()`).
    pub fn shards(&self) -> usize {
        self.shared.peers.len()
    }

    /// Messages waiting in the queue of shard `to` (`None` if there is no
    /// such shard).
    pub fn queued(&self, to: usize) -> Option<usize> {
        self.shared.peers.get(to).map(|peer| peer.messages.len())
    }

    /// Sends `msg` to shard `to` without waiting, from any thread.
    /// `Err` gives the message back: [`ShardSendError::Full`] if the queue
    /// is full, `Stopped` or `NoSuchShard` as for [`send`](Mesh::send).
    pub fn try_send(&self, to: usize, msg: M) -> Result<(), ShardSendError<M>> {
        let Some(peer) = self.shared.peers.get(to) else {
            return Err(self.no_such_shard(to, msg));
        };
        peer.messages.push(msg).map_err(|error| match error {
            PushError::Full(message) => ShardSendError::Full { shard: to, message },
            PushError::Closed(message) => ShardSendError::Stopped { shard: to, message },
        })
    }

    /// Sends `msg` to shard `to`, waiting while its queue is full: a yield
    /// point. `Err` gives the message back: [`ShardSendError::Stopped`] if
    /// the shard takes no more messages (it stopped, or is shutting down),
    /// [`ShardSendError::NoSuchShard`] if there is no shard `to`.
    ///
    /// To race the send with other waits, or to take the message back
    /// after a timeout, wait on [`send_source`](Mesh::send_source).
    #[track_caller]
    pub fn send(
        &self,
        t: &mut Task<'_, S>,
        to: usize,
        msg: M,
    ) -> Eff<Yields, Result<(), ShardSendError<M>>> {
        t.wait(self.send_source(to, msg))
    }

    /// The source behind [`send`](Mesh::send), for
    /// [`Task::select`](crate::driver::Task::select) and
    /// [`Task::timeout`](crate::driver::Task::timeout): waited on through
    /// a `&mut`, it keeps the message if the wait ends without sending it
    /// ([`take_message`](SendMessage::take_message)).
    pub fn send_source(&self, to: usize, msg: M) -> SendMessage<'_, M> {
        SendMessage {
            lane: self.shared.peers.get(to).map(|peer| &*peer.messages),
            shard: to,
            shards: self.shards(),
            msg: Some(msg),
            ticket: None,
        }
    }

    /// Sends a request made by `make` to shard `to` and waits for its
    /// answer: `make` gets the [`Reply`] that the handler answers with.
    /// Both waits are yield points, and are covered by a
    /// [`timeout`](crate::driver::Task::timeout) around the call (after
    /// one, a late answer is given back to the handler by
    /// [`Reply::send`]).
    ///
    /// `Err(CallError::Send(..))` gives the request back, as
    /// [`send`](Mesh::send) does; `Err(CallError::NoReply { .. })` if the
    /// reply was dropped unanswered (the handler panicked, or its shard
    /// stopped first).
    ///
    /// To have requests to several shards in flight at once, use
    /// [`request`](Mesh::request) and wait for the answers afterwards.
    #[track_caller]
    pub fn call<A>(
        &self,
        t: &mut Task<'_, S>,
        to: usize,
        make: impl FnOnce(Reply<A>) -> M,
    ) -> Eff<Yields, Result<A, CallError<M>>> {
        let answer = match self.request(t, to, make)? {
            Ok(answer) => answer,
            Err(error) => return Ok(Err(CallError::Send(error))),
        };
        Ok(t.wait(answer)?
            .map_err(|NoReply { shard }| CallError::NoReply { shard }))
    }

    /// Sends a request made by `make` to shard `to`, as
    /// [`call`](Mesh::call) does, but does not wait for the answer: the
    /// [`Answer`] it returns is a wait source for it. The send is a yield
    /// point (it waits while the queue is full); `Err` gives the request
    /// back, as [`send`](Mesh::send) does.
    ///
    /// Scatter, then gather: send a request to every shard first, then wait
    /// for each answer, and the shards work on them at the same time.
    ///
    /// ```
    /// use coshare::driver::shards::{Reply, Shard, ShardsBuilder};
    /// use coshare::driver::Task;
    /// use coshare::{Eff, Yields};
    ///
    /// type Ask = (u64, Reply<u64>);
    /// // Shard 0 asks shards 1 and 2 to square a number each, both at once.
    /// let mut shards = ShardsBuilder::new()
    ///     .shards(3)
    ///     .local(|_, _| 0u64, |t: &mut Task<u64>, mut shard: Shard<Ask, u64>| -> Eff<Yields, ()> {
    ///         if shard.index() == 0 {
    ///             let mesh = shard.mesh().clone();
    ///             let three = mesh.request(t, 1, |reply| (3, reply))?.unwrap();
    ///             let four = mesh.request(t, 2, |reply| (4, reply))?.unwrap();
    ///             *t.state() = t.wait(three)?.unwrap() + t.wait(four)?.unwrap();
    ///             return Ok(());
    ///         }
    ///         while let Ok((n, reply)) = t.recv(shard.inbox())? {
    ///             let _ = reply.send(n * n);
    ///         }
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// shards.run_until_idle();
    /// shards.shutdown();
    /// let states: Vec<u64> = shards.finish().into_iter().map(|end| end.unwrap().state).collect();
    /// assert_eq!(states, [25, 0, 0]);
    /// ```
    #[track_caller]
    pub fn request<A>(
        &self,
        t: &mut Task<'_, S>,
        to: usize,
        make: impl FnOnce(Reply<A>) -> M,
    ) -> Eff<Yields, Result<Answer<A>, ShardSendError<M>>> {
        let (reply, answer) = reply::pair(self.shared.activity.clone(), to);
        Ok(self.send(t, to, make(reply))?.map(|()| answer))
    }

    /// Spawns a task running `body` on shard `to` (any shard, this one
    /// included), waiting while that shard's queue of spawns is full: a
    /// yield point. The body is `Send`: what it captures moves to the
    /// other shard's thread, and it runs there on that shard's state.
    ///
    /// `Err` gives the body back, boxed, if shard `to` stopped or does not
    /// exist. A body still queued when its shard stops is dropped there,
    /// unrun. A task spawned this way is detached: to hear from it, send
    /// it a [`Reply`] or a message of your own.
    #[track_caller]
    pub fn spawn_on<F>(
        &self,
        t: &mut Task<'_, S>,
        to: usize,
        body: F,
    ) -> Eff<Yields, Result<(), ShardSendError<SpawnBody<S>>>>
    where
        F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, ()> + Send + 'static,
    {
        let body: SpawnBody<S> = Box::new(body);
        t.wait(SendMessage {
            lane: self.shared.peers.get(to).map(|peer| &*peer.spawns),
            shard: to,
            shards: self.shards(),
            msg: Some(body),
            ticket: None,
        })
    }

    fn no_such_shard<T>(&self, to: usize, message: T) -> ShardSendError<T> {
        ShardSendError::NoSuchShard {
            shard: to,
            shards: self.shards(),
            message,
        }
    }
}

impl<M, S: 'static> Clone for Mesh<M, S> {
    fn clone(&self) -> Self {
        Mesh {
            shared: Arc::clone(&self.shared),
            index: self.index,
        }
    }
}

impl<M, S: 'static> fmt::Debug for Mesh<M, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mesh")
            .field("index", &self.index)
            .field("shards", &self.shards())
            .finish()
    }
}

/// Waits for room in another shard's queue and sends a message into it:
/// the source of [`Mesh::send`], made by [`Mesh::send_source`]. Its output
/// is `Err` with the message given back if the shard stopped or does not
/// exist. While it waits, the driver does not call the wait a deadlock:
/// the room comes from the other shard's thread.
pub struct SendMessage<'a, T> {
    lane: Option<&'a Lane<T>>,
    shard: usize,
    shards: usize,
    msg: Option<T>,
    /// The registration of the wait for room.
    ticket: Option<u64>,
}

impl<T> SendMessage<'_, T> {
    /// Takes back the message if it was not sent (the wait ended first).
    pub fn take_message(&mut self) -> Option<T> {
        self.msg.take()
    }
}

impl<T> Source for SendMessage<'_, T> {
    type Output = Result<(), ShardSendError<T>>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<Self::Output> {
        let message = self.msg.take()?;
        let Some(lane) = self.lane else {
            return Some(Err(ShardSendError::NoSuchShard {
                shard: self.shard,
                shards: self.shards,
                message,
            }));
        };
        match lane.push(message) {
            Ok(()) => Some(Ok(())),
            Err(PushError::Closed(message)) => Some(Err(ShardSendError::Stopped {
                shard: self.shard,
                message,
            })),
            Err(PushError::Full(message)) => {
                self.msg = Some(message);
                None
            }
        }
    }

    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
        let Some(lane) = self.lane else {
            cx.handle().wake(waiter);
            return;
        };
        let (ticket, room) = lane.watch_sender(cx.handle().remote(), waiter);
        if room {
            cx.handle().wake(waiter);
        }
        self.ticket = Some(ticket);
        cx.begin_outside_wait();
    }

    fn unregister(&mut self, cx: &mut Context<'_>) {
        if let (Some(lane), Some(ticket)) = (self.lane, self.ticket.take()) {
            lane.unwatch_sender(ticket);
            cx.end_outside_wait();
        }
    }

    fn abandon(&mut self, _cx: &mut Context<'_>) {
        if let Some(lane) = self.lane {
            lane.pass_on_room();
        }
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::custom("room in another shard's queue")
    }
}

impl<T> fmt::Debug for SendMessage<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendMessage")
            .field("shard", &self.shard)
            .field("sent", &self.msg.is_none())
            .finish_non_exhaustive()
    }
}
