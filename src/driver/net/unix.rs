//! Unix stream sockets: [`UnixListener`] and [`UnixStream`], registered
//! with a driver. Their sources are the stream sources of `stream.rs`,
//! shared with TCP.
//!
//! A path-related failure (a path in use, a missing path, a path too long
//! for a socket address) is an `io::Error` of the system's kind whose
//! message names the path.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::{Path, PathBuf};

use socket2::{Domain, SockAddr};

use super::listen::{UnixListenOptions, listening_socket};
use super::registration::{Io, Registered, Registration};
use super::socket::{Listener, StreamSocket, stream_attempts};
use crate::driver::handle::DriverHandle;

/// `err`, with a message that says what was done to which path.
pub(crate) fn at_path(err: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("{what} {}: {err}", path.display()))
}

/// A Unix stream listener registered with a driver. Made by
/// [`DriverHandle::unix_listen`]; accept with
/// [`Task::accept`](crate::driver::Task::accept).
///
/// Dropping it closes the socket but leaves its file in place, as the
/// standard library does: a server that binds the same path again removes
/// the old file first (binding over it is an `AddrInUse` error).
///
/// ```
/// use coshare::driver::{Driver, Task};
/// use coshare::{Eff, Yields};
///
/// let path = std::env::temp_dir().join(format!("coshare-doc-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// let mut driver = Driver::new(());
/// let mut listener = driver.handle().unix_listen(&path).unwrap();
/// driver
///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
///         let (mut conn, _) = t.accept(&mut listener)?.unwrap();
///         t.write_all(&mut conn, b"hello")?.unwrap();
///         Ok(())
///     })
///     .unwrap();
/// let target = path.clone();
/// let client = driver
///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, Vec<u8>> {
///         let mut conn = t.unix_connect(&target)?.unwrap();
///         let mut buf = [0u8; 16];
///         let n = t.read(&mut conn, &mut buf)?.unwrap();
///         Ok(buf[..n].to_vec())
///     })
///     .unwrap();
/// assert_eq!(driver.block_on(client).unwrap().unwrap(), b"hello");
/// std::fs::remove_file(&path).unwrap();
/// ```
pub struct UnixListener {
    io: Io<mio::net::UnixListener>,
}

impl DriverHandle {
    /// Binds a Unix stream listener at `path`, registered with this driver,
    /// with a backlog of [`DEFAULT_BACKLOG`](crate::driver::DEFAULT_BACKLOG).
    /// A path in use (by a live socket or a file left behind) is an
    /// `io::ErrorKind::AddrInUse` error that names it.
    pub fn unix_listen(&self, path: impl AsRef<Path>) -> io::Result<UnixListener> {
        self.unix_listen_with(path, &UnixListenOptions::new())
    }

    /// Binds a Unix stream listener with the given backlog (see
    /// [`UnixListenOptions`]).
    pub fn unix_listen_with(
        &self,
        path: impl AsRef<Path>,
        options: &UnixListenOptions,
    ) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let bound = SockAddr::unix(path)
            .and_then(|addr| listening_socket(Domain::UNIX, &addr, options.backlog, |_| Ok(())));
        let socket = bound.map_err(|err| at_path(err, "cannot listen on unix socket", path))?;
        let inner = mio::net::UnixListener::from_std(socket.into());
        Ok(UnixListener {
            io: Io::new(self.shared(), inner)?,
        })
    }

    /// A pair of connected Unix streams, both registered with this driver
    /// (`socketpair`): a byte pipe between two tasks, or between a task
    /// and a library that wants a file descriptor.
    pub fn unix_stream_pair(&self) -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((
            UnixStream {
                io: Io::new(self.shared(), a)?,
            },
            UnixStream {
                io: Io::new(self.shared(), b)?,
            },
        ))
    }
}

impl UnixListener {
    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.local_addr()
    }
}

impl Registered for UnixListener {
    fn registration(&self) -> &Registration {
        &self.io.registration
    }
}

impl Listener for UnixListener {
    type Stream = UnixStream;
    type Addr = SocketAddr;

    fn accept_now(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (inner, addr) = self.io.inner.accept()?;
        let io = Io::new(self.io.registration.shared(), inner)?;
        Ok((UnixStream { io }, addr))
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("local_addr", &self.io.inner.local_addr().ok())
            .field("token", &self.io.registration.token())
            .finish()
    }
}

/// A Unix stream connection registered with a driver: from
/// [`Task::accept`](crate::driver::Task::accept),
/// [`Task::unix_connect`](crate::driver::Task::unix_connect) or
/// [`DriverHandle::unix_stream_pair`]. Read and write it as a
/// [`TcpStream`](crate::driver::TcpStream): the same task methods and
/// sources serve both.
pub struct UnixStream {
    io: Io<mio::net::UnixStream>,
}

impl StreamSocket for UnixStream {
    type Target = PathBuf;

    fn start_connect(handle: &DriverHandle, target: &PathBuf) -> io::Result<UnixStream> {
        let inner = match mio::net::UnixStream::connect(target) {
            Ok(inner) => inner,
            // The listener's backlog is full: `Connect` tries again.
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Err(err),
            Err(err) => return Err(at_path(err, "cannot connect to unix socket", target)),
        };
        Ok(UnixStream {
            io: Io::new(handle.shared(), inner)?,
        })
    }

    stream_attempts!();
}

impl Registered for UnixStream {
    fn registration(&self) -> &Registration {
        &self.io.registration
    }
}

impl UnixStream {
    /// The peer's address (unnamed for a client socket or a pair).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.peer_addr()
    }

    /// The local address (unnamed for a client socket or a pair).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.local_addr()
    }

    /// Shuts down one or both directions. After `Shutdown::Write` the peer
    /// reads end of stream; the connection can still be read.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.inner.shutdown(how)
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.inner.take_error()
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("peer_addr", &self.io.inner.peer_addr().ok())
            .field("token", &self.io.registration.token())
            .finish()
    }
}
