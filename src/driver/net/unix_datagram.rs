//! Unix datagram sockets: [`UnixDatagram`], registered with a driver. Its
//! sources are the datagram sources of `datagram.rs`, shared with UDP.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use super::registration::{Io, Registered, Registration};
use super::socket::{DatagramSocket, datagram_attempts};
use super::unix::at_path;
use crate::driver::handle::DriverHandle;

/// A Unix datagram socket registered with a driver. Made by
/// [`DriverHandle::unix_datagram_bind`],
/// [`DriverHandle::unix_datagram_unbound`] or
/// [`DriverHandle::unix_datagram_pair`]; used with the same task methods
/// and sources as a [`UdpSocket`](crate::driver::UdpSocket), with paths for
/// addresses.
///
/// Unix datagrams are reliable and keep their order: a send to a peer whose
/// queue is full waits for room (it is a yield point) instead of dropping
/// the datagram. A send to a path with no socket is a `NotFound` or
/// `ConnectionRefused` error.
///
/// ```
/// use coshare::driver::{Driver, Task};
/// use coshare::{Eff, Yields};
///
/// let mut driver = Driver::new(());
/// let (mut a, mut b) = driver.handle().unix_datagram_pair().unwrap();
/// let h = driver
///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, Vec<u8>> {
///         t.send_datagram(&mut a, b"one datagram")?.unwrap();
///         let mut buf = [0u8; 64];
///         let n = t.recv_datagram(&mut b, &mut buf)?.unwrap();
///         Ok(buf[..n].to_vec())
///     })
///     .unwrap();
/// assert_eq!(driver.block_on(h).unwrap().unwrap(), b"one datagram");
/// ```
pub struct UnixDatagram {
    io: Io<mio::net::UnixDatagram>,
}

impl DriverHandle {
    /// Binds a Unix datagram socket at `path`, registered with this driver.
    /// A path in use is an `io::ErrorKind::AddrInUse` error that names it;
    /// the file stays after the socket is dropped.
    pub fn unix_datagram_bind(&self, path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let path = path.as_ref();
        let inner = mio::net::UnixDatagram::bind(path)
            .map_err(|err| at_path(err, "cannot bind unix datagram socket", path))?;
        self.unix_datagram(inner)
    }

    /// A Unix datagram socket bound to no path: it can send (to a path, or
    /// to the peer it is connected to) and receive replies from a peer it
    /// is connected to.
    pub fn unix_datagram_unbound(&self) -> io::Result<UnixDatagram> {
        self.unix_datagram(mio::net::UnixDatagram::unbound()?)
    }

    /// A pair of connected Unix datagram sockets, both registered with this
    /// driver (`socketpair`).
    pub fn unix_datagram_pair(&self) -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((self.unix_datagram(a)?, self.unix_datagram(b)?))
    }

    fn unix_datagram(&self, inner: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: Io::new(self.shared(), inner)?,
        })
    }
}

impl UnixDatagram {
    /// Sets the default peer: `send_datagram` sends to it, and only its
    /// datagrams are received. Does not wait. A missing path is a
    /// `NotFound` error that names it.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref();
        self.io
            .inner
            .connect(path)
            .map_err(|err| at_path(err, "cannot connect to unix datagram socket", path))
    }

    /// The local address (unnamed if it is not bound).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.peer_addr()
    }

    /// Shuts down sending, receiving, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.inner.shutdown(how)
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.inner.take_error()
    }
}

impl Registered for UnixDatagram {
    fn registration(&self) -> &Registration {
        &self.io.registration
    }
}

impl DatagramSocket for UnixDatagram {
    type Addr = SocketAddr;
    type Target<'a> = &'a Path;

    datagram_attempts!();
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("local_addr", &self.io.inner.local_addr().ok())
            .field("token", &self.io.registration.token())
            .finish()
    }
}
