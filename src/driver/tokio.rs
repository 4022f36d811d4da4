//! Running a driver inside tokio (feature `tokio`): [`run`], also
//! [`Driver::run_async`].
//!
//! The driver becomes one future on a current-thread runtime or a
//! `LocalSet` (it is `!Send`, so it cannot be spawned with `tokio::spawn`;
//! await it in `block_on`, or `spawn_local` it on a `LocalSet`). It runs
//! its tasks in batches, handing the thread back to tokio between batches,
//! and when nothing is ready it awaits, instead of blocking:
//!
//! * its mio poll's file descriptor (an epoll fd is itself pollable), with
//!   `tokio::io::unix::AsyncFd`: socket readiness and remote wake-ups, whose
//!   `mio::Waker` writes to that poll;
//! * its next timer, with `tokio::time::sleep`;
//! * a wake-up from the same thread: async code on the `LocalSet` that
//!   sends to a task, sets an event, or a task's future woken by tokio.
//!
//! Tasks' futures are polled inside the wait, so inside tokio's context:
//! tokio's sockets, timers and every library built on them (database
//! clients, HTTP clients) work from straight-line task code, with
//! [`Task::wait_future`](super::Task::wait_future). Async code on the same
//! thread can await a task's [`JoinHandle`](super::JoinHandle) and a
//! channel's [`Receiver`](super::Receiver) (`Future`, `Stream`).
//!
//! ```
//! use std::time::Duration;
//!
//! use coshare::driver::{Driver, Task};
//! use coshare::{Eff, Yields};
//!
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! let mut driver = Driver::new(Vec::new());
//! driver
//!     .spawn(|t: &mut Task<Vec<&str>>| -> Eff<Yields, ()> {
//!         // A tokio timer, awaited from straight-line code.
//!         t.wait_future(tokio::time::sleep(Duration::from_millis(2)))?;
//!         t.state().push("slept on tokio's timer");
//!         Ok(())
//!     })
//!     .unwrap();
//! rt.block_on(driver.run_async());
//! assert_eq!(driver.state(), &["slept on tokio's timer"]);
//! ```

use std::future::Future;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::run::{Driver, Ended};

/// Task steps between two hand-backs to tokio.
const BATCH: u32 = 128;

/// The driver's poll, as tokio sees it: a file descriptor to watch, owned
/// by the driver (tokio only registers it, and never closes it).
struct PollFd(RawFd);

impl AsRawFd for PollFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

impl<S: 'static> Driver<S> {
    /// Runs the driver cooperatively inside tokio: [`run`] on `self`.
    ///
    /// # Panics
    ///
    /// As [`run`].
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn run_async(&mut self) {
        run(self).await;
    }
}

/// Runs `driver` cooperatively inside tokio, on the current thread, until
/// every task has finished or a [`RemoteHandle::stop`](super::RemoteHandle::stop)
/// request arrives. See the [module docs](self).
///
/// Unlike [`Driver::run`], it never reports a [`Deadlock`](super::Deadlock):
/// async code on the same thread may end any wait (send to a task's
/// channel, set an event), so a wait that nothing in the driver can end is
/// awaited, as tokio awaits a future that nothing wakes. A virtual clock
/// jumps to the next deadline when nothing is ready, as in [`Driver::run`].
///
/// # Panics
///
/// Outside a tokio runtime whose I/O driver is on (`enable_io` or
/// `enable_all`), and, as [`DriverHandle::remote`](super::DriverHandle::remote),
/// if the driver's poller cannot be made.
pub async fn run<S: 'static>(driver: &mut Driver<S>) {
    let shared = std::rc::Rc::clone(driver.handle().shared());
    let core = shared.remote();
    let fd = shared
        .reactor
        .borrow()
        .poller
        .as_ref()
        .expect("the remote core makes the poller")
        .raw_fd();
    // tokio deprecated its safe constructors for an fd it cannot check
    // (the fd must stay open, and be the same file, while the `AsyncFd`
    // lives). This one is: the poller is made once and lives as long as
    // the driver, which this function borrows for longer than `fd`.
    #[allow(deprecated)]
    let fd = AsyncFd::with_interest(PollFd(fd), Interest::READABLE).expect(
        "`run_async` needs a tokio runtime with its I/O driver on (`enable_io` or `enable_all`)",
    );
    loop {
        if driver.run_steps(BATCH) == Ended::Stopped {
            return;
        }
        let outlook = driver.outlook();
        if outlook.live == 0 {
            return;
        }
        if outlook.ready > 0 {
            // The batch is used up: let the rest of the thread run.
            tokio::task::yield_now().await;
            continue;
        }
        if let (true, Some(next)) = (outlook.clock_is_virtual, outlook.next) {
            driver.advance_virtual(next);
            tokio::task::yield_now().await;
            continue;
        }
        // Nothing is ready: await the poll, the next timer, or a wake-up.
        if !core.enter_idle() {
            continue; // another thread left something: go round
        }
        let sleep = outlook.next.map(|next| {
            let after = next.saturating_duration_since(driver.now());
            tokio::time::sleep(after.max(Duration::ZERO))
        });
        let mut sleep = pin!(sleep);
        let mut readable = pin!(fd.readable());
        let readable = std::future::poll_fn(|cx| {
            if shared.reactor.borrow().ready_len() > 0 {
                return Poll::Ready(None); // woken from this thread
            }
            if let Poll::Ready(guard) = readable.as_mut().poll(cx) {
                return Poll::Ready(Some(guard));
            }
            if let Some(sleep) = sleep.as_mut().as_pin_mut() {
                if sleep.poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
            }
            // A wake-up from this thread (async code, or a waker called by
            // tokio) marks a task ready and wakes this await.
            shared
                .reactor
                .borrow_mut()
                .set_idle_waker(Some(cx.waker().clone()));
            Poll::Pending
        })
        .await;
        shared.reactor.borrow_mut().set_idle_waker(None);
        core.leave_idle();
        if let Some(Ok(mut guard)) = readable {
            // Take the poll's events (sockets and remote wake-ups). Only a
            // poll that found nothing clears tokio's readiness: clearing
            // after one that found something could drop an event that came
            // meanwhile, and tokio only clears readiness it has reported.
            if shared.reactor.borrow_mut().poll_io(Some(Duration::ZERO)) == 0 {
                guard.clear_ready();
            }
        }
    }
}
