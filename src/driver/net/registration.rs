//! What every object the poller watches shares: its registration, the
//! attempt loop of its sources, and their readiness methods.
//!
//! A socket (TCP, UDP or Unix) or a signal set is registered with the
//! driver's `mio::Poll` when it is made, through an [`Io`], which owns the
//! mio object and its [`Registration`] and deregisters it when dropped.
//! Every source that waits on such an object follows one recipe:
//!
//! ```text
//! poll:       attempt(direction, op)       clear the flag, try the operation;
//!                                          WouldBlock with no event since: None
//! register:   register_waiter(direction)   the poller wakes the task on an event
//! unregister: unregister_waiter(direction)
//! wait_on:    describe(direction)
//! ```
//!
//! The last three are written once, by [`readiness_methods!`], for every
//! source of every kind of socket.
//!
//! Readiness is edge-triggered; the poller keeps a flag per direction that
//! an event sets and an attempt clears *before* it runs, so an event that
//! arrives between an attempt and the wait is never lost. An event that
//! reported a closed peer or an error is remembered for good (see
//! `reactor/poller.rs`).

use std::io;
use std::rc::Rc;

use crate::driver::reactor::poller::{Direction, IoEntry, Poller};
use crate::driver::reactor::{Shared, Waiter};
use crate::driver::report::WaitOn;

/// An object's registration with the driver's poller.
pub struct Registration {
    shared: Rc<Shared>,
    token: usize,
}

impl Registration {
    /// Registers `source` for both directions, creating the poller with the
    /// first registration.
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

    /// The reactor this object is registered with.
    pub(crate) fn shared(&self) -> &Rc<Shared> {
        &self.shared
    }

    /// The poller's token, which names the object in wait descriptions.
    pub(crate) fn token(&self) -> usize {
        self.token
    }

    /// Runs `f` on the object's readiness entry, if it is registered.
    fn with_entry<T>(&self, f: impl FnOnce(&mut IoEntry) -> T) -> Option<T> {
        let mut reactor = self.shared.reactor.borrow_mut();
        reactor
            .poller
            .as_mut()
            .and_then(|poller| poller.entry_mut(self.token))
            .map(f)
    }

    /// Reads the object's readiness entry; `false` if it is not registered.
    fn entry_says(&self, f: impl FnOnce(&IoEntry) -> bool) -> bool {
        let reactor = self.shared.reactor.borrow();
        reactor
            .poller
            .as_ref()
            .and_then(|poller| poller.entry(self.token))
            .is_some_and(f)
    }

    /// Runs `op` until it does not block, or until it blocks with no event
    /// pending (then `None`: wait for readiness). The flag of `direction`
    /// is cleared before each try, so an event that comes during the try
    /// makes it run again instead of being lost.
    pub(crate) fn attempt<T>(
        &self,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<T>,
    ) -> Option<io::Result<T>> {
        loop {
            self.with_entry(|entry| entry.clear(direction));
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !self.entry_says(|entry| entry.is_ready(direction)) {
                        return None;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return Some(other),
            }
        }
    }

    /// Whether a byte stream was read dry and nothing came since (no
    /// readable event, no end of stream, no error).
    pub(crate) fn drained(&self) -> bool {
        self.entry_says(IoEntry::is_drained)
    }

    /// A read was short: the stream is read dry until the next event.
    pub(crate) fn set_drained(&self) {
        self.with_entry(IoEntry::set_drained);
    }

    /// The task of `waiter` is woken by the next event in `direction`.
    pub(crate) fn register_waiter(&self, direction: Direction, waiter: Waiter) {
        let added = self.with_entry(|entry| entry.set_waiter(direction, Some(waiter)));
        if added.is_some() {
            self.shared.reactor.borrow_mut().io_waits += 1;
        }
    }

    /// Undoes [`register_waiter`](Registration::register_waiter).
    pub(crate) fn unregister_waiter(&self, direction: Direction) {
        let removed = self.with_entry(|entry| entry.set_waiter(direction, None));
        if removed.is_some() {
            let mut reactor = self.shared.reactor.borrow_mut();
            reactor.io_waits = reactor.io_waits.saturating_sub(1);
        }
    }

    /// The wait description of a wait in `direction`.
    pub(crate) fn describe(&self, direction: Direction) -> WaitOn {
        WaitOn::Io {
            what: match direction {
                Direction::Read => "readable",
                Direction::Write => "writable",
            },
            token: self.token,
        }
    }
}

/// A mio object registered with a driver; deregistered when dropped. Every
/// socket type and the signal set hold their mio object this way.
pub struct Io<T: mio::event::Source> {
    /// The mio object. Every operation on it goes through
    /// [`Registration::attempt`], which keeps the readiness flags right.
    pub(crate) inner: T,
    pub(crate) registration: Registration,
}

impl<T: mio::event::Source> Io<T> {
    /// Registers `inner` with the driver of `shared`.
    pub(crate) fn new(shared: &Rc<Shared>, mut inner: T) -> io::Result<Io<T>> {
        let registration = Registration::new(shared, &mut inner)?;
        Ok(Io {
            inner,
            registration,
        })
    }
}

impl<T: mio::event::Source> Drop for Io<T> {
    fn drop(&mut self) {
        self.registration.deregister(&mut self.inner);
    }
}

/// What has a registration: every socket type and the signal set. Sealed:
/// it lives in a module users cannot name, so the public socket traits
/// built on it cannot be implemented outside the crate.
pub trait Registered {
    /// The object's registration with its driver.
    fn registration(&self) -> &Registration;
}

impl<T: mio::event::Source> Registered for Io<T> {
    fn registration(&self) -> &Registration {
        &self.registration
    }
}

/// The `register`, `unregister` and `wait_on` of a source that waits in
/// `$direction` on the object `self.$object` (anything [`Registered`]), and
/// keeps whether it registered in `self.waiting`. With `@register`, only
/// the first two, for a source that describes its wait itself.
macro_rules! readiness_methods {
    (@register $object:ident, $direction:expr) => {
        fn register(&mut self, _cx: &mut $crate::driver::Context<'_>, waiter: $crate::driver::Waiter) {
            $crate::driver::net::registration::Registered::registration(&*self.$object)
                .register_waiter($direction, waiter);
            self.waiting = true;
        }

        fn unregister(&mut self, _cx: &mut $crate::driver::Context<'_>) {
            if std::mem::take(&mut self.waiting) {
                $crate::driver::net::registration::Registered::registration(&*self.$object)
                    .unregister_waiter($direction);
            }
        }
    };
    ($object:ident, $direction:expr) => {
        $crate::driver::net::registration::readiness_methods!(@register $object, $direction);

        fn wait_on(&self) -> $crate::driver::WaitOn {
            $crate::driver::net::registration::Registered::registration(&*self.$object)
                .describe($direction)
        }
    };
}
pub(crate) use readiness_methods;
