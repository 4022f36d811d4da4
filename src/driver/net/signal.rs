//! Unix signals as a wait source: [`Signals`], a set of signals registered
//! with a driver, and [`SignalWait`], the source that waits for the next
//! one.
//!
//! Built on `signal-hook-mio`: the signal handler (installed by
//! `signal-hook`, async-signal-safe) records the signal and writes a byte
//! to a socket pair whose reading end the driver's poller watches, like
//! any socket. A wait takes what the handler recorded, so a signal that
//! arrives while the task does something else is waiting for it.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::rc::Rc;

use signal_hook::consts::FORBIDDEN;
use signal_hook_mio::v1_0::Signals as SignalPipe;

use super::registration::{Io, Registered, Registration, readiness_methods};
use crate::driver::handle::DriverHandle;
use crate::driver::reactor::poller::Direction;
use crate::driver::report::WaitOn;
use crate::driver::source::{Context, Source};

/// A set of Unix signals a task can wait for, registered with a driver.
/// Made by [`DriverHandle::signals`]; waited on with
/// [`Task::signal`](crate::driver::Task::signal) or
/// [`wait::signal`](crate::driver::wait::signal), which give the signal's
/// number.
///
/// # Signals are process-wide
///
/// * Making a `Signals` installs a handler for each of its signals in the
///   whole process. From then on the signal's default action no longer
///   happens: a `SIGINT` or `SIGTERM` that would have ended the process is
///   delivered to the waiting task instead, and ending is up to it.
/// * Every `Signals` that lists a signal receives each delivery of it: two
///   in one driver, or in two drivers on two threads, both see it. Which
///   thread the kernel runs the handler on does not matter.
/// * Deliveries of the same signal that arrive before a task takes them
///   count as one, as the kernel itself merges pending signals. Several
///   different signals that arrive together are given one per wait, in
///   ascending order of number.
/// * Dropping the last `Signals` of a signal removes its handler's action
///   but, as `signal-hook` documents, not the handler: the default action
///   does not come back, and the signal is then ignored. Keep the
///   `Signals` of a terminating signal for as long as the program runs.
/// * `SIGKILL`, `SIGSTOP` and the signals that report a fault (`SIGSEGV`,
///   `SIGBUS`, `SIGILL`, `SIGFPE`) cannot be waited for: asking for one is
///   an `InvalidInput` error.
///
/// ```
/// use coshare::driver::signal::SIGUSR1;
/// use coshare::driver::{Driver, Task};
/// use coshare::{Eff, Yields};
///
/// let mut driver = Driver::new(());
/// let mut signals = driver.handle().signals(&[SIGUSR1]).unwrap();
/// let h = driver
///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, i32> { t.signal(&mut signals) })
///     .unwrap();
/// signal_hook::low_level::raise(SIGUSR1).unwrap();
/// assert_eq!(driver.block_on(h).unwrap().unwrap(), SIGUSR1);
/// ```
pub struct Signals {
    io: Io<SignalPipe>,
    /// Signals taken from the handler and not yet given to a task.
    taken: VecDeque<i32>,
    set: Rc<[i32]>,
}

impl DriverHandle {
    /// Starts receiving `signals` (numbers such as
    /// [`signal::SIGTERM`](crate::driver::signal::SIGTERM)) through a
    /// [`Signals`] registered with this driver. Read the process-wide rules
    /// on [`Signals`] first.
    ///
    /// An empty set, a number that is no signal, or a signal that cannot be
    /// handled (`SIGKILL`, `SIGSTOP`, `SIGSEGV`, `SIGBUS`, `SIGILL`,
    /// `SIGFPE`) is an `io::ErrorKind::InvalidInput` error, and no handler
    /// is installed.
    pub fn signals(&self, signals: &[i32]) -> io::Result<Signals> {
        if signals.is_empty() {
            return Err(invalid("a signal set needs at least one signal".into()));
        }
        if let Some(&bad) = signals.iter().find(|&&s| FORBIDDEN.contains(&s)) {
            return Err(invalid(format!(
                "signal {bad} cannot be handled: SIGKILL and SIGSTOP cannot be caught, \
                 and a fault signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE) cannot be waited for"
            )));
        }
        // signal-hook's table has 128 slots and asserts a number fits.
        if let Some(&bad) = signals.iter().find(|&&s| !(1..128).contains(&s)) {
            return Err(invalid(format!("{bad} is not a signal number")));
        }
        let pipe = SignalPipe::new(signals)?;
        let mut set = signals.to_vec();
        set.sort_unstable();
        set.dedup();
        Ok(Signals {
            io: Io::new(self.shared(), pipe)?,
            taken: VecDeque::new(),
            set: set.into(),
        })
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

impl Signals {
    /// The signals of the set, in ascending order.
    pub fn signals(&self) -> &[i32] {
        &self.set
    }
}

impl Registered for Signals {
    fn registration(&self) -> &Registration {
        &self.io.registration
    }
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signals")
            .field("signals", &self.set)
            .field("taken", &self.taken)
            .field("token", &self.io.registration.token())
            .finish()
    }
}

/// Waits for the next signal of a set: the source behind
/// [`Task::signal`](crate::driver::Task::signal), made by
/// [`wait::signal`](crate::driver::wait::signal). Fires with the signal's
/// number.
pub struct SignalWait<'a> {
    pub(crate) signals: &'a mut Signals,
    pub(crate) waiting: bool,
}

impl Source for SignalWait<'_> {
    type Output = i32;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<i32> {
        let Signals { io, taken, .. } = &mut *self.signals;
        if let Some(signal) = taken.pop_front() {
            return Some(signal);
        }
        let Io {
            inner,
            registration,
        } = io;
        // Empties the pipe, then takes what the handler recorded: a signal
        // that comes after that writes to the pipe again, which is a new
        // readable event.
        let got = registration.attempt(Direction::Read, || {
            taken.extend(inner.pending());
            taken
                .pop_front()
                .ok_or_else(|| io::ErrorKind::WouldBlock.into())
        })?;
        got.ok()
    }

    readiness_methods!(@register signals, Direction::Read);

    fn wait_on(&self) -> WaitOn {
        WaitOn::Signal {
            signals: Rc::clone(&self.signals.set),
        }
    }
}
