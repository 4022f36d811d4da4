//! The driver's inbox for other threads: [`RemoteCore`], and the protocol
//! that wakes an idle driver without ever losing a wake-up.
//!
//! Other threads (remote senders, [`RemoteHandle`](crate::driver::RemoteHandle)s,
//! the `std::task::Waker`s of futures a task awaits) never touch the
//! reactor: they leave their request in the inbox and, if the driver may
//! be blocked, *signal* it. The driver takes the inbox at the start of a
//! round, on its own thread.
//!
//! # The wake-up protocol
//!
//! Two flags and a signal:
//!
//! * `notified`: the inbox holds something the driver has not taken yet;
//! * `idle`: the driver is about to block, or is blocked (in its mio poll,
//!   parked until a timer, or awaiting inside tokio);
//! * the signal: a `mio::Waker` (feature `io`), or `Thread::unpark`
//!   without it. Both are *persistent*: a signal given before the driver
//!   blocks makes the block return at once (the eventfd stays readable,
//!   the park token stays set), so a signal cannot fall between the
//!   driver's last look and its block.
//!
//! ```text
//! other thread (push)                    driver (block)
//! ----------------------------------     -----------------------------------
//! lock inbox; push request; unlock       idle := true                  (I)
//! if notified.swap(true) == false  (W)   if notified.load() { skip }   (L)
//!     and idle.load() == true      (Q)   else block until a signal
//!         signal                         idle := false
//!                                        -- at the start of a round --
//!                                        if notified.load() {
//!                                            notified.swap(false)      (D)
//!                                            lock inbox; take all; unlock }
//! ```
//!
//! Every access to the two flags in (I), (L), (W), (Q) and (D) is
//! sequentially consistent. Why no request can be left in the inbox while
//! the driver blocks:
//!
//! 1. Take a request pushed before (W). If (W) read `true`, an earlier push
//!    set the flag and no (D) has cleared it since; follow that earlier
//!    push instead. So say (W) read `false`: it turned the flag on.
//! 2. If the driver's (L) came after (W) in the single order of SC
//!    operations, (L) reads `true` (only (D) clears the flag, and (D)
//!    precedes (I) and (L) in the driver's own order) and the driver does
//!    not block: it goes round and takes the inbox.
//! 3. Otherwise (I) < (L) < (W) < (Q), so (Q) reads `idle == true` and the
//!    pusher signals. The signal is persistent, so the block returns, at
//!    once or when the signal comes; the driver then goes round. (If that
//!    block had already returned for another reason and the driver cleared
//!    `idle`, (Q) may read `false` and not signal; but the driver then
//!    blocks again only after a new (I) and (L), and (W) precedes that
//!    (L) in the single order, so the new (L) reads `true`: case 2.)
//! 4. Going round, the driver sees `notified` and runs (D), a swap that
//!    reads `true` from (W) or a later swap of the same flag: (W) happens
//!    before (D), so the push (released by the inbox lock before (W)) is
//!    visible when the driver locks the inbox after (D).
//!
//! A request pushed after (D) sets the flag again and is taken next round.
//! Extra signals (two pushers both see `idle`, or the driver skipped the
//! block after a pusher saw `idle`) cost one spurious return from a block,
//! after which the driver looks again. The flag check at the start of a
//! round is a single relaxed load, so a busy driver pays one load per round
//! and no system call: pushers signal only an idle driver.
//!
//! A wake from the driver's own thread while the driver runs (a future
//! woken by another future of the same task, say) does not come here: it
//! marks the task ready directly (see `Shared::wake_from_anywhere`).

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::tasks::Waiter;

/// The driver a remote handle, sender, event or waker belongs to has been
/// dropped: the request was not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DriverGone;

impl fmt::Display for DriverGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the driver is gone; nothing was delivered")
    }
}

impl std::error::Error for DriverGone {}

/// How a pusher ends an idle driver's block.
pub(crate) enum Signal {
    /// The driver blocks in its mio poll; this writes to its eventfd.
    #[cfg(feature = "io")]
    Poll(mio::Waker),
    /// The driver parks its thread.
    #[cfg(not(feature = "io"))]
    Thread(std::thread::Thread),
}

impl Signal {
    fn give(&self) {
        match self {
            // A failed write means the eventfd's counter is full: the
            // driver is being woken anyway.
            #[cfg(feature = "io")]
            Signal::Poll(waker) => drop(waker.wake()),
            #[cfg(not(feature = "io"))]
            Signal::Thread(thread) => thread.unpark(),
        }
    }
}

/// What other threads asked of the driver since it last looked.
#[derive(Default)]
pub(crate) struct Inbox {
    /// Waits to wake (their tasks' futures were woken, or a message
    /// arrived on a remote channel they wait on).
    pub(crate) wakes: Vec<Waiter>,
    /// Events to set, by id.
    pub(crate) events: Vec<u64>,
}

/// The part of a driver that other threads reach: its inbox, the flags of
/// the wake-up protocol, and whether the driver still exists. One per
/// driver, made the first time something needs it.
pub(crate) struct RemoteCore {
    /// Tells this driver apart from others (for the thread-local lookup of
    /// a wake from the driver's own thread).
    pub(crate) id: u64,
    inbox: Mutex<Inbox>,
    notified: AtomicBool,
    idle: AtomicBool,
    stop: AtomicBool,
    closed: AtomicBool,
    signal: Signal,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl RemoteCore {
    pub(crate) fn new(signal: Signal) -> Arc<RemoteCore> {
        Arc::new(RemoteCore {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            inbox: Mutex::new(Inbox::default()),
            notified: AtomicBool::new(false),
            idle: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            signal,
        })
    }

    /// The inbox. A panic while it was locked (none of the crate's code
    /// can panic there) leaves nothing half-done, so poisoning is ignored.
    fn inbox(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the driver is gone.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The driver is being dropped: from now on requests are refused.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Leaves a request in the inbox and signals the driver if it may be
    /// blocked (steps (W) and (Q) of the protocol). `false` if the driver
    /// is gone.
    pub(crate) fn push(&self, request: impl FnOnce(&mut Inbox)) -> bool {
        if self.is_closed() {
            return false;
        }
        request(&mut self.inbox());
        self.notify();
        true
    }

    /// Steps (W) and (Q): the inbox has something; signal an idle driver.
    fn notify(&self) {
        if !self.notified.swap(true, Ordering::SeqCst) && self.idle.load(Ordering::SeqCst) {
            self.signal.give();
        }
    }

    /// Asks the driver to stop its current run.
    pub(crate) fn request_stop(&self) -> bool {
        if self.is_closed() {
            return false;
        }
        self.stop.store(true, Ordering::SeqCst);
        self.notify();
        true
    }

    /// Takes a stop request, if there is one.
    pub(crate) fn take_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed) && self.stop.swap(false, Ordering::SeqCst)
    }

    /// Whether the inbox may hold something: one relaxed load, for the
    /// start of every round.
    #[inline(always)]
    pub(crate) fn is_notified(&self) -> bool {
        self.notified.load(Ordering::Relaxed)
    }

    /// Step (D): clears the flag, then takes everything in the inbox into
    /// `into` (whose vectors are empty, and are swapped with the inbox's so
    /// that neither side allocates in the steady state).
    pub(crate) fn take(&self, into: &mut Inbox) {
        if self.notified.swap(false, Ordering::SeqCst) {
            let mut inbox = self.inbox();
            std::mem::swap(&mut inbox.wakes, &mut into.wakes);
            std::mem::swap(&mut inbox.events, &mut into.events);
        }
    }

    /// Step (I) and (L), before the driver blocks: `true` if it may block,
    /// `false` if the inbox has something (then it must not block, and it
    /// is not idle).
    pub(crate) fn enter_idle(&self) -> bool {
        self.idle.store(true, Ordering::SeqCst);
        if self.notified.load(Ordering::SeqCst) {
            self.idle.store(false, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// The driver stopped blocking.
    pub(crate) fn leave_idle(&self) {
        self.idle.store(false, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[cfg(feature = "io")]
    fn core() -> (Arc<RemoteCore>, mio::Poll) {
        let poll = mio::Poll::new().unwrap();
        let waker = mio::Waker::new(poll.registry(), mio::Token(0)).unwrap();
        (RemoteCore::new(Signal::Poll(waker)), poll)
    }

    #[cfg(feature = "io")]
    fn block(poll: &mut mio::Poll, timeout: Duration) {
        let mut events = mio::Events::with_capacity(4);
        let _ = poll.poll(&mut events, Some(timeout));
    }

    #[cfg(not(feature = "io"))]
    fn core() -> (Arc<RemoteCore>, ()) {
        (RemoteCore::new(Signal::Thread(std::thread::current())), ())
    }

    #[cfg(not(feature = "io"))]
    fn block(_: &mut (), timeout: Duration) {
        std::thread::park_timeout(timeout);
    }

    fn waiter(n: u64) -> Waiter {
        Waiter {
            task: crate::error::CoroutineId {
                index: 0,
                generation: 0,
            },
            seq: std::num::NonZeroU64::new(n).unwrap(),
        }
    }

    /// Pushers race the driver's "nothing there, block" many times; every
    /// request is taken, and no block waits out its (long) timeout.
    #[test]
    fn no_push_is_left_behind_a_block() {
        const PUSHERS: u64 = 2;
        const EACH: u64 = 20_000;
        let (core, mut poller) = core();
        let pushers: Vec<_> = (0..PUSHERS)
            .map(|p| {
                let core = Arc::clone(&core);
                std::thread::spawn(move || {
                    for n in 0..EACH {
                        assert!(core.push(|inbox| inbox.wakes.push(waiter(p * EACH + n + 1))));
                        if n % 64 == 0 {
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        let mut seen = Vec::new();
        let mut taken = Inbox::default();
        let mut slowest = Duration::ZERO;
        loop {
            core.take(&mut taken);
            seen.extend(taken.wakes.drain(..).map(|w| w.seq.get()));
            if seen.len() as u64 == PUSHERS * EACH {
                break;
            }
            if core.enter_idle() {
                let started = Instant::now();
                block(&mut poller, Duration::from_secs(10));
                slowest = slowest.max(started.elapsed());
                core.leave_idle();
            }
        }
        for p in pushers {
            p.join().unwrap();
        }
        assert!(
            slowest < Duration::from_secs(5),
            "a block waited out its timeout: a wake-up was lost"
        );
        // Each pusher's requests arrive in the order it pushed them.
        for p in 0..PUSHERS {
            let mine: Vec<_> = seen
                .iter()
                .copied()
                .filter(|s| (s - 1) / EACH == p)
                .collect();
            assert_eq!(mine.len() as u64, EACH);
            assert!(mine.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn a_closed_core_refuses_requests() {
        let (core, _poller) = core();
        core.close();
        assert!(!core.push(|inbox| inbox.events.push(1)));
        assert!(!core.request_stop());
        assert!(!core.is_notified());
    }
}
