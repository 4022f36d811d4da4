//! UDP: [`UdpSocket`], registered with a driver. Its sources are the
//! datagram sources of `datagram.rs`, shared with Unix datagram sockets.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use super::registration::{Io, Registered, Registration};
use super::socket::{DatagramSocket, datagram_attempts};
use crate::driver::handle::DriverHandle;

/// A UDP socket registered with a driver. Made by
/// [`DriverHandle::udp_bind`]; send and receive with
/// [`Task::send_to`](crate::driver::Task::send_to) and
/// [`Task::recv_from`](crate::driver::Task::recv_from), or, once
/// [`connect`](UdpSocket::connect)ed, with
/// [`Task::send_datagram`](crate::driver::Task::send_datagram) and
/// [`Task::recv_datagram`](crate::driver::Task::recv_datagram).
///
/// A datagram longer than the buffer it is received into is cut to the
/// buffer's length; the rest is lost, as with every UDP socket.
///
/// ```
/// use coshare::driver::{Driver, Task};
/// use coshare::{Eff, Yields};
///
/// let mut driver = Driver::new(());
/// let mut server = driver.handle().udp_bind("127.0.0.1:0".parse().unwrap()).unwrap();
/// let mut client = driver.handle().udp_bind("127.0.0.1:0".parse().unwrap()).unwrap();
/// let server_addr = server.local_addr().unwrap();
/// driver
///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
///         let mut buf = [0u8; 64];
///         let (n, from) = t.recv_from(&mut server, &mut buf)?.unwrap();
///         t.send_to(&mut server, &buf[..n], from)?.unwrap(); // echo
///         Ok(())
///     })
///     .unwrap();
/// let asker = driver
///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, Vec<u8>> {
///         client.connect(server_addr).unwrap();
///         t.send_datagram(&mut client, b"ping")?.unwrap();
///         let mut buf = [0u8; 64];
///         let n = t.recv_datagram(&mut client, &mut buf)?.unwrap();
///         Ok(buf[..n].to_vec())
///     })
///     .unwrap();
/// assert_eq!(driver.block_on(asker).unwrap().unwrap(), b"ping");
/// ```
pub struct UdpSocket {
    io: Io<mio::net::UdpSocket>,
}

impl DriverHandle {
    /// Binds a UDP socket registered with this driver (port 0: any free
    /// port). An address in use is an `io::ErrorKind::AddrInUse` error.
    pub fn udp_bind(&self, addr: SocketAddr) -> io::Result<UdpSocket> {
        let inner = mio::net::UdpSocket::bind(addr)?;
        Ok(UdpSocket {
            io: Io::new(self.shared(), inner)?,
        })
    }
}

impl UdpSocket {
    /// The local address (useful after binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.local_addr()
    }

    /// The connected peer's address; a `NotConnected` error if it is not
    /// connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.peer_addr()
    }

    /// Sets the default peer: `send_datagram` sends to it, and only its
    /// datagrams are received. Does not wait (UDP has no handshake). Once
    /// connected, a datagram the peer's host refused (no socket on that
    /// port) shows as a `ConnectionRefused` error on a later send or
    /// receive.
    pub fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        self.io.inner.connect(addr)
    }

    /// Sets `SO_BROADCAST`: whether datagrams may go to a broadcast address.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.inner.set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.inner.broadcast()
    }

    /// Sets the IP time-to-live of outgoing datagrams (`IP_TTL`).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.inner.set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing datagrams.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.inner.ttl()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.inner.take_error()
    }
}

impl Registered for UdpSocket {
    fn registration(&self) -> &Registration {
        &self.io.registration
    }
}

impl DatagramSocket for UdpSocket {
    type Addr = SocketAddr;
    type Target<'a> = SocketAddr;

    datagram_attempts!();
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local_addr", &self.io.inner.local_addr().ok())
            .field("token", &self.io.registration.token())
            .finish()
    }
}
