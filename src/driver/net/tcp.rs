//! TCP: [`TcpListener`] and [`TcpStream`], registered with a driver, and
//! the stream's socket options.
//!
//! Sockets are registered with the driver's `mio::Poll` when they are
//! created. A task that reads, writes, accepts or connects first tries the
//! operation; if it would block, it waits for the socket's readiness (a
//! yield point, like every wait) and tries again. The driver polls for I/O
//! events at the start of every round (without blocking) and, when nothing
//! is ready, blocks in the poll until the next timer is due. The sources
//! are shared with Unix streams (`stream.rs`), the readiness machinery with
//! every socket (`registration.rs`).
//!
//! Every operation is also a [`Source`](crate::driver::Source) (see
//! [`wait::read`](crate::driver::wait::read) and friends), so a timeout on any of
//! them is a [`Task::select`](crate::driver::Task::select) with a sleep.
//!
//! A peer that closed its side shows as a read of `Ok(0)`; a reset peer or a
//! write to a closed connection as an `io::Error` (`ConnectionReset`,
//! `BrokenPipe`). Neither affects other sockets or tasks.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use socket2::{Domain, SockAddr, SockRef, TcpKeepalive};

use super::listen::{TcpListenOptions, listening_socket};
use super::registration::{Io, Registered, Registration};
use super::socket::{Listener, StreamSocket, stream_attempts};
use crate::driver::handle::DriverHandle;

/// A TCP listener registered with a driver. Made by
/// [`DriverHandle::tcp_listen`] or [`DriverHandle::tcp_listen_with`];
/// accept with [`Task::accept`](crate::driver::Task::accept).
pub struct TcpListener {
    io: Io<mio::net::TcpListener>,
}

impl DriverHandle {
    /// Binds a TCP listener registered with this driver, with the default
    /// [`TcpListenOptions`]: a backlog of
    /// [`DEFAULT_BACKLOG`](crate::driver::DEFAULT_BACKLOG) (1024) and
    /// `SO_REUSEADDR`.
    ///
    /// ```
    /// use coshare::driver::Driver;
    ///
    /// let driver = Driver::new(());
    /// let listener = driver.handle().tcp_listen("127.0.0.1:0".parse().unwrap())?;
    /// println!("listening on {}", listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn tcp_listen(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        self.tcp_listen_with(addr, &TcpListenOptions::new())
    }

    /// Binds a TCP listener with the given backlog and address reuse (see
    /// [`TcpListenOptions`]). An address in use is an
    /// `io::ErrorKind::AddrInUse` error.
    pub fn tcp_listen_with(
        &self,
        addr: SocketAddr,
        options: &TcpListenOptions,
    ) -> io::Result<TcpListener> {
        let socket = listening_socket(
            Domain::for_address(addr),
            &SockAddr::from(addr),
            options.backlog,
            |socket| {
                socket.set_reuse_address(options.reuse_address)?;
                socket.set_reuse_port(options.reuse_port)
            },
        )?;
        let inner = mio::net::TcpListener::from_std(socket.into());
        Ok(TcpListener {
            io: Io::new(self.shared(), inner)?,
        })
    }
}

impl DriverHandle {
    /// Registers a connected `std::net::TcpStream` with this driver (and
    /// makes it non-blocking): for a connection accepted elsewhere, such as
    /// an acceptor thread that hands each connection to one of the
    /// [shards](crate::driver::shards) (a `std::net::TcpStream` is `Send`).
    ///
    /// ```
    /// use coshare::driver::{Driver, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let (accepted, _) = listener.accept()?; // on any thread
    ///
    /// let mut driver = Driver::new(Vec::new());
    /// let mut stream = driver.handle().tcp_stream_from_std(accepted)?;
    /// driver
    ///     .spawn(move |t: &mut Task<Vec<u8>>| -> Eff<Yields, ()> {
    ///         let mut buf = [0u8; 5];
    ///         let n = t.read(&mut stream, &mut buf)?.unwrap();
    ///         t.state().extend_from_slice(&buf[..n]);
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// std::io::Write::write_all(&mut &client, b"hello")?;
    /// driver.run().unwrap();
    /// assert_eq!(driver.state(), b"hello");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn tcp_stream_from_std(&self, stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        let inner = mio::net::TcpStream::from_std(stream);
        Ok(TcpStream {
            io: Io::new(self.shared(), inner)?,
        })
    }
}

impl TcpListener {
    /// The address it listens on (useful after binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.local_addr()
    }
}

impl Registered for TcpListener {
    fn registration(&self) -> &Registration {
        &self.io.registration
    }
}

impl Listener for TcpListener {
    type Stream = TcpStream;
    type Addr = SocketAddr;

    fn accept_now(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (inner, addr) = self.io.inner.accept()?;
        let io = Io::new(self.io.registration.shared(), inner)?;
        Ok((TcpStream { io }, addr))
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.io.inner.local_addr().ok())
            .field("token", &self.io.registration.token())
            .finish()
    }
}

/// A TCP connection registered with a driver: from
/// [`Task::accept`](crate::driver::Task::accept) or
/// [`Task::tcp_connect`](crate::driver::Task::tcp_connect). Read and write
/// it with [`Task::read`](crate::driver::Task::read),
/// [`Task::write_all`](crate::driver::Task::write_all) and the sources of
/// [`wait`](crate::driver::wait).
///
/// Its options are set without waiting:
///
/// ```
/// use std::time::Duration;
///
/// use coshare::driver::{Driver, Task};
/// use coshare::{Eff, Yields};
///
/// let mut driver = Driver::new(());
/// let mut listener = driver.handle().tcp_listen("127.0.0.1:0".parse().unwrap()).unwrap();
/// let addr = listener.local_addr().unwrap();
/// driver
///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
///         let (conn, _) = t.accept(&mut listener)?.unwrap();
///         conn.set_nodelay(true).unwrap();
///         conn.set_keepalive(Some(Duration::from_secs(300))).unwrap();
///         assert_eq!(conn.keepalive().unwrap(), Some(Duration::from_secs(300)));
///         Ok(())
///     })
///     .unwrap();
/// let client = driver
///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
///         let _conn = t.tcp_connect(addr)?.unwrap();
///         Ok(())
///     })
///     .unwrap();
/// driver.run().unwrap();
/// ```
pub struct TcpStream {
    io: Io<mio::net::TcpStream>,
}

impl StreamSocket for TcpStream {
    type Target = SocketAddr;

    fn start_connect(handle: &DriverHandle, target: &SocketAddr) -> io::Result<TcpStream> {
        let inner = mio::net::TcpStream::connect(*target)?;
        Ok(TcpStream {
            io: Io::new(handle.shared(), inner)?,
        })
    }

    stream_attempts!();
}

impl Registered for TcpStream {
    fn registration(&self) -> &Registration {
        &self.io.registration
    }
}

impl TcpStream {
    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.local_addr()
    }

    /// Shuts down one or both directions. After `Shutdown::Write` the peer
    /// reads end of stream; the connection can still be read.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.inner.shutdown(how)
    }

    /// Sets `TCP_NODELAY`: small writes go out at once instead of waiting
    /// to be merged (Nagle's algorithm). Request-reply protocols want it.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.inner.set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.inner.nodelay()
    }

    /// Turns TCP keepalive on, with `idle` the time the connection may be
    /// silent before the first probe (`TCP_KEEPIDLE`, in whole seconds, at
    /// least one: less is an `InvalidInput` error), or
    /// off with `None`. The interval between probes and their number stay
    /// the system's (Linux: 75 s and 9). A peer that stopped answering then
    /// shows as an error on the next read or write, as a reset peer does.
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        let socket = SockRef::from(&self.io.inner);
        match idle {
            Some(idle) if idle < Duration::from_secs(1) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a keepalive idle time is whole seconds, at least one",
            )),
            Some(idle) => socket.set_tcp_keepalive(&TcpKeepalive::new().with_time(idle)),
            None => socket.set_keepalive(false),
        }
    }

    /// The keepalive idle time if keepalive is on, `None` if it is off.
    pub fn keepalive(&self) -> io::Result<Option<Duration>> {
        let socket = SockRef::from(&self.io.inner);
        if !socket.keepalive()? {
            return Ok(None);
        }
        socket.tcp_keepalive_time().map(Some)
    }

    /// Sets `SO_LINGER`. With `None` (the default) dropping the stream
    /// returns at once and the kernel sends what is left by itself. With
    /// `Some(Duration::ZERO)` a drop discards what is left and sends a
    /// reset (and leaves no `TIME_WAIT`).
    ///
    /// With a longer linger time, Linux makes the drop itself wait until
    /// the rest is sent or the time is up, non-blocking socket or not, and
    /// that wait blocks the driver's thread and so every task: a server
    /// wants `None` or `Some(Duration::ZERO)`.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        SockRef::from(&self.io.inner).set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        SockRef::from(&self.io.inner).linger()
    }

    /// Sets the IP time-to-live of outgoing packets (`IP_TTL`).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.inner.set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing packets.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.inner.ttl()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.inner.take_error()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("peer_addr", &self.io.inner.peer_addr().ok())
            .field("token", &self.io.registration.token())
            .finish()
    }
}
