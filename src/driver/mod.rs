//! The event driver: timers, channels, notifications, semaphores, joins
//! and wait-for-any, task scopes and cancel scopes with deadlines, with a
//! real or a virtual clock; with the `io` feature, TCP, UDP and Unix
//! sockets and Unix signals; messages and wake-ups from other threads,
//! futures, blocking work on a thread pool, and (feature `tokio`) a run
//! inside tokio.
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
//! 6. Permits given back to a [`Semaphore`] go to the longest-waiting task
//!    whose request they cover, and the tasks behind a larger request wait
//!    behind it.
//! 7. A cancel scope's deadline is a timer of its task, ordered with the
//!    others; when it fires, the task wakes whatever it waits on. A
//!    requested cancellation ([`JoinHandle::abort`]) wakes the task at once
//!    (unless a shield hides it). When a task scope's child fails, the
//!    other children are woken, in spawn order, then the scope's task.
//!
//! These rules describe the default order. [`DriverBuilder::explore`]
//! departs from it on purpose, to test a program under other orders it
//! could meet: each round it may run the ready tasks in another order
//! (drawn from a seed), and with [`DriverBuilder::max_timer_delay`] it may
//! fire a due timer up to that much later (never earlier). Everything else
//! above still holds. [`Driver::schedule`] records the choices;
//! [`DriverBuilder::replay`] takes them again, and [`Explore`] runs a
//! scenario under many seeds and shrinks the first failing schedule.
//!
//! # Seeing what tasks do
//!
//! Every wait records where in the task's code it waits
//! ([`TaskInfo::location`], shown in a [`Deadlock`]).
//! [`DriverBuilder::timeline`] keeps the last steps of a run (which task
//! ran, from when to when, and how the step ended), exportable for a trace
//! viewer; [`DriverBuilder::report_slow_steps`] reports a task that kept
//! the thread longer than a threshold; with the `tracing` feature each task
//! has a span.
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
//! Cancelling a waiting task makes its pending wait return
//! `Err(Interrupt)`; its registrations (timers, places in waiter queues)
//! are removed, and a wake-up it had been handed (room in a channel, a
//! notification, permits) is passed to the next waiter. A message is never
//! lost: it is either delivered or still in the channel (or, for a send,
//! still with the sender). There are two ways to cancel a task:
//!
//! * **At once**, through the core: [`Driver::cancel`], [`Task::cancel`],
//!   and dropping the driver. The task's cleanup runs to its end inside
//!   the call, on the caller's stack; a wait in that cleanup cannot wait
//!   (see [`Task::shield`]).
//! * **By request**: [`JoinHandle::abort`], dropping an [`AbortOnDrop`],
//!   or a task scope cancelling its children. It switches no stacks, so it
//!   may be done from anywhere; the task gets the interrupt at its current
//!   or next wait when the driver runs it, and its cleanup may wait inside
//!   a shield.
//!
//! # Scopes and deadlines
//!
//! * [`Task::timeout`] and [`Task::deadline`] run a block under a deadline
//!   (a *cancel scope*): every wait inside is covered, the interrupt
//!   arrives at whatever wait the block is in, as a cancellation does,
//!   and the scope returns `Err(Elapsed)`. An expired scope is not a
//!   cancellation of the task, and its interrupt never leaves it.
//! * [`Task::shield`] (and [`Task::shield_for`], [`Task::shield_until`],
//!   with a deadline of their own) runs cleanup that enclosing scopes and
//!   requested cancellations do not interrupt.
//! * [`Task::scope`] and [`Driver::scope`] run a *task scope* (a nursery):
//!   the tasks spawned into it end before it does; a failure cancels the
//!   rest and is reported with every later one ([`ScopeError`]).
//! * A [`JoinHandle`] detaches its task when dropped; an [`AbortOnDrop`]
//!   aborts it.
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
//! To use more than one core, run a driver per thread: the [`shards`]
//! module starts them, each with its own state, and joins them with
//! bounded queues of typed messages.
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
//!   explore.rs (Explore: many schedules, shrinking)
//!   tokio.rs (a run inside tokio)   assertions.rs (auto traits)
//!   shards/ (thread-per-core: a driver per thread, typed messages
//!            between them; its own room map is in its docs)
//!   driver_scope.rs (Driver::scope, DriverScope)
//!   run.rs (Driver, the run loop)   builder.rs   access.rs
//!     observe.rs (slow steps, tracing spans)
//!     task_io.rs (a task's socket and signal methods)
//!     scope.rs (Task::scope, Scope)   cancel_scope.rs (timeout, deadline, shield, Elapsed)
//!     task_async.rs (a task's futures, blocking work, files, host names)
//!     task.rs (Task, the park loop, spawning)
//!       interrupts.rs (what interrupts a wait besides the core's cancellation)
//!       wait.rs (source constructors)   scope_shared.rs (a task scope's books, ScopeError)
//!         join.rs (JoinHandle, AbortOnDrop, JoinWait; a JoinHandle is a Future)
//!         join_all.rs (JoinAll, TryJoinAll)
//!         net/ (sockets, signals; a connect's retry pauses with a Sleep)
//!         sources/ (time, channel, remote channel, notify, event, semaphore,
//!                   future and blocking work)
//!           source.rs (the Source protocol)
//!           handle.rs (DriverHandle, Waker, RemoteHandle)
//!             timeline.rs (Timeline)
//!             reactor/ (timers, ready queue, task table, interrupt control,
//!                       poller, choice: explored and replayed schedules,
//!                       remote: the inbox of other threads)
//!               report.rs (WaitOn, TaskInfo, Deadlock)
//!                 clock.rs (Instant, the real or virtual clock)
//! ```
//!
//! Each file imports only from the rooms below it.

mod access;
mod assertions;
mod builder;
mod cancel_scope;
mod clock;
mod driver_scope;
mod explore;
mod handle;
mod interrupts;
mod join;
mod join_all;
#[cfg(feature = "io")]
mod net;
mod observe;
mod reactor;
mod report;
mod run;
mod scope;
mod scope_shared;
mod select;
pub mod shards;
mod source;
mod sources;
mod task;
mod task_async;
#[cfg(feature = "io")]
mod task_io;
mod timeline;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;
pub mod wait;

pub use builder::DriverBuilder;
pub use cancel_scope::Elapsed;
pub use driver_scope::DriverScope;
pub use explore::{Explore, Explored, FailedRun, run_checking};
pub use handle::{DriverHandle, RemoteHandle, Waker};
pub use join::{AbortOnDrop, JoinError, JoinHandle, JoinWait};
pub use join_all::{JoinAll, TryJoinAll};
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub use net::{
    Accept, Connect, DEFAULT_BACKLOG, DatagramSocket, Listener, ReadSome, RecvDatagram, RecvFrom,
    SendDatagram, SendTo, SignalWait, Signals, StreamSocket, TcpListenOptions, TcpListener,
    TcpStream, UdpSocket, UnixDatagram, UnixListenOptions, UnixListener, UnixStream, WriteSome,
};
pub use observe::SlowStep;
pub use reactor::choice::{Schedule, ScheduleParseError};
pub use reactor::{DriverGone, Instant, Waiter};
pub use report::{Deadlock, TaskInfo, WaitOn};
pub use run::Driver;
pub use scope::Scope;
pub use scope_shared::{Failure, ScopeError};
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
pub use sources::semaphore::{Acquire, Permit, Semaphore};
pub use sources::time::{Interval, Sleep, Tick};
pub use task::Task;
pub use timeline::{Step, StepEnd, Timeline};
