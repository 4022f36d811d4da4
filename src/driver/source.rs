//! The wait protocol: [`Source`], the one trait behind every way a task
//! waits, and [`Context`], what a source sees of the driver.

use frunk::coproduct::{CNil, Coproduct};
use frunk::hlist::{HCons, HNil};

use super::handle::{DriverHandle, Waker};
use super::reactor::{Instant, Shared, Waiter};
use super::report::WaitOn;

/// Something a task can wait on: a message, room in a channel, a deadline,
/// a notification, another task's end, a socket, or an event source of
/// your own.
///
/// A task waits on a source with [`Task::wait`](super::Task::wait) (the
/// named methods such as [`Task::recv`](super::Task::recv) are that, for
/// the crate's own sources), and on several at once with
/// [`Task::select`](super::Task::select), which takes a frunk HList of
/// sources (an HList of sources is itself a source) and returns a frunk
/// `Coproduct` that says which one fired.
///
/// # The protocol
///
/// One loop drives every source, the same for the crate's and for yours:
///
/// ```text
/// if interrupted { return Err(interrupt) }
/// loop {
///     if let Some(output) = source.poll(cx) { return Ok(output) }
///     let waiter = (a new wait of this task);
///     source.register(cx, waiter);
///     (park: the task suspends until something wakes `waiter`, or it is cancelled)
///     source.unregister(cx);
///     if cancelled or interrupted { source.abandon(cx); return Err(interrupt) }
/// }
/// ```
///
/// where *interrupted* means that an expired cancel scope or a requested
/// cancellation interrupts the task's waits (see
/// [`Task::timeout`](super::Task::timeout)); it is decided before the
/// source is polled, so a source never loses its output to an interrupt.
///
/// and a source keeps these rules:
///
/// 1. [`poll`](Source::poll) takes the output if it is there and consumes
///    nothing otherwise: a message stays in its channel, a permit stays
///    stored. It is called before the first park and after every wake-up.
/// 2. [`register`](Source::register) arranges for `waiter` to be woken
///    ([`DriverHandle::wake`], [`Waker::wake`]) by whatever will make the
///    source ready. If that has already happened, it may wake it at once.
/// 3. [`unregister`](Source::unregister) removes the registration, after
///    every park, whatever ended it.
/// 4. [`abandon`](Source::abandon) is called on every source that did not
///    fire when the wait ends anyway (another source of a `select` won, or
///    the task is being cancelled). A source that a wake-up handed
///    something exclusive (a notification, room in a full channel) passes
///    it on to the next waiter here, so that none is lost. It may be
///    called with nothing registered, and more than once.
/// 5. [`wait_on`](Source::wait_on) describes the wait, for
///    [`Driver::tasks`](super::Driver::tasks) and deadlock reports.
///
/// Waking is only a hint: the task polls again, so a wake-up that is late,
/// duplicated or meant for an earlier wait changes nothing (a [`Waiter`]
/// names one wait, and a stale one wakes nobody). Together these rules are
/// what makes cancellation lose nothing.
///
/// None of the methods may switch stacks, and none can: they get no `Co`.
///
/// # A source of your own
///
/// A sensor whose samples arrive through a callback on the main stack. The
/// callback stores the sample and wakes the waiting task:
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// use coshare::driver::{Context, DriverBuilder, Source, Task, WaitOn, Waiter, Waker};
/// use coshare::{Eff, Yields};
///
/// #[derive(Default)]
/// struct Inbox {
///     sample: Option<u32>,
///     waker: Option<Waker>,
/// }
///
/// /// What the callback holds.
/// #[derive(Clone, Default)]
/// struct Sensor(Rc<RefCell<Inbox>>);
///
/// impl Sensor {
///     /// Called by the device library, on the main stack.
///     fn deliver(&self, sample: u32) {
///         let mut inbox = self.0.borrow_mut();
///         inbox.sample = Some(sample);
///         if let Some(waker) = inbox.waker.take() {
///             waker.wake();
///         }
///     }
/// }
///
/// /// Waits for the next sample.
/// struct NextSample<'a>(&'a Sensor);
///
/// impl Source for NextSample<'_> {
///     type Output = u32;
///
///     fn poll(&mut self, _cx: &mut Context<'_>) -> Option<u32> {
///         self.0 .0.borrow_mut().sample.take()
///     }
///
///     fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
///         self.0 .0.borrow_mut().waker = Some(cx.waker(waiter));
///     }
///
///     fn unregister(&mut self, _cx: &mut Context<'_>) {
///         self.0 .0.borrow_mut().waker = None;
///     }
///
///     fn wait_on(&self) -> WaitOn {
///         WaitOn::custom("the next sample")
///     }
/// }
///
/// let mut driver = DriverBuilder::new().virtual_clock().build(Vec::new());
/// let sensor = Sensor::default();
/// let inside = sensor.clone();
/// driver
///     .spawn(move |t: &mut Task<Vec<u32>>| -> Eff<Yields, ()> {
///         for _ in 0..2 {
///             let sample = t.wait(NextSample(&inside))?;
///             t.state().push(sample);
///         }
///         Ok(())
///     })
///     .unwrap();
/// driver.run_until_idle();
/// assert_eq!(driver.tasks()[0].wait.to_string(), "waits for the next sample");
/// sensor.deliver(7);
/// driver.run_until_idle();
/// sensor.deliver(8);
/// driver.run().unwrap();
/// assert_eq!(driver.state(), &[7, 8]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not something a task can wait on",
    label = "not a `coshare::driver::Source`",
    note = "make sources with the functions of `coshare::driver::wait`, or implement `Source` for your own type; several sources are waited on at once as an HList (`hlist![a, b]`)"
)]
pub trait Source {
    /// What the source produces when it fires.
    type Output;

    /// Takes the output if the source is ready, without waiting.
    fn poll(&mut self, cx: &mut Context<'_>) -> Option<Self::Output>;

    /// Arranges for `waiter` to be woken when the source may be ready.
    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter);

    /// Removes the registration after the task woke, for whatever reason.
    fn unregister(&mut self, cx: &mut Context<'_>);

    /// The wait ended without this source's output (another source won, or
    /// the task is cancelled): pass on anything exclusive a wake-up handed
    /// this source. The default does nothing.
    #[inline]
    fn abandon(&mut self, cx: &mut Context<'_>) {
        let _ = cx;
    }

    /// Describes the wait, for task listings and deadlock reports. Called
    /// once per park.
    fn wait_on(&self) -> WaitOn;
}

/// What a [`Source`] sees of the driver: its clock, and the means to wake
/// a waiting task.
pub struct Context<'a> {
    handle: &'a DriverHandle,
}

impl<'a> Context<'a> {
    pub(crate) fn new(handle: &'a DriverHandle) -> Context<'a> {
        Context { handle }
    }

    /// The reactor, for the crate's own sources.
    #[inline(always)]
    pub(crate) fn shared(&self) -> &'a Shared {
        self.handle.shared()
    }

    /// The driver's current time.
    pub fn now(&self) -> Instant {
        self.handle.now()
    }

    /// The driver's handle.
    pub fn handle(&self) -> &'a DriverHandle {
        self.handle
    }

    /// An owned wake-up for `waiter`.
    pub fn waker(&self, waiter: Waiter) -> Waker {
        self.handle.waker(waiter)
    }

    /// Tells the driver that the wait being registered ends from outside
    /// it (another thread, through [`RemoteHandle::wake`](super::RemoteHandle::wake);
    /// another runtime): while it lasts, a driver with nothing else to do
    /// blocks until woken instead of reporting a
    /// [`Deadlock`](super::Deadlock). Call it in
    /// [`register`](Source::register), and
    /// [`end_outside_wait`](Context::end_outside_wait) once in
    /// [`unregister`](Source::unregister). The crate's remote channels,
    /// remote events and futures do.
    pub fn begin_outside_wait(&self) {
        self.handle.shared().reactor.borrow_mut().io_waits += 1;
    }

    /// Ends what [`begin_outside_wait`](Context::begin_outside_wait) began.
    pub fn end_outside_wait(&self) {
        let mut reactor = self.handle.shared().reactor.borrow_mut();
        reactor.io_waits = reactor.io_waits.saturating_sub(1);
    }
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

/// A source waited on through a borrow: the source is left with the
/// caller, who can look at it afterwards (for example, to take back a
/// message that [`wait::send`](super::wait::send) did not send because
/// another source of a `select` won).
impl<S: Source + ?Sized> Source for &mut S {
    type Output = S::Output;

    #[inline]
    fn poll(&mut self, cx: &mut Context<'_>) -> Option<S::Output> {
        (**self).poll(cx)
    }

    #[inline]
    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
        (**self).register(cx, waiter);
    }

    #[inline]
    fn unregister(&mut self, cx: &mut Context<'_>) {
        (**self).unregister(cx);
    }

    #[inline]
    fn abandon(&mut self, cx: &mut Context<'_>) {
        (**self).abandon(cx);
    }

    fn wait_on(&self) -> WaitOn {
        (**self).wait_on()
    }
}

// An HList of sources is a source: the leftmost that fires wins, and every
// other one is abandoned.

impl Source for HNil {
    type Output = CNil;

    #[inline]
    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<CNil> {
        None
    }

    #[inline]
    fn register(&mut self, _cx: &mut Context<'_>, _waiter: Waiter) {}

    #[inline]
    fn unregister(&mut self, _cx: &mut Context<'_>) {}

    fn wait_on(&self) -> WaitOn {
        WaitOn::Any(Vec::new())
    }
}

impl<H: Source, T: Source> Source for HCons<H, T> {
    type Output = Coproduct<H::Output, T::Output>;

    #[inline]
    fn poll(&mut self, cx: &mut Context<'_>) -> Option<Self::Output> {
        if let Some(out) = self.head.poll(cx) {
            self.tail.abandon(cx);
            return Some(Coproduct::Inl(out));
        }
        let out = self.tail.poll(cx)?;
        self.head.abandon(cx);
        Some(Coproduct::Inr(out))
    }

    #[inline]
    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
        self.head.register(cx, waiter);
        self.tail.register(cx, waiter);
    }

    #[inline]
    fn unregister(&mut self, cx: &mut Context<'_>) {
        self.head.unregister(cx);
        self.tail.unregister(cx);
    }

    #[inline]
    fn abandon(&mut self, cx: &mut Context<'_>) {
        self.head.abandon(cx);
        self.tail.abandon(cx);
    }

    /// The head's description and the tail's, as one list; a list of one
    /// is that one description.
    fn wait_on(&self) -> WaitOn {
        let mut all = vec![self.head.wait_on()];
        match self.tail.wait_on() {
            WaitOn::Any(rest) => all.extend(rest),
            one => all.push(one),
        }
        if all.len() == 1 {
            all.pop().expect("one description")
        } else {
            WaitOn::Any(all)
        }
    }
}
