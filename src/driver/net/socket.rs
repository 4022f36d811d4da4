//! The kinds of socket the generic sources work on: [`StreamSocket`]
//! (TCP and Unix streams), [`Listener`] (their listeners) and
//! [`DatagramSocket`] (UDP and Unix datagram sockets).
//!
//! Each trait is sealed (its supertrait lives in a module users cannot
//! name) and its methods are the one non-blocking attempt of each
//! operation; the sources in `stream.rs` and `datagram.rs` wrap every
//! attempt in the readiness recipe of `registration.rs`.

use std::io;

use super::registration::Registered;
use crate::driver::handle::DriverHandle;

/// A connected byte stream a task can read and write:
/// [`TcpStream`](crate::driver::TcpStream) or
/// [`UnixStream`](crate::driver::UnixStream). Sealed.
pub trait StreamSocket: Registered + Sized {
    /// Where it connects to: a `SocketAddr` for TCP, a path for Unix.
    type Target;

    /// Makes the socket and starts connecting to `target`.
    #[doc(hidden)]
    fn start_connect(handle: &DriverHandle, target: &Self::Target) -> io::Result<Self>;

    /// Whether a started connection is established (`Ok`), failed (`Err`),
    /// or still in progress (`WouldBlock`).
    #[doc(hidden)]
    fn connection(&self) -> io::Result<()>;

    /// One non-blocking read.
    #[doc(hidden)]
    fn read_now(&self, buf: &mut [u8]) -> io::Result<usize>;

    /// One non-blocking write.
    #[doc(hidden)]
    fn write_now(&self, buf: &[u8]) -> io::Result<usize>;
}

/// A listener a task can accept connections on:
/// [`TcpListener`](crate::driver::TcpListener) or
/// [`UnixListener`](crate::driver::UnixListener). Sealed.
pub trait Listener: Registered {
    /// The connections it accepts.
    type Stream: StreamSocket;
    /// The peer's address as `accept` reports it.
    type Addr;

    /// One non-blocking accept, the connection registered with the
    /// listener's driver.
    #[doc(hidden)]
    fn accept_now(&self) -> io::Result<(Self::Stream, Self::Addr)>;
}

/// The mio recipe for a connection started without blocking: a pending
/// error means it failed; a peer address means it is established;
/// `NotConnected` means it is still in progress (`WouldBlock`, to wait).
pub(crate) fn connection_state<A>(
    take_error: io::Result<Option<io::Error>>,
    peer_addr: impl FnOnce() -> io::Result<A>,
) -> io::Result<()> {
    if let Some(err) = take_error? {
        return Err(err);
    }
    match peer_addr() {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Err(io::ErrorKind::WouldBlock.into()),
        Err(e) => Err(e),
    }
}

/// A datagram socket a task can send and receive on:
/// [`UdpSocket`](crate::driver::UdpSocket) or
/// [`UnixDatagram`](crate::driver::UnixDatagram). Sealed.
pub trait DatagramSocket: Registered {
    /// Where a datagram came from, as `recv_from` reports it.
    type Addr;
    /// Where `send_to` sends: a `SocketAddr` for UDP, a `&Path` for Unix.
    type Target<'a>: Copy;

    /// One non-blocking `send_to`.
    #[doc(hidden)]
    fn send_to_now(&self, buf: &[u8], target: Self::Target<'_>) -> io::Result<usize>;

    /// One non-blocking `recv_from`.
    #[doc(hidden)]
    fn recv_from_now(&self, buf: &mut [u8]) -> io::Result<(usize, Self::Addr)>;

    /// One non-blocking `send` to the connected peer.
    #[doc(hidden)]
    fn send_now(&self, buf: &[u8]) -> io::Result<usize>;

    /// One non-blocking `recv` from the connected peer.
    #[doc(hidden)]
    fn recv_now(&self, buf: &mut [u8]) -> io::Result<usize>;
}

/// The attempts of a [`StreamSocket`] whose mio stream is `self.io.inner`
/// (TCP and Unix streams alike), inside its `impl StreamSocket`.
macro_rules! stream_attempts {
    () => {
        fn connection(&self) -> std::io::Result<()> {
            $crate::driver::net::socket::connection_state(self.io.inner.take_error(), || {
                self.io.inner.peer_addr()
            })
        }

        fn read_now(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            std::io::Read::read(&mut &self.io.inner, buf)
        }

        fn write_now(&self, buf: &[u8]) -> std::io::Result<usize> {
            std::io::Write::write(&mut &self.io.inner, buf)
        }
    };
}
pub(crate) use stream_attempts;

/// The attempts of a [`DatagramSocket`] whose mio socket is
/// `self.io.inner` (UDP and Unix datagram sockets alike), inside its
/// `impl DatagramSocket`.
macro_rules! datagram_attempts {
    () => {
        fn send_to_now(&self, buf: &[u8], target: Self::Target<'_>) -> std::io::Result<usize> {
            self.io.inner.send_to(buf, target)
        }

        fn recv_from_now(&self, buf: &mut [u8]) -> std::io::Result<(usize, Self::Addr)> {
            self.io.inner.recv_from(buf)
        }

        fn send_now(&self, buf: &[u8]) -> std::io::Result<usize> {
            self.io.inner.send(buf)
        }

        fn recv_now(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.io.inner.recv(buf)
        }
    };
}
pub(crate) use datagram_attempts;
