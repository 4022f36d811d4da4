//! The sources a task can wait on, one function each: give one to
//! [`Task::wait`](super::Task::wait), or several as an HList to
//! [`Task::select`](super::Task::select).
//!
//! ```
//! use std::time::Duration;
//!
//! use coshare::driver::{wait, DriverBuilder, Task};
//! use coshare::{Eff, Yields};
//! use frunk::{hlist, Coproduct};
//!
//! let mut driver = DriverBuilder::new().virtual_clock().build(());
//! let (_tx, mut rx) = driver.handle().channel::<&str>(4);
//! let shutdown = driver.handle().event();
//! let h = driver
//!     .spawn(move |t: &mut Task<()>| -> Eff<Yields, &'static str> {
//!         let fired = t.select(hlist![
//!             wait::recv(&mut rx),
//!             wait::sleep(Duration::from_secs(5)),
//!             wait::event(&shutdown),
//!         ])?;
//!         Ok(match fired {
//!             Coproduct::Inl(_message) => "message",
//!             Coproduct::Inr(Coproduct::Inl(())) => "timeout",
//!             Coproduct::Inr(Coproduct::Inr(_)) => "shutdown",
//!         })
//!     })
//!     .unwrap();
//! assert_eq!(driver.block_on(h).unwrap().unwrap(), "timeout");
//! ```

use std::future::IntoFuture;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
#[cfg(feature = "io")]
use std::path::Path;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use super::join::{JoinHandle, JoinWait};
use super::join_all::{JoinAll, TryJoinAll};
#[cfg(feature = "io")]
use super::net::{
    Accept, Connect, DatagramSocket, Listener, ReadSome, RecvDatagram, RecvFrom, SendDatagram,
    SendTo, SignalWait, Signals, StreamSocket, TcpStream, UnixStream, WriteSome,
};
use super::reactor::Instant;
use super::sources::channel::{SendWait, Sender};
use super::sources::event::{Event, EventWait};
use super::sources::future::{Blocking, FutureWait};
use super::sources::notify::{Notified, Notify};
use super::sources::receive::Receive;
use super::sources::semaphore::{Acquire, Semaphore};
use super::sources::time::{Interval, Sleep, Tick};

/// The next message of `rx` (a [`Receiver`](super::Receiver) or a
/// [`RemoteReceiver`](super::RemoteReceiver)), or `Err(RecvError)` once
/// every sender is gone and the channel is empty.
#[inline(always)]
pub fn recv<R: Receive + ?Sized>(rx: &mut R) -> R::Recv<'_> {
    rx.recv_source()
}

/// Sends `msg` on `tx`, waiting while the channel is full: `Ok(())` once
/// it is in the channel, `Err(SendError(msg))` if the receiver is gone. In
/// a `select` that another source wins the message is not sent: wait on the
/// source by `&mut` to take it back (see [`SendWait`]).
#[inline(always)]
pub fn send<T>(tx: &Sender<T>, msg: T) -> SendWait<'_, T> {
    SendWait {
        tx,
        msg: Some(msg),
        waiter: None,
        handed: false,
    }
}

/// Fires `duration` after the wait starts.
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::after(duration)
}

/// Fires at `deadline` (at once if it has passed).
pub fn until(deadline: Instant) -> Sleep {
    Sleep::until(deadline)
}

/// Fires when `notify` hands this task a notification or a stored permit.
pub fn notified(notify: &Notify) -> Notified<'_> {
    Notified { notify, last: None }
}

/// Fires once `event` is set.
pub fn event(event: &Event) -> EventWait<'_> {
    EventWait {
        event,
        last: None,
        outside: false,
    }
}

/// Fires at the next tick of `interval`, with the tick's instant.
pub fn tick(interval: &mut Interval) -> Tick<'_> {
    Tick {
        interval,
        key: None,
    }
}

/// Fires when the task of `handle` has finished, with its result.
pub fn join<R>(handle: &mut JoinHandle<R>) -> JoinWait<'_, R> {
    JoinWait { handle, last: None }
}

/// Fires when every task of `handles` has finished, with their results in
/// the order of the handles.
pub fn join_all<R>(handles: &mut [JoinHandle<R>]) -> JoinAll<'_, R> {
    JoinAll {
        handles,
        last: None,
    }
}

/// Fires when every task of `handles` has returned a value (`Ok`, the
/// values in the order of the handles), or as soon as one ended without
/// one (`Err` with its index and why; see [`TryJoinAll`]).
pub fn try_join_all<R>(handles: &mut [JoinHandle<R>]) -> TryJoinAll<'_, R> {
    TryJoinAll {
        handles,
        last: None,
    }
}

/// Fires with a permit of `semaphore` (see [`Semaphore`]).
pub fn acquire(semaphore: &Semaphore) -> Acquire<'_> {
    acquire_many(semaphore, 1)
}

/// Fires with `permits` permits of `semaphore` at once.
pub fn acquire_many(semaphore: &Semaphore, permits: usize) -> Acquire<'_> {
    Acquire {
        semaphore,
        permits,
        last: None,
    }
}

/// Fires with the output of `future` (anything that is `IntoFuture`),
/// polled inside the wait with a `Send + Sync` waker (see [`FutureWait`]).
/// The future is boxed, so that it stays pinned however the source moves;
/// [`Task::wait_future`](super::Task::wait_future) pins it on the task's
/// stack instead. A `select` that another source wins drops the future.
///
/// ```
/// use std::time::Duration;
///
/// use coshare::driver::{wait, Driver, Task};
/// use coshare::{select, Eff, Yields};
///
/// let mut driver = Driver::new(());
/// let h = driver
///     .spawn(|t: &mut Task<()>| -> Eff<Yields, &'static str> {
///         Ok(select!(t, {
///             never = wait::future(std::future::pending::<std::convert::Infallible>()) => match never {},
///             () = wait::sleep(Duration::from_millis(5)) => "timed out",
///         }))
///     })
///     .unwrap();
/// assert_eq!(driver.block_on(h).unwrap().unwrap(), "timed out");
/// ```
pub fn future<F: IntoFuture>(future: F) -> FutureWait<Pin<Box<F::IntoFuture>>> {
    FutureWait::new(Box::pin(future.into_future()))
}

/// Fires with the result of `work`, run on a thread pool (see
/// [`Blocking`]: the closure starts at once, and keeps running if the wait
/// is abandoned).
pub fn blocking<T, W>(work: W) -> Blocking<T>
where
    T: Send + 'static,
    W: FnOnce() -> T + Send + 'static,
{
    Blocking::new(work)
}

/// Fires with the contents of the file at `path`, read on the blocking
/// thread pool (`std::fs::read`).
pub fn read_file(path: impl Into<PathBuf>) -> Blocking<io::Result<Vec<u8>>> {
    let path = path.into();
    Blocking::new(move || std::fs::read(path))
}

/// Fires once `contents` is written to the file at `path` (created, or
/// truncated), on the blocking thread pool (`std::fs::write`).
pub fn write_file(
    path: impl Into<PathBuf>,
    contents: impl Into<Vec<u8>>,
) -> Blocking<io::Result<()>> {
    let (path, contents) = (path.into(), contents.into());
    Blocking::new(move || std::fs::write(path, contents))
}

/// Fires with the addresses `host` resolves to (`"localhost:6379"`,
/// `("example.org", 443)`, ...), looked up on the blocking thread pool with
/// the system resolver (`ToSocketAddrs`).
pub fn resolve<A>(host: A) -> Blocking<io::Result<Vec<SocketAddr>>>
where
    A: ToSocketAddrs + Send + 'static,
{
    Blocking::new(move || host.to_socket_addrs().map(Iterator::collect))
}

/// Fires with the next connection of `listener` (a
/// [`TcpListener`](super::TcpListener) or a
/// [`UnixListener`](super::UnixListener)) and the peer's address.
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub fn accept<L: Listener>(listener: &mut L) -> Accept<'_, L> {
    Accept {
        listener,
        waiting: false,
    }
}

/// Connects to a TCP listener at `addr`; fires with the connection once
/// it is established, or with the error that ended it. A connect with a
/// timeout is a `select` of this and a sleep (the connection is closed if
/// the sleep wins).
///
/// ```
/// use std::time::Duration;
///
/// use coshare::driver::{wait, Driver, Task};
/// use coshare::{select, Eff, Yields};
///
/// let mut driver = Driver::new(());
/// let listener = driver.handle().tcp_listen("127.0.0.1:0".parse().unwrap()).unwrap();
/// let addr = listener.local_addr().unwrap();
/// let h = driver
///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, bool> {
///         Ok(select!(t, {
///             conn = wait::tcp_connect(addr) => conn.is_ok(),
///             () = wait::sleep(Duration::from_secs(5)) => false,
///         }))
///     })
///     .unwrap();
/// assert!(driver.block_on(h).unwrap().unwrap());
/// ```
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub fn tcp_connect(addr: SocketAddr) -> Connect<TcpStream> {
    Connect::new(addr)
}

/// Connects to the Unix stream listener at `path`; fires with the
/// connection, or with an error that names the path (`NotFound` if nothing
/// is there, `ConnectionRefused` if nobody listens). A listener whose
/// backlog is full makes it wait and try again (see [`Connect`]).
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub fn unix_connect(path: impl AsRef<Path>) -> Connect<UnixStream> {
    Connect::new(path.as_ref().to_path_buf())
}

/// Fires when some bytes were read from `stream` (a
/// [`TcpStream`] or a [`UnixStream`])
/// into `buf` (`Ok(0)`: the peer closed its side, or `buf` is empty).
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub fn read<'a, S: StreamSocket>(stream: &'a mut S, buf: &'a mut [u8]) -> ReadSome<'a, S> {
    ReadSome {
        stream,
        buf,
        waiting: false,
    }
}

/// Fires when some bytes of `buf` were written to `stream`.
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub fn write<'a, S: StreamSocket>(stream: &'a mut S, buf: &'a [u8]) -> WriteSome<'a, S> {
    WriteSome {
        stream,
        buf,
        waiting: false,
    }
}

/// Fires when `buf` was sent as one datagram to `target` from `socket` (a
/// [`UdpSocket`](super::UdpSocket) to a `SocketAddr`, or a
/// [`UnixDatagram`](super::UnixDatagram) to a `&Path`), with the number
/// of bytes sent.
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub fn send_to<'a, D: DatagramSocket>(
    socket: &'a mut D,
    buf: &'a [u8],
    target: D::Target<'a>,
) -> SendTo<'a, D> {
    SendTo {
        socket,
        buf,
        target,
        waiting: false,
    }
}

/// Fires with the next datagram received on `socket`: its length (cut to
/// `buf`'s) and its sender's address.
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub fn recv_from<'a, D: DatagramSocket>(socket: &'a mut D, buf: &'a mut [u8]) -> RecvFrom<'a, D> {
    RecvFrom {
        socket,
        buf,
        waiting: false,
    }
}

/// Fires when `buf` was sent as one datagram to the peer `socket` is
/// connected to.
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub fn send_datagram<'a, D: DatagramSocket>(
    socket: &'a mut D,
    buf: &'a [u8],
) -> SendDatagram<'a, D> {
    SendDatagram {
        socket,
        buf,
        waiting: false,
    }
}

/// Fires with the length of the next datagram from the peer `socket` is
/// connected to (cut to `buf`'s length).
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub fn recv_datagram<'a, D: DatagramSocket>(
    socket: &'a mut D,
    buf: &'a mut [u8],
) -> RecvDatagram<'a, D> {
    RecvDatagram {
        socket,
        buf,
        waiting: false,
    }
}

/// Fires with the number of the next signal of `signals` (one that arrived
/// before the wait started included).
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub fn signal(signals: &mut Signals) -> SignalWait<'_> {
    SignalWait {
        signals,
        waiting: false,
    }
}
