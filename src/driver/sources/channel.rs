//! Bounded channels: [`Sender`], [`Receiver`], and the sources that wait
//! on them, [`Recv`] and [`SendWait`].
//!
//! Both ends can be kept anywhere, the shared state included. None of
//! their methods switches stacks: sending, receiving and dropping only mark
//! waiting tasks as ready, and the driver resumes them later. A receiver
//! can also be awaited from async code on the driver's thread
//! ([`Receiver::recv_async`], and `Stream` with the `futures` feature).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::rc::Rc;
use std::task::Poll;

use crate::driver::handle::DriverHandle;
use crate::driver::reactor::{Shared, Waiter};
use crate::driver::report::WaitOn;
use crate::driver::source::{Context, Source};

impl DriverHandle {
    /// A new bounded channel holding at most `capacity` messages. Its ends
    /// may be kept anywhere, the shared state included;
    /// [`Sender::try_send`] and [`Receiver::try_recv`] work from any code,
    /// and tasks wait with [`Task::send`](crate::driver::Task::send) and
    /// [`Task::recv`](crate::driver::Task::recv).
    ///
    /// # Panics
    ///
    /// If `capacity` is zero.
    pub fn channel<T>(&self, capacity: usize) -> (Sender<T>, Receiver<T>) {
        channel(self.shared(), capacity)
    }
}

fn channel<T>(shared: &Rc<Shared>, capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "a channel needs a capacity of at least 1 (a full channel makes senders wait)"
    );
    let id = shared.reactor.borrow_mut().object_id();
    let chan = Rc::new(Chan {
        id,
        capacity,
        shared: Rc::clone(shared),
        recv_waiter: Cell::new(None),
        async_waker: Cell::new(None),
        state: RefCell::new(ChanState {
            buf: VecDeque::with_capacity(capacity.min(1024)),
            senders: 1,
            receiver_alive: true,
            send_waiters: VecDeque::new(),
        }),
    });
    (
        Sender {
            chan: Rc::clone(&chan),
        },
        Receiver { chan },
    )
}

struct Chan<T> {
    id: u64,
    capacity: usize,
    shared: Rc<Shared>,
    /// The receiver's current wait, if it waits. Outside `state` so that
    /// setting and taking it needs no borrow.
    recv_waiter: Cell<Option<Waiter>>,
    /// Async code awaiting the receiver (`poll_recv`), if any.
    async_waker: Cell<Option<std::task::Waker>>,
    state: RefCell<ChanState<T>>,
}

struct ChanState<T> {
    buf: VecDeque<T>,
    senders: usize,
    receiver_alive: bool,
    send_waiters: VecDeque<Waiter>,
}

impl<T> Chan<T> {
    /// Wakes the longest-waiting sender that is still waiting, if there is
    /// room for it.
    fn wake_one_sender(&self) {
        loop {
            let next = {
                let mut st = self.state.borrow_mut();
                if st.buf.len() >= self.capacity {
                    return;
                }
                st.send_waiters.pop_front()
            };
            match next {
                Some(waiter) => {
                    if self.shared.wake(waiter) {
                        return;
                    }
                }
                None => return,
            }
        }
    }

    #[inline]
    fn wake_receiver(&self) {
        match self.recv_waiter.take() {
            Some(waiter) => {
                self.shared.wake(waiter);
            }
            None => self.wake_async(),
        }
    }

    /// Wakes async code awaiting the receiver, if any.
    #[cold]
    #[inline(never)]
    fn wake_async(&self) {
        if let Some(waker) = self.async_waker.take() {
            waker.wake();
        }
    }
}

/// The sending half of a bounded channel. Cloning makes another sender; the
/// channel closes for the receiver when the last sender is dropped.
///
/// From any code, [`try_send`](Sender::try_send) never waits; from a task,
/// [`Task::send`](crate::driver::Task::send) waits while the channel is full.
pub struct Sender<T> {
    chan: Rc<Chan<T>>,
}

/// The receiving half of a bounded channel. Not cloneable: one receiver per
/// channel.
pub struct Receiver<T> {
    chan: Rc<Chan<T>>,
}

/// Why [`Sender::try_send`] did not send. Gives the message back.
#[derive(PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel holds `capacity` messages.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The message that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(msg) | TrySendError::Closed(msg) => msg,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str(
                "the channel is full; wait with `Task::send`, or retry after the receiver ran",
            ),
            TrySendError::Closed(_) => {
                f.write_str("the channel's receiver is gone; the message was not sent")
            }
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// The receiver is gone (or, for a
/// [`RemoteSender`](crate::driver::RemoteSender), its whole driver): the
/// message was not sent and is given back.
#[derive(PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the channel's receiver (or its driver) is gone; the message was not sent")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why a receive produced no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// No message now; senders still exist.
    Empty,
    /// No message and every sender is gone: none will come.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("the channel is empty"),
            TryRecvError::Closed => f.write_str("the channel is empty and every sender is gone"),
        }
    }
}

impl std::error::Error for TryRecvError {}

/// Every sender is gone and the channel is empty: no message will come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the channel is closed: every sender is gone and no message is left")
    }
}

impl std::error::Error for RecvError {}

impl<T> Sender<T> {
    /// Sends without waiting. Wakes the receiver if it waits.
    #[inline(always)]
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        {
            let mut st = self.chan.state.borrow_mut();
            if !st.receiver_alive {
                return Err(TrySendError::Closed(msg));
            }
            if st.buf.len() >= self.chan.capacity {
                return Err(TrySendError::Full(msg));
            }
            st.buf.push_back(msg);
        }
        self.chan.wake_receiver();
        Ok(())
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        !self.chan.state.borrow().receiver_alive
    }

    /// Messages waiting in the channel.
    pub fn len(&self) -> usize {
        self.chan.state.borrow().buf.len()
    }

    /// Whether no message waits in the channel.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most messages the channel holds.
    pub fn capacity(&self) -> usize {
        self.chan.capacity
    }

    /// The channel's id, as shown in [`WaitOn`].
    pub fn channel_id(&self) -> u64 {
        self.chan.id
    }

    /// Registers a task that waits for room.
    fn register_sender(&self, waiter: Waiter) {
        self.chan.state.borrow_mut().send_waiters.push_back(waiter);
    }

    /// Removes a waiting sender's registration. Returns `false` if it had
    /// already been taken off the queue by a wake-up.
    fn unregister_sender(&self, waiter: Waiter) -> bool {
        let mut st = self.chan.state.borrow_mut();
        let before = st.send_waiters.len();
        st.send_waiters.retain(|w| *w != waiter);
        st.send_waiters.len() != before
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.state.borrow_mut().senders += 1;
        Sender {
            chan: Rc::clone(&self.chan),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let last = {
            let mut st = self.chan.state.borrow_mut();
            st.senders -= 1;
            st.senders == 0
        };
        if last {
            // The receiver may be waiting for a message that will never come.
            self.chan.wake_receiver();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("channel", &self.chan.id)
            .field("len", &self.len())
            .field("capacity", &self.chan.capacity)
            .finish()
    }
}

impl<T> Receiver<T> {
    /// Takes the next message without waiting. Wakes a sender waiting for
    /// room.
    #[inline]
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let (msg, senders_wait) = {
            let mut st = self.chan.state.borrow_mut();
            match st.buf.pop_front() {
                Some(msg) => (msg, !st.send_waiters.is_empty()),
                None if st.senders == 0 => return Err(TryRecvError::Closed),
                None => return Err(TryRecvError::Empty),
            }
        };
        if senders_wait {
            self.chan.wake_one_sender();
        }
        Ok(msg)
    }

    /// Messages waiting in the channel.
    pub fn len(&self) -> usize {
        self.chan.state.borrow().buf.len()
    }

    /// Whether no message waits in the channel.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender is gone (messages may still be waiting).
    pub fn is_closed(&self) -> bool {
        self.chan.state.borrow().senders == 0
    }

    /// The channel's id, as shown in [`WaitOn`].
    pub fn channel_id(&self) -> u64 {
        self.chan.id
    }
}

impl<T> Receiver<T> {
    /// Polls for the next message from async code on the driver's thread:
    /// `Ready(Some(msg))`, `Ready(None)` once every sender is gone and the
    /// channel is empty, or `Pending` (the context's waker is woken by the
    /// next send). As tokio's `Receiver::poll_recv`.
    pub fn poll_recv(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Option<T>> {
        match self.try_recv() {
            Ok(msg) => Poll::Ready(Some(msg)),
            Err(TryRecvError::Closed) => Poll::Ready(None),
            Err(TryRecvError::Empty) => {
                self.chan.async_waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        }
    }

    /// The next message, awaited from async code on the driver's thread
    /// (for example a tokio `LocalSet` that also runs the driver, see
    /// `Driver::run_async` (feature `tokio`)); `None`
    /// once every sender is gone and the channel is empty. A task waits
    /// with [`Task::recv`](crate::driver::Task::recv) instead: this future
    /// does nothing unless an executor polls it.
    pub fn recv_async(&mut self) -> impl Future<Output = Option<T>> + '_ {
        std::future::poll_fn(move |cx| self.poll_recv(cx))
    }
}

/// The messages of the channel, for async code (feature `futures`).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (buffered, waiters) = {
            let mut st = self.chan.state.borrow_mut();
            st.receiver_alive = false;
            (
                std::mem::take(&mut st.buf),
                std::mem::take(&mut st.send_waiters),
            )
        };
        // Wake every waiting sender so it sees the channel closed. Then drop
        // the undelivered messages, outside of any borrow (their destructors
        // may use channels, this one included).
        for waiter in waiters {
            self.chan.shared.wake(waiter);
        }
        drop(buffered);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("channel", &self.chan.id)
            .field("len", &self.len())
            .finish()
    }
}

/// Waits for a message on a receiver: the source behind
/// [`Task::recv`](crate::driver::Task::recv), made by
/// [`wait::recv`](crate::driver::wait::recv).
pub struct Recv<'a, T> {
    pub(crate) rx: &'a mut Receiver<T>,
}

impl<T> Source for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    #[inline]
    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<Result<T, RecvError>> {
        match self.rx.try_recv() {
            Ok(msg) => Some(Ok(msg)),
            Err(TryRecvError::Closed) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        }
    }

    #[inline]
    fn register(&mut self, _cx: &mut Context<'_>, waiter: Waiter) {
        self.rx.chan.recv_waiter.set(Some(waiter));
    }

    #[inline]
    fn unregister(&mut self, _cx: &mut Context<'_>) {
        self.rx.chan.recv_waiter.set(None);
    }

    #[inline]
    fn wait_on(&self) -> WaitOn {
        WaitOn::Recv {
            channel: self.rx.chan.id,
        }
    }
}

/// Sends a message, waiting while the channel is full: the source behind
/// [`Task::send`](crate::driver::Task::send), made by
/// [`wait::send`](crate::driver::wait::send).
///
/// It holds the message until the send happens. Its output is `Ok(())`
/// once the message is in the channel, or `Err(SendError(msg))` with the
/// message if the receiver is gone. In a `select` that another source wins,
/// the message stays in the source: pass the source by `&mut` and take it
/// back with [`into_message`](SendWait::into_message). A source dropped
/// with its message drops the message.
///
/// ```
/// use std::time::Duration;
///
/// use coshare::driver::{wait, DriverBuilder, Task};
/// use coshare::{Eff, Yields};
/// use frunk::{hlist, Coproduct};
///
/// let mut driver = DriverBuilder::new().virtual_clock().build(());
/// let (tx, rx) = driver.handle().channel::<String>(1);
/// tx.try_send("first".to_owned()).unwrap(); // the channel is full
/// let h = driver
///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, Option<String>> {
///         let mut send = wait::send(&tx, "second".to_owned());
///         match t.select(hlist![&mut send, wait::sleep(Duration::from_secs(1))])? {
///             Coproduct::Inl(sent) => sent.map_err(|e| e.0).unwrap(),
///             Coproduct::Inr(_timeout) => {}
///         }
///         Ok(send.into_message())
///     })
///     .unwrap();
/// let unsent = driver.block_on(h).unwrap().unwrap();
/// assert_eq!(unsent.as_deref(), Some("second")); // given back, not lost
/// assert_eq!(rx.len(), 1);
/// ```
#[must_use = "a source does nothing until a task waits on it"]
pub struct SendWait<'a, T> {
    pub(crate) tx: &'a Sender<T>,
    pub(crate) msg: Option<T>,
    /// The registration of the current park.
    pub(crate) waiter: Option<Waiter>,
    /// A wake-up took this sender off the queue (it was handed room) and
    /// the room has not been used yet.
    pub(crate) handed: bool,
}

impl<T> SendWait<'_, T> {
    /// The message, if it has not been sent.
    pub fn into_message(self) -> Option<T> {
        self.msg
    }
}

impl<T> Source for SendWait<'_, T> {
    type Output = Result<(), SendError<T>>;

    #[inline(always)]
    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<Self::Output> {
        // A source that already sent has nothing more to do.
        let msg = self.msg.take()?;
        match self.tx.try_send(msg) {
            Ok(()) => Some(Ok(())),
            Err(TrySendError::Closed(back)) => Some(Err(SendError(back))),
            Err(TrySendError::Full(back)) => {
                self.msg = Some(back);
                None
            }
        }
    }

    fn register(&mut self, _cx: &mut Context<'_>, waiter: Waiter) {
        self.tx.register_sender(waiter);
        self.waiter = Some(waiter);
        self.handed = false;
    }

    fn unregister(&mut self, _cx: &mut Context<'_>) {
        if let Some(waiter) = self.waiter.take() {
            // Not on the queue any more: a wake-up took it off, for room.
            self.handed = !self.tx.unregister_sender(waiter);
        }
    }

    fn abandon(&mut self, _cx: &mut Context<'_>) {
        if std::mem::take(&mut self.handed) {
            // The room this sender was woken for goes to the next one.
            self.tx.chan.wake_one_sender();
        }
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::Send {
            channel: self.tx.chan.id,
            capacity: self.tx.chan.capacity,
        }
    }
}
