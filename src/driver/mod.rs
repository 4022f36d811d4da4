//! The event driver: timers, channels, notifications, joins and
//! wait-for-any, with a real or a virtual clock; with the `io` feature,
//! TCP, UDP and Unix sockets and Unix signals; messages and wake-ups from
//! other threads, futures, blocking work on a thread pool, and (feature
//! `tokio`) a run inside tokio.
//!
//! A [`Driver`] owns a [`Stage`](crate::Stage) and runs its *tasks* on the main stack:
//! it resumes each task until it waits, and wakes it when what it waits for
//! happens. A task body gets a [`Task`] instead of a bare `Co`; its waiting
//! methods ([`sleep`](Task::sleep), [`recv`](Task::recv),
//! [`send`](Task::send), [`join`](Task::join), [`notified`](Task::notified),
//! [`select`](Task::select), ...) are yield points that return
//! `Eff<Yields, _>`, so task code reads as plain sequential code and the
//! borrow rules of the core still hold: a task has the shared state to
//! itself between two waits.
//!
//! ```
//! use std::time::Duration;
//!
//! use coshare::driver::{DriverBuilder, Task};
//! use coshare::{Eff, Yields};
//!
//! let mut driver = DriverBuilder::new().virtual_clock().build(Vec::<String>::new());
//! let (tx, mut rx) = driver.handle().channel::<u32>(1);
//! driver
//!     .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
//!         for n in 1..=3 {
//!             t.sleep(Duration::from_millis(10))?;
//!             t.send(&tx, n)?.unwrap(); // waits while the channel is full
//!         }
//!         Ok(())
//!     })
//!     .unwrap();
//! driver
//!     .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
//!         while let Ok(n) = t.recv(&mut rx)? {
//!             let now = t.now();
//!             t.state().push(format!("{n} at {now}"));
//!         }
//!         Ok(())
//!     })
//!     .unwrap();
//! driver.run().unwrap();
//! assert_eq!(driver.state(), &["1 at 10ms", "2 at 20ms", "3 at 30ms"]);
//! ```
//!
//! # Order of wake-ups
//!
//! With a virtual clock a run is fully deterministic: the same program with
//! the same inputs resumes tasks in the same order. The rules:
//!
//! 1. Tasks run in the order they became ready (first in, first out). A
//!    spawned task becomes ready when it is spawned.
//! 2. The driver works in rounds. Each round first fires every timer that is
//!    due, in order of deadline and then of creation, then runs the tasks
//!    that are ready at the start of the round. Tasks woken during a round
//!    run in the next one.
//! 3. When nothing is ready, a virtual clock jumps to the next deadline; a
//!    real clock sleeps until it.
//! 4. A message wakes the channel's receiver; room in a full channel wakes
//!    the longest-waiting sender; `notify_one` wakes the longest-waiting
//!    task; `notify_waiters`, `Event::set` and the end of a task wake every
//!    waiter in the order they started waiting.
//! 5. [`Task::select`] (and [`select!`](crate::select), its form with
//!    named arms) polls its sources left to right; the leftmost ready
//!    one wins and the others are left as they were (a wake-up one of them
//!    was handed, such as a notification or room in a channel, is passed
//!    on to the next waiter).
//!
//! # One wait protocol
//!
//! Every way a task waits is a [`Source`]: the crate's own (the functions
//! of [`wait`]: messages, room to send, timers, ticks, notifications,
//! events, other tasks' ends, sockets, signals) and any source you write, for
//! example one fed by a device callback. One loop parks a task on a
//! source, [`Task::wait`]; every named waiting method is that loop on one
//! of the crate's sources, and [`Task::select`] is that loop on an HList
//! of sources. The [`Source`] docs state the protocol and show a source of
//! one's own.
//!
//! Objects are made through the driver's [`DriverHandle`] (from
//! [`Driver::handle`], [`Task::handle`], or the argument of
//! [`DriverBuilder::build_with`]).
//!
//! # Cancellation and errors
//!
//! Cancelling a waiting task ([`Driver::cancel`], [`Task::cancel`]) makes
//! its pending wait return `Err(Interrupt)`; its registrations (timers,
//! places in waiter queues) are removed, and a wake-up it had been handed
//! (room in a channel, a notification) is passed to the next waiter. A
//! message is never lost: it is either delivered or still in the channel
//! (or, for a send, still with the sender).
//!
//! A panic in a task is caught by the driver and handed to whoever joins the
//! task as [`JoinError::Panicked`], with the original payload (the panic
//! hook has already printed it). A task that waits on something nothing can
//! provide any more is reported by [`Driver::run`] as a [`Deadlock`], naming
//! every waiting task and what it waits on.
//!
//! A task that returns an `Err(Interrupt)` it did not receive itself (one
//! carried out of another task's cancellation) was not cancelled: its
//! joiner sees [`JoinError::Panicked`], with the core's message saying so.
//!
//! # Threads and futures
//!
//! A driver and everything that reaches its tasks stay on its thread.
//! Other threads get in through a [`RemoteHandle`] (wake a wait, ask the
//! driver to stop), the [`RemoteSender`]s of a
//! [`remote_channel`](DriverHandle::remote_channel), and
//! [`RemoteEvent`]s: all `Send + Sync`. They leave requests in the
//! driver's inbox, which the run loop takes at the start of a round (one
//! relaxed atomic load per round when it is empty), and wake a driver that
//! is blocked in its poll or parked until a timer at once. The protocol
//! between "the inbox is empty, block" and "a request arrived, wake",
//! and why no wake-up can fall between the two, is written down in
//! `reactor/remote.rs`.
//!
//! A task awaits any `Future` with [`Task::wait_future`] (or
//! [`wait::future`] in a `select`), polled with a real `Send + Sync`
//! `std::task::Waker`; [`Task::blocking`] runs a closure on a thread pool,
//! and files and host names are read and looked up that way. With the
//! `tokio` feature, `Driver::run_async` runs the driver inside a tokio
//! runtime (see the `driver::tokio` module), and async code on its thread awaits a
//! [`JoinHandle`] and a [`Receiver`].
//!
//! # The rooms of this module
//!
//! ```text
//!   tokio.rs (a run inside tokio)   assertions.rs (auto traits)
//!   run.rs (Driver, the run loop)   builder.rs   access.rs
//!     task_io.rs (a task's socket and signal methods)
//!     task_async.rs (a task's futures, blocking work, files, host names)
//!     task.rs (Task, the park loop, spawning)
//!       wait.rs (source constructors)
//!       join.rs (JoinHandle, JoinWait; a JoinHandle is a Future)
//!         net/ (sockets, signals; a connect's retry pauses with a Sleep)
//!         sources/ (time, channel, remote channel, notify, event,
//!                   future and blocking work)
//!           source.rs (the Source protocol)
//!           handle.rs (DriverHandle, Waker, RemoteHandle)
//!             reactor/ (timers, ready queue, task table, poller,
//!                       remote: the inbox of other threads)
//!               report.rs (WaitOn, TaskInfo, Deadlock)
//!                 clock.rs (Instant, the real or virtual clock)
//! ```
//!
//! Each file imports only from the rooms below it.

mod access;
mod assertions;
mod builder;
mod clock;
mod handle;
mod join;
#[cfg(feature = "io")]
mod net;
mod reactor;
mod report;
mod run;
mod select;
mod source;
mod sources;
mod task;
mod task_async;
#[cfg(feature = "io")]
mod task_io;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;
pub mod wait;

pub use builder::DriverBuilder;
pub use handle::{DriverHandle, RemoteHandle, Waker};
pub use join::{JoinError, JoinHandle, JoinWait};
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub use net::{
    Accept, Connect, DEFAULT_BACKLOG, DatagramSocket, Listener, ReadSome, RecvDatagram, RecvFrom,
    SendDatagram, SendTo, SignalWait, Signals, StreamSocket, TcpListenOptions, TcpListener,
    TcpStream, UdpSocket, UnixDatagram, UnixListenOptions, UnixListener, UnixStream, WriteSome,
};
pub use reactor::{DriverGone, Instant, Waiter};
pub use report::{Deadlock, TaskInfo, WaitOn};
pub use run::Driver;
/// Signal numbers (`SIGINT`, `SIGTERM`, `SIGHUP`, `SIGUSR1`, ...) for
/// [`DriverHandle::signals`], from `signal-hook`.
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
#[doc(no_inline)]
pub use signal_hook::consts::signal;
pub use source::{Context, Source};
pub use sources::channel::{
    Receiver, Recv, RecvError, SendError, SendWait, Sender, TryRecvError, TrySendError,
};
pub use sources::event::{Event, EventWait, RemoteEvent};
pub use sources::future::{Blocking, FutureWait};
pub use sources::notify::{Notified, Notify};
pub use sources::receive::Receive;
pub use sources::remote_channel::{RemoteReceiver, RemoteRecv, RemoteSender};
pub use sources::time::{Interval, Sleep, Tick};
pub use task::Task;
