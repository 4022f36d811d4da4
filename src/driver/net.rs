//! Non-blocking TCP for driver tasks, through `mio` (feature `io`).
//!
//! Sockets are registered with the driver's `mio::Poll` when they are
//! created. A task that reads, writes, accepts or connects first tries the
//! operation; if it would block, it waits for the socket's readiness (a
//! yield point, like every wait) and tries again. The driver polls for I/O
//! events at the start of every round (without blocking) and, when nothing
//! is ready, blocks in the poll until the next timer is due.
//!
//! Readiness is edge-triggered: each socket keeps a flag per direction that
//! an event sets and an attempt clears *before* it runs, so an event that
//! arrives between an attempt and the wait is never lost.
//!
//! Every operation is also a [`Source`](super::Source) (see
//! [`wait::read`](super::wait::read) and friends), so a timeout on any of
//! them is a [`Task::select`](super::Task::select) with a sleep.
//!
//! A peer that closed its side shows as a read of `Ok(0)`; a reset peer or a
//! write to a closed connection as an `io::Error` (`ConnectionReset`,
//! `BrokenPipe`). Neither affects other sockets or tasks.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use super::reactor::{Reactor, Shared, WaitOn, Waiter};
use super::select::SourceImpl;

/// Per-socket readiness and waiters.
#[derive(Default)]
struct IoEntry {
    readable: bool,
    writable: bool,
    /// The last read returned less than it asked for: the socket was read
    /// dry, and no readable event has arrived since. Reading again before
    /// one arrives would only get `EAGAIN`.
    drained: bool,
    read_waiter: Option<Waiter>,
    write_waiter: Option<Waiter>,
}

/// The driver's poller and registered sockets.
pub(crate) struct IoDriver {
    poll: Poll,
    events: Events,
    entries: Slab<IoEntry>,
}

impl IoDriver {
    fn new() -> io::Result<IoDriver> {
        Ok(IoDriver {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            entries: Slab::new(),
        })
    }
}

impl Reactor {
    fn io(&mut self) -> io::Result<&mut IoDriver> {
        if self.io.is_none() {
            self.io = Some(Box::new(IoDriver::new()?));
        }
        Ok(self.io.as_mut().expect("created above"))
    }

    /// Whether any socket is registered.
    pub(crate) fn has_sockets(&self) -> bool {
        self.io.as_ref().is_some_and(|io| !io.entries.is_empty())
    }

    /// Polls for I/O events, waiting at most `timeout` (`None`: until one
    /// arrives), and wakes the tasks waiting on ready sockets.
    pub(crate) fn poll_io(&mut self, timeout: Option<Duration>) {
        let Some(io) = self.io.as_mut() else {
            if let Some(timeout) = timeout {
                std::thread::sleep(timeout);
            }
            return;
        };
        loop {
            match io.poll.poll(&mut io.events, timeout) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // Polling itself failed (out of resources). Nothing sensible
                // can be woken; return and let the run loop try again.
                Err(_) => return,
            }
        }
        let mut wake = Vec::new();
        for event in io.events.iter() {
            let Some(entry) = io.entries.get_mut(event.token().0) else {
                continue;
            };
            let closed = event.is_read_closed() || event.is_write_closed() || event.is_error();
            if event.is_readable() || closed {
                entry.readable = true;
                entry.drained = false;
                wake.extend(entry.read_waiter.take());
            }
            if event.is_writable() || closed {
                entry.writable = true;
                wake.extend(entry.write_waiter.take());
            }
        }
        for waiter in wake {
            self.wake(waiter);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Read,
    Write,
}

/// A socket's registration with the driver.
struct Registration {
    shared: Rc<Shared>,
    token: usize,
}

impl Registration {
    fn new<S: mio::event::Source>(shared: &Rc<Shared>, source: &mut S) -> io::Result<Registration> {
        let mut reactor = shared.reactor.borrow_mut();
        let io = reactor.io()?;
        let entry = io.entries.vacant_entry();
        let token = entry.key();
        io.poll.registry().register(
            source,
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        entry.insert(IoEntry::default());
        Ok(Registration {
            shared: Rc::clone(shared),
            token,
        })
    }

    fn deregister<S: mio::event::Source>(&self, source: &mut S) {
        let mut reactor = self.shared.reactor.borrow_mut();
        if let Some(io) = reactor.io.as_mut() {
            let _ = io.poll.registry().deregister(source);
            if io.entries.contains(self.token) {
                let entry = io.entries.remove(self.token);
                let waiters = entry.read_waiter.into_iter().chain(entry.write_waiter);
                for waiter in waiters.collect::<Vec<_>>() {
                    reactor.wake(waiter);
                }
            }
        }
    }

    /// Clears the readiness flag before an attempt.
    fn clear(&self, direction: Direction) {
        let mut reactor = self.shared.reactor.borrow_mut();
        if let Some(entry) = reactor
            .io
            .as_mut()
            .and_then(|io| io.entries.get_mut(self.token))
        {
            match direction {
                Direction::Read => entry.readable = false,
                Direction::Write => entry.writable = false,
            }
        }
    }

    /// After a `WouldBlock`: whether an event arrived since the flag was
    /// cleared (then the attempt should simply be repeated).
    fn ready_again(&self, direction: Direction) -> bool {
        let reactor = self.shared.reactor.borrow();
        reactor
            .io
            .as_ref()
            .and_then(|io| io.entries.get(self.token))
            .is_some_and(|entry| match direction {
                Direction::Read => entry.readable,
                Direction::Write => entry.writable,
            })
    }

    /// Whether the socket was read dry and no readable event came since.
    fn drained(&self) -> bool {
        let reactor = self.shared.reactor.borrow();
        reactor
            .io
            .as_ref()
            .and_then(|io| io.entries.get(self.token))
            .is_some_and(|entry| entry.drained && !entry.readable)
    }

    fn set_drained(&self) {
        let mut reactor = self.shared.reactor.borrow_mut();
        if let Some(entry) = reactor
            .io
            .as_mut()
            .and_then(|io| io.entries.get_mut(self.token))
        {
            entry.drained = true;
        }
    }

    fn register_waiter(&self, direction: Direction, waiter: Waiter) {
        let mut reactor = self.shared.reactor.borrow_mut();
        let mut added = false;
        if let Some(entry) = reactor
            .io
            .as_mut()
            .and_then(|io| io.entries.get_mut(self.token))
        {
            match direction {
                Direction::Read => entry.read_waiter = Some(waiter),
                Direction::Write => entry.write_waiter = Some(waiter),
            }
            added = true;
        }
        if added {
            reactor.io_waits += 1;
        }
    }

    fn unregister_waiter(&self, direction: Direction) {
        let mut reactor = self.shared.reactor.borrow_mut();
        if let Some(entry) = reactor
            .io
            .as_mut()
            .and_then(|io| io.entries.get_mut(self.token))
        {
            match direction {
                Direction::Read => entry.read_waiter = None,
                Direction::Write => entry.write_waiter = None,
            }
        }
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
        fn register(&mut self, _shared: &Shared, waiter: Waiter) {
            self.$socket
                .registration
                .register_waiter($direction, waiter);
            self.waiting = true;
        }

        fn unregister(&mut self, _shared: &Shared) {
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
/// [`Driver::tcp_listen`](super::Driver::tcp_listen) or
/// [`Task::tcp_listen`](super::Task::tcp_listen); accept with
/// [`Task::accept`](super::Task::accept).
pub struct TcpListener {
    inner: mio::net::TcpListener,
    registration: Registration,
}

impl TcpListener {
    pub(crate) fn bind(shared: &Rc<Shared>, addr: SocketAddr) -> io::Result<TcpListener> {
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
    pub(crate) fn connect_started(shared: &Rc<Shared>, addr: SocketAddr) -> io::Result<TcpStream> {
        let mut inner = mio::net::TcpStream::connect(addr)?;
        let registration = Registration::new(shared, &mut inner)?;
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
/// [`Task::accept`](super::Task::accept).
pub struct Accept<'a> {
    pub(crate) listener: &'a mut TcpListener,
    pub(crate) waiting: bool,
}

impl SourceImpl for Accept<'_> {
    type Output = io::Result<(TcpStream, SocketAddr)>;

    fn poll(&mut self, _shared: &Shared) -> Option<Self::Output> {
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
/// [`Task::read`](super::Task::read). `Ok(0)` means the peer closed its
/// side (or `buf` is empty).
pub struct ReadSome<'a> {
    pub(crate) stream: &'a mut TcpStream,
    pub(crate) buf: &'a mut [u8],
    pub(crate) waiting: bool,
}

impl SourceImpl for ReadSome<'_> {
    type Output = io::Result<usize>;

    fn poll(&mut self, _shared: &Shared) -> Option<io::Result<usize>> {
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
/// [`Task::write`](super::Task::write).
pub struct WriteSome<'a> {
    pub(crate) stream: &'a mut TcpStream,
    pub(crate) buf: &'a [u8],
    pub(crate) waiting: bool,
}

impl SourceImpl for WriteSome<'_> {
    type Output = io::Result<usize>;

    fn poll(&mut self, _shared: &Shared) -> Option<io::Result<usize>> {
        let stream = &mut *self.stream;
        let buf = self.buf;
        attempt(&stream.registration, Direction::Write, || {
            stream.inner.write(buf)
        })
    }

    readiness_methods!(stream, Direction::Write);
}

/// Waits until a connection attempt completes: the source behind
/// [`Task::tcp_connect`](super::Task::tcp_connect).
pub(crate) struct Connected<'a> {
    pub(crate) stream: &'a mut TcpStream,
    pub(crate) waiting: bool,
}

impl SourceImpl for Connected<'_> {
    type Output = io::Result<()>;

    fn poll(&mut self, _shared: &Shared) -> Option<io::Result<()>> {
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
