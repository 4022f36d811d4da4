//! Channels fed from other threads: [`RemoteSender`] (`Send`), which any
//! thread sends on without waiting, and [`RemoteReceiver`], which a task
//! of the driver waits on like any [`Receiver`](super::channel::Receiver).
//!
//! The buffer sits behind a mutex shared by both ends. A send pushes the
//! message and, if the receiving task waits, wakes it through the
//! driver's remote core; the receiver takes the whole buffer at once (the
//! two trade places) and hands its messages out without the lock (see `reactor/remote.rs` for the protocol that
//! makes an idle driver wake at once and never loses the wake). The
//! receiver's registration looks at the buffer under the same lock, so a
//! message that arrives between a poll that found nothing and the
//! registration wakes the task at once.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
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
            state: Mutex::new(ChanState {
                buf: VecDeque::new(),
                senders: 1,
                receiver_alive: true,
                recv_waiter: None,
                async_waker: None,
            }),
        });
        (
            RemoteSender {
                chan: Arc::clone(&chan),
            },
            RemoteReceiver {
                chan,
                taken: VecDeque::new(),
                _local: ThreadBound::new(),
            },
        )
    }
}

struct RemoteChan<T> {
    id: u64,
    core: Arc<RemoteCore>,
    state: Mutex<ChanState<T>>,
}

struct ChanState<T> {
    buf: VecDeque<T>,
    senders: usize,
    receiver_alive: bool,
    /// The receiving task's current wait, if it waits.
    recv_waiter: Option<Waiter>,
    /// Async code awaiting the receiver, if any.
    async_waker: Option<std::task::Waker>,
}

impl<T> RemoteChan<T> {
    /// The state. No code of the crate panics while holding the lock, and
    /// a user's `Drop` never runs under it, so poisoning is ignored.
    fn state(&self) -> MutexGuard<'_, ChanState<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes whoever waits on the receiver: taken under the lock, woken
    /// after it.
    fn wake_receiver(&self, waiter: Option<Waiter>, waker: Option<std::task::Waker>) {
        if let Some(waiter) = waiter {
            wake_from_anywhere(&self.core, waiter);
        }
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The sending half of a [remote channel](DriverHandle::remote_channel):
/// `Send + Sync + Clone`, for any thread. The channel closes for the
/// receiver when the last sender is dropped.
pub struct RemoteSender<T> {
    chan: Arc<RemoteChan<T>>,
}

impl<T> RemoteSender<T> {
    /// Sends without waiting (the channel is unbounded) and wakes the
    /// receiving task if it waits. `Err(SendError(msg))` gives the message
    /// back if the receiver or the whole driver is gone.
    ///
    /// A send that races with the driver's drop may be accepted just before
    /// the drop and then dropped with the channel, as with any channel
    /// whose receiver goes away.
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        let (waiter, waker) = {
            let mut st = self.chan.state();
            if !st.receiver_alive || self.chan.core.is_closed() {
                return Err(SendError(msg));
            }
            st.buf.push_back(msg);
            (st.recv_waiter.take(), st.async_waker.take())
        };
        self.chan.wake_receiver(waiter, waker);
        Ok(())
    }

    /// Whether the receiver, or the driver, is gone.
    pub fn is_closed(&self) -> bool {
        !self.chan.state().receiver_alive || self.chan.core.is_closed()
    }

    /// The channel's id, as shown in [`WaitOn`].
    pub fn channel_id(&self) -> u64 {
        self.chan.id
    }
}

impl<T> Clone for RemoteSender<T> {
    fn clone(&self) -> Self {
        self.chan.state().senders += 1;
        RemoteSender {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Drop for RemoteSender<T> {
    fn drop(&mut self) {
        let (waiter, waker) = {
            let mut st = self.chan.state();
            st.senders -= 1;
            if st.senders > 0 {
                return;
            }
            // The receiver may wait for a message that will never come.
            (st.recv_waiter.take(), st.async_waker.take())
        };
        self.chan.wake_receiver(waiter, waker);
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
    /// Messages taken from the shared buffer in one go and not received
    /// yet: the receiver locks once per batch, not once per message.
    taken: VecDeque<T>,
    /// Its waits name tasks of its own driver: it stays on that thread.
    _local: ThreadBound,
}

/// The messages it holds are never pinned: moving the receiver moves
/// nothing that was.
impl<T> Unpin for RemoteReceiver<T> {}

impl<T> RemoteReceiver<T> {
    /// Takes the next message without waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if let Some(msg) = self.taken.pop_front() {
            return Ok(msg);
        }
        let mut st = self.chan.state();
        // Everything that is there, in one go (the two buffers trade
        // places, so neither side allocates in the steady state).
        std::mem::swap(&mut st.buf, &mut self.taken);
        match self.taken.pop_front() {
            Some(msg) => Ok(msg),
            None if st.senders == 0 => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Messages waiting in the channel.
    pub fn len(&self) -> usize {
        self.taken.len() + self.chan.state().buf.len()
    }

    /// Whether no message waits in the channel.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender is gone (messages may still be waiting).
    pub fn is_closed(&self) -> bool {
        self.chan.state().senders == 0
    }

    /// The channel's id, as shown in [`WaitOn`].
    pub fn channel_id(&self) -> u64 {
        self.chan.id
    }

    /// Polls for the next message from async code on the driver's thread:
    /// as [`Receiver::poll_recv`](super::channel::Receiver::poll_recv).
    pub fn poll_recv(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Option<T>> {
        if let Some(msg) = self.taken.pop_front() {
            return Poll::Ready(Some(msg));
        }
        let mut st = self.chan.state();
        std::mem::swap(&mut st.buf, &mut self.taken);
        match self.taken.pop_front() {
            Some(msg) => Poll::Ready(Some(msg)),
            None if st.senders == 0 => Poll::Ready(None),
            None => {
                st.async_waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// The next message, awaited from async code on the driver's thread;
    /// `None` once every sender is gone and the channel is empty.
    pub fn recv_async(&mut self) -> impl Future<Output = Option<T>> + '_ {
        std::future::poll_fn(move |cx| self.poll_recv(cx))
    }
}

impl<T> Drop for RemoteReceiver<T> {
    /// Closes the channel for the senders; the undelivered messages (in
    /// `taken` too) are dropped with it.
    fn drop(&mut self) {
        let buffered = {
            let mut st = self.chan.state();
            st.receiver_alive = false;
            std::mem::take(&mut st.buf)
        };
        // Undelivered messages are dropped outside the lock.
        drop(buffered);
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
        let ready = {
            let mut st = self.rx.chan.state();
            let ready = !self.rx.taken.is_empty() || !st.buf.is_empty() || st.senders == 0;
            if !ready {
                st.recv_waiter = Some(waiter);
            }
            ready
        };
        if ready {
            // A message (or the close) came since the poll.
            cx.handle().wake(waiter);
        } else {
            self.waiting = true;
            cx.begin_outside_wait();
        }
    }

    fn unregister(&mut self, cx: &mut Context<'_>) {
        self.rx.chan.state().recv_waiter = None;
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
