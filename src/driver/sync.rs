//! Channels, notify and event objects for driver tasks.
//!
//! All of them can be kept anywhere, the shared state included. None of
//! their methods switches stacks: sending, notifying and dropping only mark
//! waiting tasks as ready, and the driver resumes them later. Waiting is
//! done through a [`Task`](super::Task), whose methods take `&mut self`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use super::reactor::{Shared, WaitOn, Waiter};
use super::select::SourceImpl;

/// Creates a bounded channel. See [`Driver::channel`](super::Driver::channel).
pub(crate) fn channel<T>(shared: &Rc<Shared>, capacity: usize) -> (Sender<T>, Receiver<T>) {
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
        if let Some(waiter) = self.recv_waiter.take() {
            self.shared.wake(waiter);
        }
    }
}

/// The sending half of a bounded channel. Cloning makes another sender; the
/// channel closes for the receiver when the last sender is dropped.
///
/// From any code, [`try_send`](Sender::try_send) never waits; from a task,
/// [`Task::send`](super::Task::send) waits while the channel is full.
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

/// The receiver is gone: the message was not sent and is given back.
#[derive(PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the channel's receiver is gone; the message was not sent")
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
    pub(crate) fn register_sender(&self, waiter: Waiter) {
        self.chan.state.borrow_mut().send_waiters.push_back(waiter);
    }

    /// Removes a waiting sender's registration. Returns `false` if it had
    /// already been taken off the queue by a wake-up.
    pub(crate) fn unregister_sender(&self, waiter: Waiter) -> bool {
        let mut st = self.chan.state.borrow_mut();
        let before = st.send_waiters.len();
        st.send_waiters.retain(|w| *w != waiter);
        st.send_waiters.len() != before
    }

    /// A sender that was woken for room gives up (it was cancelled): pass
    /// the wake-up on so the room is not lost.
    pub(crate) fn pass_on(&self) {
        self.chan.wake_one_sender();
    }

    pub(crate) fn wait_description(&self) -> WaitOn {
        WaitOn::Send {
            channel: self.chan.id,
            capacity: self.chan.capacity,
        }
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
/// [`Task::recv`](super::Task::recv), usable in
/// [`Task::select`](super::Task::select) through [`recv`](super::wait::recv).
pub struct Recv<'a, T> {
    pub(crate) rx: &'a mut Receiver<T>,
}

impl<T> SourceImpl for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    #[inline]
    fn poll(&mut self, _shared: &Shared) -> Option<Result<T, RecvError>> {
        match self.rx.try_recv() {
            Ok(msg) => Some(Ok(msg)),
            Err(TryRecvError::Closed) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        }
    }

    #[inline]
    fn register(&mut self, _shared: &Shared, waiter: Waiter) {
        self.rx.chan.recv_waiter.set(Some(waiter));
    }

    #[inline]
    fn unregister(&mut self, _shared: &Shared) {
        self.rx.chan.recv_waiter.set(None);
    }

    #[inline]
    fn wait_on(&self) -> WaitOn {
        WaitOn::Recv {
            channel: self.rx.chan.id,
        }
    }
}

struct NotifyState {
    permit: bool,
    waiters: VecDeque<Waiter>,
    /// Waiters that were handed a notification and have not consumed it yet.
    notified: Vec<Waiter>,
}

/// Wakes waiting tasks on demand: the primitive for external callbacks.
///
/// [`notify_one`](Notify::notify_one) wakes the longest-waiting task, or,
/// if none waits, stores one permit that the next wait consumes at once.
/// [`notify_waiters`](Notify::notify_waiters) wakes every task waiting now
/// and stores nothing. A notification handed to a task that is cancelled
/// before it runs is passed on to the next waiter, so none is lost.
///
/// Cloning gives another handle to the same object.
#[derive(Clone)]
pub struct Notify {
    inner: Rc<NotifyInner>,
}

struct NotifyInner {
    id: u64,
    shared: Rc<Shared>,
    state: RefCell<NotifyState>,
}

impl Notify {
    pub(crate) fn new(shared: &Rc<Shared>) -> Notify {
        let id = shared.reactor.borrow_mut().object_id();
        Notify {
            inner: Rc::new(NotifyInner {
                id,
                shared: Rc::clone(shared),
                state: RefCell::new(NotifyState {
                    permit: false,
                    waiters: VecDeque::new(),
                    notified: Vec::new(),
                }),
            }),
        }
    }

    /// Wakes the longest-waiting task, or stores a permit if none waits.
    pub fn notify_one(&self) {
        loop {
            let next = self.inner.state.borrow_mut().waiters.pop_front();
            match next {
                Some(waiter) => {
                    if self.inner.shared.wake(waiter) {
                        self.inner.state.borrow_mut().notified.push(waiter);
                        return;
                    }
                }
                None => {
                    self.inner.state.borrow_mut().permit = true;
                    return;
                }
            }
        }
    }

    /// Wakes every task waiting now. Stores no permit.
    pub fn notify_waiters(&self) {
        let waiters = std::mem::take(&mut self.inner.state.borrow_mut().waiters);
        for waiter in waiters {
            if self.inner.shared.wake(waiter) {
                self.inner.state.borrow_mut().notified.push(waiter);
            }
        }
    }

    /// The object's id, as shown in [`WaitOn`].
    pub fn id(&self) -> u64 {
        self.inner.id
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.borrow();
        f.debug_struct("Notify")
            .field("id", &self.inner.id)
            .field("permit", &st.permit)
            .field("waiting", &st.waiters.len())
            .finish()
    }
}

/// Waits for a [`Notify`]: the source behind
/// [`Task::notified`](super::Task::notified).
pub struct Notified<'a> {
    pub(crate) notify: &'a Notify,
    pub(crate) last: Option<Waiter>,
}

impl SourceImpl for Notified<'_> {
    type Output = ();

    fn poll(&mut self, _shared: &Shared) -> Option<()> {
        let mut st = self.notify.inner.state.borrow_mut();
        if let Some(last) = self.last {
            if let Some(at) = st.notified.iter().position(|w| *w == last) {
                st.notified.swap_remove(at);
                self.last = None;
                return Some(());
            }
        }
        if st.permit {
            st.permit = false;
            return Some(());
        }
        None
    }

    fn register(&mut self, _shared: &Shared, waiter: Waiter) {
        self.last = Some(waiter);
        self.notify
            .inner
            .state
            .borrow_mut()
            .waiters
            .push_back(waiter);
    }

    fn unregister(&mut self, _shared: &Shared) {
        if let Some(last) = self.last {
            self.notify
                .inner
                .state
                .borrow_mut()
                .waiters
                .retain(|w| *w != last);
        }
    }

    fn abandon(&mut self, _shared: &Shared) {
        let handed = {
            let mut st = self.notify.inner.state.borrow_mut();
            match self
                .last
                .and_then(|last| st.notified.iter().position(|w| *w == last))
            {
                Some(at) => {
                    st.notified.swap_remove(at);
                    true
                }
                None => false,
            }
        };
        self.last = None;
        if handed {
            self.notify.notify_one();
        }
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::Notify {
            id: self.notify.inner.id,
        }
    }
}

/// A latch: once [`set`](Event::set), every wait on it returns at once, and
/// every task that was waiting is woken. For shutdown signals and "ready"
/// flags. Cloning gives another handle to the same event.
#[derive(Clone)]
pub struct Event {
    inner: Rc<EventInner>,
}

struct EventInner {
    id: u64,
    shared: Rc<Shared>,
    state: RefCell<(bool, Vec<Waiter>)>,
}

impl Event {
    pub(crate) fn new(shared: &Rc<Shared>) -> Event {
        let id = shared.reactor.borrow_mut().object_id();
        Event {
            inner: Rc::new(EventInner {
                id,
                shared: Rc::clone(shared),
                state: RefCell::new((false, Vec::new())),
            }),
        }
    }

    /// Sets the event and wakes every task waiting on it.
    pub fn set(&self) {
        let waiters = {
            let mut st = self.inner.state.borrow_mut();
            st.0 = true;
            std::mem::take(&mut st.1)
        };
        for waiter in waiters {
            self.inner.shared.wake(waiter);
        }
    }

    /// Whether the event is set.
    pub fn is_set(&self) -> bool {
        self.inner.state.borrow().0
    }

    /// The object's id, as shown in [`WaitOn`].
    pub fn id(&self) -> u64 {
        self.inner.id
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("id", &self.inner.id)
            .field("set", &self.is_set())
            .finish()
    }
}

/// Waits for an [`Event`] to be set: the source behind
/// [`Task::wait_event`](super::Task::wait_event).
pub struct EventWait<'a> {
    pub(crate) event: &'a Event,
    pub(crate) last: Option<Waiter>,
}

impl SourceImpl for EventWait<'_> {
    type Output = ();

    fn poll(&mut self, _shared: &Shared) -> Option<()> {
        self.event.is_set().then_some(())
    }

    fn register(&mut self, _shared: &Shared, waiter: Waiter) {
        self.last = Some(waiter);
        self.event.inner.state.borrow_mut().1.push(waiter);
    }

    fn unregister(&mut self, _shared: &Shared) {
        if let Some(last) = self.last.take() {
            self.event.inner.state.borrow_mut().1.retain(|w| *w != last);
        }
    }

    fn wait_on(&self) -> WaitOn {
        WaitOn::Event {
            id: self.event.inner.id,
        }
    }
}
