//! I/O readiness through `mio` (feature `io`): the poller, and what it
//! remembers about each registered socket.
//!
//! Readiness is edge-triggered: each socket keeps a flag per direction that
//! an event sets and an attempt clears *before* it runs, so an event that
//! arrives between an attempt and the wait is never lost.

use std::io;
use std::time::Duration;

use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use super::tasks::Waiter;

/// The direction a socket operation waits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// Per-socket readiness and waiters.
#[derive(Default)]
pub(crate) struct IoEntry {
    readable: bool,
    writable: bool,
    /// An event reported that the peer closed its sending side, or an error
    /// on the socket. Edge-triggered readiness says so once, so this is
    /// kept for good: from now on a read never blocks (it returns the
    /// rest of the data, then end of file or the error), and it is always
    /// tried.
    read_closed: bool,
    /// The last read returned less than it asked for: the socket was read
    /// dry, and no readable event has arrived since. Reading again before
    /// one arrives would only get `EAGAIN`, unless the peer has closed.
    drained: bool,
    read_waiter: Option<Waiter>,
    write_waiter: Option<Waiter>,
}

impl IoEntry {
    /// Clears the readiness flag of `direction` before an attempt.
    pub(crate) fn clear(&mut self, direction: Direction) {
        match direction {
            Direction::Read => self.readable = false,
            Direction::Write => self.writable = false,
        }
    }

    /// Whether an event arrived for `direction` since the flag was cleared.
    pub(crate) fn is_ready(&self, direction: Direction) -> bool {
        match direction {
            Direction::Read => self.readable,
            Direction::Write => self.writable,
        }
    }

    /// Whether the socket was read dry and nothing came since: no readable
    /// event, and no end of stream or error (which a read would return at
    /// once, however it arrived).
    pub(crate) fn is_drained(&self) -> bool {
        self.drained && !self.readable && !self.read_closed
    }

    pub(crate) fn set_drained(&mut self) {
        self.drained = true;
    }

    /// Records the task waiting in `direction`.
    pub(crate) fn set_waiter(&mut self, direction: Direction, waiter: Option<Waiter>) {
        match direction {
            Direction::Read => self.read_waiter = waiter,
            Direction::Write => self.write_waiter = waiter,
        }
    }
}

/// The driver's poller and registered sockets.
pub(crate) struct Poller {
    poll: Poll,
    events: Events,
    entries: Slab<IoEntry>,
}

impl Poller {
    pub(crate) fn new() -> io::Result<Poller> {
        Ok(Poller {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            entries: Slab::new(),
        })
    }

    /// A waker that ends a blocked poll from any thread. Its events carry
    /// a token no socket has, so the poll loop skips them.
    pub(crate) fn waker(&self) -> io::Result<mio::Waker> {
        mio::Waker::new(self.poll.registry(), Token(usize::MAX))
    }

    /// The poll's file descriptor, for awaiting it inside another runtime.
    #[cfg(feature = "tokio")]
    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.poll.as_raw_fd()
    }

    /// Whether no socket is registered.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Registers `source` for both directions; returns its token.
    pub(crate) fn register<S: mio::event::Source + ?Sized>(
        &mut self,
        source: &mut S,
    ) -> io::Result<usize> {
        let entry = self.entries.vacant_entry();
        let token = entry.key();
        self.poll.registry().register(
            source,
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        entry.insert(IoEntry::default());
        Ok(token)
    }

    /// Deregisters the socket of `token` and hands the tasks that waited
    /// on it to `wake` (they find it closed when they try again).
    pub(crate) fn deregister<S: mio::event::Source + ?Sized>(
        &mut self,
        token: usize,
        source: &mut S,
        mut wake: impl FnMut(Waiter),
    ) {
        // The socket is being closed; a failure to deregister changes
        // nothing for it.
        let _ = self.poll.registry().deregister(source);
        if let Some(entry) = self.entries.try_remove(token) {
            entry
                .read_waiter
                .into_iter()
                .chain(entry.write_waiter)
                .for_each(&mut wake);
        }
    }

    /// The entry of a registered socket.
    pub(crate) fn entry(&self, token: usize) -> Option<&IoEntry> {
        self.entries.get(token)
    }

    /// The entry of a registered socket.
    pub(crate) fn entry_mut(&mut self, token: usize) -> Option<&mut IoEntry> {
        self.entries.get_mut(token)
    }

    /// Polls for I/O events, waiting at most `timeout` (`None`: until one
    /// arrives), and hands the tasks waiting on ready sockets to `wake`.
    /// Returns how many events there were (remote wake-ups included).
    pub(crate) fn poll(
        &mut self,
        timeout: Option<Duration>,
        mut wake: impl FnMut(Waiter),
    ) -> usize {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            // A signal handler ran (one of a `Signals` set wrote to its
            // pipe, which the next poll reports), or polling itself failed
            // (out of resources). Either way nothing can be woken now:
            // return, and the run loop polls again with a timeout counted
            // from now, not the old one in full.
            Err(_) => return 0,
        }
        let mut count = 0;
        for event in self.events.iter() {
            count += 1;
            let Some(entry) = self.entries.get_mut(event.token().0) else {
                continue;
            };
            let closed = event.is_read_closed() || event.is_write_closed() || event.is_error();
            if event.is_read_closed() || event.is_error() {
                entry.read_closed = true;
            }
            if event.is_readable() || closed {
                entry.readable = true;
                entry.drained = false;
                if let Some(waiter) = entry.read_waiter.take() {
                    wake(waiter);
                }
            }
            if event.is_writable() || closed {
                entry.writable = true;
                if let Some(waiter) = entry.write_waiter.take() {
                    wake(waiter);
                }
            }
        }
        count
    }
}
