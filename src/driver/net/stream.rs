//! The sources of byte streams and their listeners, whatever the
//! transport (TCP or Unix): connect, accept, read and write.
//!
//! The sources are generic over the socket, so `t.read`, `t.write_all`,
//! `t.accept`, [`wait::read`](crate::driver::wait::read) and the others
//! work the same on a [`TcpStream`] and a
//! [`UnixStream`](crate::driver::UnixStream).

use std::io;
use std::time::Duration;

use super::registration::readiness_methods;
use super::socket::{Listener, StreamSocket};
use super::tcp::{TcpListener, TcpStream};
use crate::driver::reactor::Waiter;
use crate::driver::reactor::poller::Direction;
use crate::driver::report::WaitOn;
use crate::driver::source::{Context, Source};
use crate::driver::sources::time::Sleep;

/// Waits for a connection: the source behind
/// [`Task::accept`](crate::driver::Task::accept), made by
/// [`wait::accept`](crate::driver::wait::accept).
pub struct Accept<'a, L: Listener = TcpListener> {
    pub(crate) listener: &'a mut L,
    pub(crate) waiting: bool,
}

impl<L: Listener> Source for Accept<'_, L> {
    type Output = io::Result<(L::Stream, L::Addr)>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<Self::Output> {
        let listener = &*self.listener;
        listener
            .registration()
            .attempt(Direction::Read, || listener.accept_now())
    }

    readiness_methods!(listener, Direction::Read);
}

/// Waits until some bytes can be read: the source behind
/// [`Task::read`](crate::driver::Task::read), made by
/// [`wait::read`](crate::driver::wait::read). `Ok(0)` means the peer
/// closed its side (or `buf` is empty).
pub struct ReadSome<'a, S: StreamSocket = TcpStream> {
    pub(crate) stream: &'a mut S,
    pub(crate) buf: &'a mut [u8],
    pub(crate) waiting: bool,
}

impl<S: StreamSocket> Source for ReadSome<'_, S> {
    type Output = io::Result<usize>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<io::Result<usize>> {
        let stream = &*self.stream;
        let buf = &mut *self.buf;
        let registration = stream.registration();
        // A short read empties the socket's receive buffer; new data comes
        // with a new edge-triggered event. Until then, skip the `recv` that
        // could only say `EAGAIN`.
        if !buf.is_empty() && registration.drained() {
            return None;
        }
        let len = buf.len();
        let result = registration.attempt(Direction::Read, || stream.read_now(buf));
        if let Some(Ok(n)) = result {
            if n > 0 && n < len {
                registration.set_drained();
            }
        }
        result
    }

    readiness_methods!(stream, Direction::Read);
}

/// Waits until some bytes can be written: the source behind
/// [`Task::write`](crate::driver::Task::write), made by
/// [`wait::write`](crate::driver::wait::write).
pub struct WriteSome<'a, S: StreamSocket = TcpStream> {
    pub(crate) stream: &'a mut S,
    pub(crate) buf: &'a [u8],
    pub(crate) waiting: bool,
}

impl<S: StreamSocket> Source for WriteSome<'_, S> {
    type Output = io::Result<usize>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<io::Result<usize>> {
        let stream = &*self.stream;
        let buf = self.buf;
        stream
            .registration()
            .attempt(Direction::Write, || stream.write_now(buf))
    }

    readiness_methods!(stream, Direction::Write);
}

/// The first pause before connecting again to a listener whose backlog is
/// full, and the longest.
const FIRST_RETRY: Duration = Duration::from_millis(1);
const LAST_RETRY: Duration = Duration::from_millis(100);

/// Connects to a listener: the source behind
/// [`Task::tcp_connect`](crate::driver::Task::tcp_connect) and
/// [`Task::unix_connect`](crate::driver::Task::unix_connect), made by
/// [`wait::tcp_connect`](crate::driver::wait::tcp_connect) and
/// [`wait::unix_connect`](crate::driver::wait::unix_connect).
///
/// The socket is made, and the connection started, at the first poll.
/// A listener whose backlog is full (a Unix socket says so at once,
/// where TCP would retry by itself) is tried again after a pause that
/// doubles from 1 ms up to 100 ms, until it takes the connection or
/// refuses it. A connection that loses a `select` is closed with the
/// source.
pub struct Connect<S: StreamSocket = TcpStream> {
    pub(crate) target: S::Target,
    pub(crate) stream: Option<S>,
    /// While the listener's backlog is full: the pause before the next try.
    pub(crate) retry: Option<Sleep>,
    pub(crate) pause: Duration,
    pub(crate) waiting: bool,
}

impl<S: StreamSocket> Connect<S> {
    pub(crate) fn new(target: S::Target) -> Connect<S> {
        Connect {
            target,
            stream: None,
            retry: None,
            pause: FIRST_RETRY,
            waiting: false,
        }
    }
}

impl<S: StreamSocket> Source for Connect<S> {
    type Output = io::Result<S>;

    fn poll(&mut self, cx: &mut Context<'_>) -> Option<io::Result<S>> {
        if let Some(retry) = &mut self.retry {
            retry.poll(cx)?;
            self.retry = None;
        }
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => match S::start_connect(cx.handle(), &self.target) {
                Ok(stream) => self.stream.insert(stream),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.retry = Some(Sleep::after(self.pause));
                    self.pause = (self.pause * 2).min(LAST_RETRY);
                    return None;
                }
                Err(e) => return Some(Err(e)),
            },
        };
        let stream = &*stream;
        let connected = stream
            .registration()
            .attempt(Direction::Write, || stream.connection())?;
        let stream = self.stream.take().expect("the stream polled above");
        Some(connected.map(|()| stream))
    }

    fn register(&mut self, cx: &mut Context<'_>, waiter: Waiter) {
        match (&mut self.retry, &self.stream) {
            (Some(retry), _) => retry.register(cx, waiter),
            (None, Some(stream)) => {
                stream
                    .registration()
                    .register_waiter(Direction::Write, waiter);
                self.waiting = true;
            }
            (None, None) => unreachable!("a connection waits on its socket or for a retry"),
        }
    }

    fn unregister(&mut self, cx: &mut Context<'_>) {
        if let Some(retry) = &mut self.retry {
            retry.unregister(cx);
        }
        if std::mem::take(&mut self.waiting) {
            if let Some(stream) = &self.stream {
                stream.registration().unregister_waiter(Direction::Write);
            }
        }
    }

    fn wait_on(&self) -> WaitOn {
        match &self.stream {
            Some(stream) if self.retry.is_none() => {
                stream.registration().describe(Direction::Write)
            }
            _ => WaitOn::custom("room in a full listen backlog, to connect"),
        }
    }
}
