//! Channels fed from other threads: [`RemoteSender`] (`Send`), which any
//! thread sends on without waiting, and [`RemoteReceiver`], which a task
//! of the driver waits on like any [`Receiver`](super::channel::Receiver).
//!
//! The messages go through a lock-free queue, so a sender never holds a
//! lock the driver could wait for (a sender preempted in the middle of a
//! send stalls nobody). A send pushes the message and, if the receiver is
//! watched (a task waits on it, or async code awaits it), wakes the
//! watcher through the driver's remote core (see `reactor/remote.rs` for
//! the protocol that makes an idle driver wake at once and never loses
//! the wake). Between the two sides it is the usual pair of fences: the
//! sender pushes, then looks at `waiting`; the receiver sets `waiting`,
//! then looks at the queue; with a sequentially consistent fence between
//! each write and read, at least one of them sees the other, so a message
//! that arrives between a poll that found nothing and the registration
//! wakes the task at once.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use concurrent_queue::ConcurrentQueue;
use std::task::Poll;

use super::channel::{RecvError, SendError, TryRecvError};
use super::receive::{Receive, sealed};
use crate::driver::handle::DriverHandle;
use crate::driver::reactor::{RemoteCore, Waiter, wake_from_anywhere};
use crate::driver::report::WaitOn;
use crate::driver::source::{Context, Source};
use crate::thread_bound::ThreadBound;

impl DriverHandle {
    /// A new channel fed from other threads: the [`RemoteSender`] is
    /// `Send + Sync + Clone` and sends without waiting from any thread; the
    /// [`RemoteReceiver`] stays on the driver's thread, where tasks wait on
    /// it with [`Task::recv`](crate::driver::Task::recv) and
    /// [`wait::recv`](crate::driver::wait::recv), as on a [`Receiver`](super::channel::Receiver).
    ///
    /// The channel is unbounded, as tokio's `unbounded_channel`: a thread
    /// that is not a task has no way to wait for room without blocking
    /// itself, and a driver that is busy must not make it block. Messages
    /// from one thread arrive in the order it sent them; none is lost while
    /// the driver is busy; once the driver (or the receiver) is gone,
    /// [`RemoteSender::send`] gives the message back.
    ///
    /// ```
    /// use coshare::driver::{Driver, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// let mut driver = Driver::new(Vec::new());
    /// let (tx, mut rx) = driver.handle().remote_channel::<u32>();
    /// driver
    ///     .spawn(move |t: &mut Task<Vec<u32>>| -> Eff<Yields, ()> {
    ///         while let Ok(n) = t.recv(&mut rx)? {
    ///             t.state().push(n);
    ///         }
    ///         Ok(()) // every sender is gone
    ///     })
    ///     .unwrap();
    /// let worker = std::thread::spawn(move || {
    ///     for n in 0..3 {
    ///         tx.send(n).unwrap();
    ///     }
    /// });
    /// driver.run().unwrap(); // waits for the worker's messages, then ends
    /// worker.join().unwrap();
    /// assert_eq!(driver.state(), &[0, 1, 2]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`DriverHandle::remote`].
    pub fn remote_channel<T: Send>(&self) -> (RemoteSender<T>, RemoteReceiver<T>) {
        let core = self.shared().remote();
        let id = self.shared().reactor.borrow_mut().object_id();
        let chan = Arc::new(RemoteChan {
            id,
            core,
            queue: ConcurrentQueue::unbounded(),
            senders: AtomicUsize::new(1),
            waiting: AtomicBool::new(false),
            wait: Mutex::new(Wait::default()),
        });
        (
            RemoteSender {
                chan: Arc::clone(&chan),
            },
            RemoteReceiver {
                chan,
                _local: ThreadBound::new(),
            },
        )
    }
}

struct RemoteChan<T> {
    id: u64,
    core: Arc<RemoteCore>,
    /// The messages: lock-free, so that neither side waits for the other.
    queue: ConcurrentQueue<T>,
    senders: AtomicUsize,
    /// Something waits on the receiver (a task's wait or async code):
    /// senders look here after each push.
    waiting: AtomicBool,
    /// Who waits, taken by the send that wakes it.
    wait: Mutex<Wait>,
}

#[derive(Default)]
struct Wait {
    /// The receiving task's current wait.
    waiter: Option<Waiter>,
    /// Async code awaiting the receiver.
    waker: Option<std::task::Waker>,
}

impl<T> RemoteChan<T> {
    /// Who waits. No code of the crate panics while holding the lock, so
    /// poisoning is ignored.
    fn wait(&self) -> MutexGuard<'_, Wait> {
        self.wait.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// After a push or the last sender's drop: wakes whoever waits on the
    /// receiver. The fence pairs with the one in [`RemoteChan::watch`]:
    /// either this side sees `waiting`, or the receiver's look at the
    /// queue after it set `waiting` sees the message (or the close).
    fn wake_receiver(&self) {
        fence(Ordering::SeqCst);
        if !self.waiting.load(Ordering::Relaxed) {
            return;
        }
        let (waiter, waker) = {
            let mut wait = self.wait();
            self.waiting.store(false, Ordering::Relaxed);
            (wait.waiter.take(), wait.waker.take())
        };
        if let Some(waiter) = waiter {
            wake_from_anywhere(&self.core, waiter);
        }
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Records who waits, then looks at the queue again: `true` if a
    /// message (or the close) is there already, and the caller must not
    /// wait for a wake.
    fn watch(&self, record: impl FnOnce(&mut Wait)) -> bool {
        {
            let mut wait = self.wait();
            record(&mut wait);
            self.waiting.store(true, Ordering::Relaxed);
        }
        fence(Ordering::SeqCst);
        !self.queue.is_empty() || self.senders.load(Ordering::Acquire) == 0
    }

    /// The next message, or why there is none.
    fn pop(&self) -> Result<T, TryRecvError> {
        if let Ok(msg) = self.queue.pop() {
            return Ok(msg);
        }
        if self.senders.load(Ordering::Acquire) == 0 {
            // Every push of the last sender happened before its drop: one
            // more look sees them all.
            return self.queue.pop().map_err(|_| TryRecvError::Closed);
        }
        Err(TryRecvError::Empty)
    }
}

/// The sending half of a [remote channel](DriverHandle::remote_channel):
/// `Send + Sync + Clone`, for any thread. The channel closes for the
/// receiver when the last sender is dropped.
pub struct RemoteSender<T> {
    chan: Arc<RemoteChan<T>>,
}

impl<T> RemoteSender<T> {
    /// Sends without waiting (the channel is unbounded, and lock-free) and
    /// wakes the receiving task if it waits. `Err(SendError(msg))` gives
    /// the message back if the receiver or the whole driver is gone.
    ///
    /// A send that races with the driver's drop may be accepted just before
    /// the drop and then dropped with the channel, as with any channel
    /// whose receiver goes away.
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        if self.chan.core.is_closed() {
            return Err(SendError(msg));
        }
        if let Err(closed) = self.chan.queue.push(msg) {
            return Err(SendError(closed.into_inner()));
        }
        self.chan.wake_receiver();
        Ok(())
    }

    /// Whether the receiver, or the driver, is gone.
    pub fn is_closed(&self) -> bool {
        self.chan.queue.is_closed() || self.chan.core.is_closed()
    }

    /// The channel's id, as shown in [`WaitOn`].
    pub fn channel_id(&self) -> u64 {
        self.chan.id
    }
}

impl<T> Clone for RemoteSender<T> {
    fn clone(&self) -> Self {
        self.chan.senders.fetch_add(1, Ordering::Relaxed);
        RemoteSender {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Drop for RemoteSender<T> {
    fn drop(&mut self) {
        if self.chan.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The receiver may wait for a message that will never come.
            self.chan.wake_receiver();
        }
    }
}

impl<T> fmt::Debug for RemoteSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteSender")
            .field("channel", &self.chan.id)
            .finish_non_exhaustive()
    }
}

/// The receiving half of a [remote channel](DriverHandle::remote_channel).
/// It stays on the driver's thread (`!Send`): tasks wait on it with
/// [`Task::recv`](crate::driver::Task::recv), async code on the driver's
/// thread with [`recv_async`](RemoteReceiver::recv_async).
pub struct RemoteReceiver<T> {
    chan: Arc<RemoteChan<T>>,
    /// Its waits name tasks of its own driver: it stays on that thread.
    _local: ThreadBound,
}

/// The messages it holds are never pinned: moving the receiver moves
/// nothing that was.
impl<T> Unpin for RemoteReceiver<T> {}

impl<T> RemoteReceiver<T> {
    /// Takes the next message without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.pop()
    }

    /// Messages waiting in the channel.
    pub fn len(&self) -> usize {
        self.chan.queue.len()
    }

    /// Whether no message waits in the channel.
    pub fn is_empty(&self) -> bool {
        self.chan.queue.is_empty()
    }

    /// Whether every sender is gone (messages may still be waiting).
    pub fn is_closed(&self) -> bool {
        self.chan.senders.load(Ordering::Acquire) == 0
    }

    /// The channel's id, as shown in [`WaitOn`].
    pub fn channel_id(&self) -> u64 {
        self.chan.id
    }

    /// Polls for the next message from async code on the driver's thread:
    /// as [`Receiver::poll_recv`](super::channel::Receiver::poll_recv).
    pub fn poll_recv(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Option<T>> {
        match self.chan.pop() {
            Ok(msg) => return Poll::Ready(Some(msg)),
            Err(TryRecvError::Closed) => return Poll::Ready(None),
            Err(TryRecvError::Empty) => {}
        }
        if self
            .chan
            .watch(|wait| wait.waker = Some(cx.waker().clone()))
        {
            // It came meanwhile: poll again.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }

    /// The next message, awaited from async code on the driver's thread;
    /// `None` once every sender is gone and the channel is empty.
    pub fn recv_async(&mut self) -> impl Future<Output = Option<T>> + '_ {
        std::future::poll_fn(move |cx| self.poll_recv(cx))
    }
}

impl<T> Drop for RemoteReceiver<T> {
    /// Closes the channel: later sends give their message back; the
    /// undelivered messages are dropped here.
    fn drop(&mut self) {
        self.chan.queue.close();
        while self.chan.queue.pop().is_ok() {}
    }
}

impl<T> fmt::Debug for RemoteReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteReceiver")
            .field("channel", &self.chan.id)
            .field("len", &self.len())
            .finish()
    }
}

/// The messages of the channel, for async code (feature `futures`).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<T> futures_core::Stream for RemoteReceiver<T> {
    type Item = T;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T> sealed::Sealed for RemoteReceiver<T> {}

impl<T> Receive for RemoteReceiver<T> {
    type Item = T;
    type Recv<'a>
        = RemoteRecv<'a, T>
    where
        T: 'a;

    fn recv_source(&mut self) -> RemoteRecv<'_, T> {
        RemoteRecv {
            rx: self,
            waiting: false,
        }
    }
}

/// Waits for a message on a [`RemoteReceiver`]: the source
/// [`Task::recv`](crate::driver::Task::recv) and
/// [`wait::recv`](crate::driver::wait::recv) use for one. While it waits,
/// the driver does not call the wait a deadlock: a message may come from
/// another thread.
pub struct RemoteRecv<'a, T> {
    rx: &'a mut RemoteReceiver<T>,
    /// Registered, and counted among the driver's outside waits.
    waiting: bool,
}

impl<T> Source for RemoteRecv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<Result<T, RecvError>> {
        match self.rx.try_recv() {
            Ok(msg) => Some(Ok(msg)),
            Err(TryRecvError::Closed) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        }
    }

    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
        if self.rx.chan.watch(|wait| wait.waiter = Some(waiter)) {
            // A message (or the close) came since the poll.
            cx.handle().wake(waiter);
        }
        self.waiting = true;
        cx.begin_outside_wait();
    }

    fn unregister(&mut self, cx: &mut Context<'_>) {
        {
            let mut wait = self.rx.chan.wait();
            wait.waiter = None;
            let still = wait.waker.is_some();
            self.rx.chan.waiting.store(still, Ordering::Relaxed);
        }
        if std::mem::take(&mut self.waiting) {
            cx.end_outside_wait();
        }
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::Recv {
            channel: self.rx.chan.id,
        }
    }
}
