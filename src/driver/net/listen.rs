//! How listening sockets are made: [`TcpListenOptions`] and
//! [`UnixListenOptions`], the default backlog, and the one helper that
//! makes, binds and starts a listening socket through `socket2`.

use std::io;

use socket2::{Domain, SockAddr, Socket, Type};

/// The listen backlog unless one is asked for: how many connections the
/// kernel completes and queues before a task accepts them.
///
/// 1024, where the standard library and mio use 128 and Redis 511: a
/// burst of a thousand connects (clients starting together, a benchmark)
/// then waits for no retransmitted handshake. Linux caps any backlog at
/// `net.core.somaxconn` (4096 by default since Linux 5.4, 128 before), so
/// asking for more than that gets that.
pub const DEFAULT_BACKLOG: u32 = 1024;

/// How [`DriverHandle::tcp_listen_with`](crate::driver::DriverHandle::tcp_listen_with)
/// makes a TCP listener.
///
/// ```
/// use coshare::driver::{Driver, TcpListenOptions};
///
/// let driver = Driver::new(());
/// let options = TcpListenOptions::new().backlog(4096).reuse_port(true);
/// let listener = driver.handle().tcp_listen_with("127.0.0.1:0".parse().unwrap(), &options)?;
/// assert!(listener.local_addr()?.port() != 0);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TcpListenOptions {
    pub(crate) backlog: u32,
    pub(crate) reuse_address: bool,
    pub(crate) reuse_port: bool,
}

impl Default for TcpListenOptions {
    fn default() -> Self {
        TcpListenOptions {
            backlog: DEFAULT_BACKLOG,
            reuse_address: true,
            reuse_port: false,
        }
    }
}

impl TcpListenOptions {
    /// The defaults: a backlog of [`DEFAULT_BACKLOG`], `SO_REUSEADDR` on
    /// (a restarted server can bind its port again while connections of
    /// the last run are in `TIME_WAIT`), `SO_REUSEPORT` off.
    pub fn new() -> Self {
        Self::default()
    }

    /// The listen backlog (see [`DEFAULT_BACKLOG`]); the kernel caps it.
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// `SO_REUSEADDR`: bind a port whose last connections are still in
    /// `TIME_WAIT`. On by default.
    pub fn reuse_address(mut self, on: bool) -> Self {
        self.reuse_address = on;
        self
    }

    /// `SO_REUSEPORT`: several listeners (one per thread, each with its own
    /// driver) bind the same address, and the kernel spreads the incoming
    /// connections over them. Every one of them must set it. Off by
    /// default.
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }
}

/// How [`DriverHandle::unix_listen_with`](crate::driver::DriverHandle::unix_listen_with)
/// makes a Unix stream listener.
///
/// ```
/// use coshare::driver::UnixListenOptions;
///
/// let options = UnixListenOptions::new().backlog(64);
/// # drop(options);
/// ```
#[derive(Clone, Debug)]
pub struct UnixListenOptions {
    pub(crate) backlog: u32,
}

impl Default for UnixListenOptions {
    fn default() -> Self {
        UnixListenOptions {
            backlog: DEFAULT_BACKLOG,
        }
    }
}

impl UnixListenOptions {
    /// The defaults: a backlog of [`DEFAULT_BACKLOG`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The listen backlog (see [`DEFAULT_BACKLOG`]); the kernel caps it.
    /// A Unix listener whose backlog is full makes a connecting task wait
    /// and try again (see [`Connect`](crate::driver::Connect)).
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }
}

/// A non-blocking stream socket of `domain`, set up by `configure`, bound
/// to `addr` and listening with `backlog`.
pub(crate) fn listening_socket(
    domain: Domain,
    addr: &SockAddr,
    backlog: u32,
    configure: impl FnOnce(&Socket) -> io::Result<()>,
) -> io::Result<Socket> {
    // socket2 makes it close-on-exec.
    let socket = Socket::new(domain, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    configure(&socket)?;
    socket.bind(addr)?;
    // `listen` takes an int; anything larger is capped by the kernel anyway.
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    Ok(socket)
}
