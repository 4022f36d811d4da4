//! What a [`Task`] does with sockets and signals: connect, accept, read
//! and write a stream, send and receive datagrams, wait for a signal. Each
//! is a yield point, and each is [`Task::wait`] on a source of
//! [`wait`], so each also takes part in a `select`.
//!
//! The stream methods serve TCP and Unix streams alike, the datagram
//! methods UDP and Unix datagram sockets alike.

use std::io;
use std::net::SocketAddr;
use std::path::Path;

use super::net::{DatagramSocket, Listener, Signals, StreamSocket, TcpStream, UnixStream};
use super::task::Task;
use super::wait;
use crate::effect::{Eff, Yields};

/// A connection accepted on `L`, and its peer's address.
type Accepted<L> = (<L as Listener>::Stream, <L as Listener>::Addr);

impl<S: 'static> Task<'_, S> {
    /// Connects to a TCP listener at `addr`, waiting until the connection
    /// is established or fails (for a timeout, `select` on
    /// [`wait::tcp_connect`]).
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    #[track_caller]
    pub fn tcp_connect(&mut self, addr: SocketAddr) -> Eff<Yields, io::Result<TcpStream>> {
        self.wait(wait::tcp_connect(addr))
    }

    /// Connects to the Unix stream listener at `path`, waiting until the
    /// listener takes the connection or refuses it (see
    /// [`wait::unix_connect`]).
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    #[track_caller]
    pub fn unix_connect(&mut self, path: impl AsRef<Path>) -> Eff<Yields, io::Result<UnixStream>> {
        self.wait(wait::unix_connect(path))
    }

    /// Accepts the next connection on a TCP or Unix listener, waiting for
    /// one; gives the connection and the peer's address.
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    #[track_caller]
    pub fn accept<L: Listener>(
        &mut self,
        listener: &mut L,
    ) -> Eff<Yields, io::Result<Accepted<L>>> {
        self.wait(wait::accept(listener))
    }

    /// Reads some bytes, waiting until there are any. `Ok(0)` means the peer
    /// closed its side (or `buf` is empty).
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    #[track_caller]
    pub fn read<St: StreamSocket>(
        &mut self,
        stream: &mut St,
        buf: &mut [u8],
    ) -> Eff<Yields, io::Result<usize>> {
        self.wait(wait::read(stream, buf))
    }

    /// Writes some bytes, waiting until the socket takes any.
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    #[track_caller]
    pub fn write<St: StreamSocket>(
        &mut self,
        stream: &mut St,
        buf: &[u8],
    ) -> Eff<Yields, io::Result<usize>> {
        self.wait(wait::write(stream, buf))
    }

    /// Writes all of `buf`, waiting as needed. A peer that stopped reading
    /// (closed or reset) is an error.
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    #[track_caller]
    pub fn write_all<St: StreamSocket>(
        &mut self,
        stream: &mut St,
        mut buf: &[u8],
    ) -> Eff<Yields, io::Result<()>> {
        while !buf.is_empty() {
            match self.write(stream, buf)? {
                Ok(0) => return Ok(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => buf = &buf[n..],
                Err(err) => return Ok(Err(err)),
            }
        }
        Ok(Ok(()))
    }

    /// Sends `buf` as one datagram to `target` (a `SocketAddr` for a
    /// [`UdpSocket`](super::UdpSocket), a `&Path` for a
    /// [`UnixDatagram`](super::UnixDatagram)), waiting while the socket
    /// has no room. Gives the number of bytes sent.
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    #[track_caller]
    pub fn send_to<'a, D: DatagramSocket>(
        &mut self,
        socket: &'a mut D,
        buf: &'a [u8],
        target: D::Target<'a>,
    ) -> Eff<Yields, io::Result<usize>> {
        self.wait(wait::send_to(socket, buf, target))
    }

    /// Receives the next datagram, waiting for one: its length (a datagram
    /// longer than `buf` is cut) and its sender's address.
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    #[track_caller]
    pub fn recv_from<D: DatagramSocket>(
        &mut self,
        socket: &mut D,
        buf: &mut [u8],
    ) -> Eff<Yields, io::Result<(usize, D::Addr)>> {
        self.wait(wait::recv_from(socket, buf))
    }

    /// Sends `buf` as one datagram to the peer the socket is connected to,
    /// waiting while the socket has no room.
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    #[track_caller]
    pub fn send_datagram<D: DatagramSocket>(
        &mut self,
        socket: &mut D,
        buf: &[u8],
    ) -> Eff<Yields, io::Result<usize>> {
        self.wait(wait::send_datagram(socket, buf))
    }

    /// Receives the next datagram from the peer the socket is connected
    /// to, waiting for one; gives its length (cut to `buf`'s).
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    #[track_caller]
    pub fn recv_datagram<D: DatagramSocket>(
        &mut self,
        socket: &mut D,
        buf: &mut [u8],
    ) -> Eff<Yields, io::Result<usize>> {
        self.wait(wait::recv_datagram(socket, buf))
    }

    /// Waits for the next signal of `signals` and gives its number. A
    /// signal that arrived while the task was busy is given at once.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use coshare::driver::signal::{SIGHUP, SIGUSR2};
    /// use coshare::driver::{wait, Driver, Task};
    /// use coshare::{select, Eff, Yields};
    ///
    /// let mut driver = Driver::new(Vec::new());
    /// let mut signals = driver.handle().signals(&[SIGHUP, SIGUSR2]).unwrap();
    /// driver
    ///     .spawn(move |t: &mut Task<Vec<&str>>| -> Eff<Yields, ()> {
    ///         loop {
    ///             select!(t, {
    ///                 signal = wait::signal(&mut signals) => match signal {
    ///                     SIGHUP => t.state().push("reload"),
    ///                     _ => return Ok(()),
    ///                 },
    ///                 () = wait::sleep(Duration::from_secs(60)) => t.state().push("tick"),
    ///             });
    ///         }
    ///     })
    ///     .unwrap();
    /// signal_hook::low_level::raise(SIGHUP).unwrap();
    /// driver.run_until_idle();
    /// signal_hook::low_level::raise(SIGUSR2).unwrap();
    /// driver.run().unwrap();
    /// assert_eq!(driver.state(), &["reload"]);
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    #[track_caller]
    pub fn signal(&mut self, signals: &mut Signals) -> Eff<Yields, i32> {
        self.wait(wait::signal(signals))
    }
}
