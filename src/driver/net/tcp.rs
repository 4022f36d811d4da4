//! Non-blocking TCP sockets registered with a driver, and the sources that
//! wait on them.
//!
//! Sockets are registered with the driver's `mio::Poll` when they are
//! created. A task that reads, writes, accepts or connects first tries the
//! operation; if it would block, it waits for the socket's readiness (a
//! yield point, like every wait) and tries again. The driver polls for I/O
//! events at the start of every round (without blocking) and, when nothing
//! is ready, blocks in the poll until the next timer is due.
//!
//! Readiness is edge-triggered; the poller (in the reactor) keeps a flag
//! per direction that an event sets and an attempt clears *before* it runs,
//! so an event that arrives between an attempt and the wait is never lost.
//!
//! Every operation is also a [`Source`](crate::driver::Source) (see
//! [`wait::read`](crate::driver::wait::read) and friends), so a timeout on any of
//! them is a [`Task::select`](crate::driver::Task::select) with a sleep.
//!
//! A peer that closed its side shows as a read of `Ok(0)`; a reset peer or a
//! write to a closed connection as an `io::Error` (`ConnectionReset`,
//! `BrokenPipe`). Neither affects other sockets or tasks.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;

use crate::driver::handle::DriverHandle;
use crate::driver::reactor::poller::{Direction, IoEntry, Poller};
use crate::driver::reactor::{Shared, Waiter};
use crate::driver::report::WaitOn;
use crate::driver::source::{Context, Source};

/// A socket's registration with the driver's poller.
struct Registration {
    shared: Rc<Shared>,
    token: usize,
}

impl Registration {
    fn new<S: mio::event::Source>(shared: &Rc<Shared>, source: &mut S) -> io::Result<Registration> {
        let mut reactor = shared.reactor.borrow_mut();
        let poller = match &mut reactor.poller {
            Some(poller) => poller,
            none => none.insert(Box::new(Poller::new()?)),
        };
        let token = poller.register(source)?;
        Ok(Registration {
            shared: Rc::clone(shared),
            token,
        })
    }

    fn deregister<S: mio::event::Source>(&self, source: &mut S) {
        let mut reactor = self.shared.reactor.borrow_mut();
        let mut waiters = Vec::new();
        if let Some(poller) = reactor.poller.as_mut() {
            poller.deregister(self.token, source, |waiter| waiters.push(waiter));
        }
        for waiter in waiters {
            reactor.wake(waiter);
        }
    }

    /// Runs `f` on the socket's readiness entry, if it is registered.
    fn with_entry<T>(&self, f: impl FnOnce(&mut IoEntry) -> T) -> Option<T> {
        let mut reactor = self.shared.reactor.borrow_mut();
        reactor
            .poller
            .as_mut()
            .and_then(|poller| poller.entry_mut(self.token))
            .map(f)
    }

    /// Clears the readiness flag before an attempt.
    fn clear(&self, direction: Direction) {
        self.with_entry(|entry| entry.clear(direction));
    }

    /// After a `WouldBlock`: whether an event arrived since the flag was
    /// cleared (then the attempt should simply be repeated).
    fn ready_again(&self, direction: Direction) -> bool {
        let reactor = self.shared.reactor.borrow();
        reactor
            .poller
            .as_ref()
            .and_then(|poller| poller.entry(self.token))
            .is_some_and(|entry| entry.is_ready(direction))
    }

    /// Whether the socket was read dry and no readable event came since.
    fn drained(&self) -> bool {
        let reactor = self.shared.reactor.borrow();
        reactor
            .poller
            .as_ref()
            .and_then(|poller| poller.entry(self.token))
            .is_some_and(IoEntry::is_drained)
    }

    fn set_drained(&self) {
        self.with_entry(IoEntry::set_drained);
    }

    fn register_waiter(&self, direction: Direction, waiter: Waiter) {
        let added = self.with_entry(|entry| entry.set_waiter(direction, Some(waiter)));
        if added.is_some() {
            self.shared.reactor.borrow_mut().io_waits += 1;
        }
    }

    fn unregister_waiter(&self, direction: Direction) {
        self.with_entry(|entry| entry.set_waiter(direction, None));
        let mut reactor = self.shared.reactor.borrow_mut();
        reactor.io_waits = reactor.io_waits.saturating_sub(1);
    }

    fn describe(&self, direction: Direction) -> WaitOn {
        WaitOn::Io {
            what: match direction {
                Direction::Read => "readable",
                Direction::Write => "writable",
            },
            token: self.token,
        }
    }
}

/// The `register`, `unregister` and `wait_on` of a socket source whose
/// socket is `self.$socket` and which waits in `$direction`.
macro_rules! readiness_methods {
    ($socket:ident, $direction:expr) => {
        fn register(&mut self, _cx: &mut Context<'_>, waiter: Waiter) {
            self.$socket
                .registration
                .register_waiter($direction, waiter);
            self.waiting = true;
        }

        fn unregister(&mut self, _cx: &mut Context<'_>) {
            if std::mem::take(&mut self.waiting) {
                self.$socket.registration.unregister_waiter($direction);
            }
        }

        fn wait_on(&self) -> WaitOn {
            self.$socket.registration.describe($direction)
        }
    };
}

/// Runs `attempt` until it does not block, or until it blocks with no event
/// pending (then `None`: wait for readiness).
fn attempt<T>(
    registration: &Registration,
    direction: Direction,
    mut attempt: impl FnMut() -> io::Result<T>,
) -> Option<io::Result<T>> {
    loop {
        registration.clear(direction);
        match attempt() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !registration.ready_again(direction) {
                    return None;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return Some(other),
        }
    }
}

/// A TCP listener registered with a driver. Made by
/// [`DriverHandle::tcp_listen`]; accept with
/// [`Task::accept`](crate::driver::Task::accept).
pub struct TcpListener {
    inner: mio::net::TcpListener,
    registration: Registration,
}

impl DriverHandle {
    /// Binds a TCP listener registered with this driver.
    pub fn tcp_listen(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::bind(self.shared(), addr)
    }
}

impl TcpListener {
    fn bind(shared: &Rc<Shared>, addr: SocketAddr) -> io::Result<TcpListener> {
        let mut inner = mio::net::TcpListener::bind(addr)?;
        let registration = Registration::new(shared, &mut inner)?;
        Ok(TcpListener {
            inner,
            registration,
        })
    }

    /// The address it listens on (useful after binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        self.registration.deregister(&mut self.inner);
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.inner.local_addr().ok())
            .field("token", &self.registration.token)
            .finish()
    }
}

/// A TCP connection registered with a driver.
pub struct TcpStream {
    inner: mio::net::TcpStream,
    registration: Registration,
}

impl TcpStream {
    pub(crate) fn connect_started(
        handle: &DriverHandle,
        addr: SocketAddr,
    ) -> io::Result<TcpStream> {
        let mut inner = mio::net::TcpStream::connect(addr)?;
        let registration = Registration::new(handle.shared(), &mut inner)?;
        Ok(TcpStream {
            inner,
            registration,
        })
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_nodelay(nodelay)
    }

    /// Shuts down one or both directions.
    pub fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        self.registration.deregister(&mut self.inner);
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("peer_addr", &self.inner.peer_addr().ok())
            .field("token", &self.registration.token)
            .finish()
    }
}

/// Waits for a connection: the source behind
/// [`Task::accept`](crate::driver::Task::accept).
pub struct Accept<'a> {
    pub(crate) listener: &'a mut TcpListener,
    pub(crate) waiting: bool,
}

impl Source for Accept<'_> {
    type Output = io::Result<(TcpStream, SocketAddr)>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<Self::Output> {
        let listener = &mut *self.listener;
        let accepted = attempt(&listener.registration, Direction::Read, || {
            listener.inner.accept()
        })?;
        Some(accepted.and_then(|(mut inner, addr)| {
            let registration = Registration::new(&listener.registration.shared, &mut inner)?;
            Ok((
                TcpStream {
                    inner,
                    registration,
                },
                addr,
            ))
        }))
    }

    readiness_methods!(listener, Direction::Read);
}

/// Waits until some bytes can be read: the source behind
/// [`Task::read`](crate::driver::Task::read). `Ok(0)` means the peer closed its
/// side (or `buf` is empty).
pub struct ReadSome<'a> {
    pub(crate) stream: &'a mut TcpStream,
    pub(crate) buf: &'a mut [u8],
    pub(crate) waiting: bool,
}

impl Source for ReadSome<'_> {
    type Output = io::Result<usize>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<io::Result<usize>> {
        let stream = &mut *self.stream;
        let buf = &mut *self.buf;
        // A short read empties the socket's receive buffer; new data comes
        // with a new edge-triggered event. Until then, skip the `recv` that
        // could only say `EAGAIN`.
        if !buf.is_empty() && stream.registration.drained() {
            return None;
        }
        let len = buf.len();
        let result = attempt(&stream.registration, Direction::Read, || {
            stream.inner.read(buf)
        });
        if let Some(Ok(n)) = result {
            if n > 0 && n < len {
                stream.registration.set_drained();
            }
        }
        result
    }

    readiness_methods!(stream, Direction::Read);
}

/// Waits until some bytes can be written: the source behind
/// [`Task::write`](crate::driver::Task::write).
pub struct WriteSome<'a> {
    pub(crate) stream: &'a mut TcpStream,
    pub(crate) buf: &'a [u8],
    pub(crate) waiting: bool,
}

impl Source for WriteSome<'_> {
    type Output = io::Result<usize>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<io::Result<usize>> {
        let stream = &mut *self.stream;
        let buf = self.buf;
        attempt(&stream.registration, Direction::Write, || {
            stream.inner.write(buf)
        })
    }

    readiness_methods!(stream, Direction::Write);
}

/// Waits until a connection attempt completes: the source behind
/// [`Task::tcp_connect`](crate::driver::Task::tcp_connect).
pub(crate) struct Connected<'a> {
    pub(crate) stream: &'a mut TcpStream,
    pub(crate) waiting: bool,
}

impl Source for Connected<'_> {
    type Output = io::Result<()>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<io::Result<()>> {
        let stream = &mut *self.stream;
        attempt(&stream.registration, Direction::Write, || {
            // The mio recipe: a pending error means the connection failed;
            // a peer address means it is established; `NotConnected` means
            // it is still in progress.
            if let Some(err) = stream.inner.take_error()? {
                return Err(err);
            }
            match stream.inner.peer_addr() {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(e) => Err(e),
            }
        })
    }

    readiness_methods!(stream, Direction::Write);
}
