//! Cancel scopes and shields: [`Task::timeout`], [`Task::deadline`],
//! [`Task::shield`], [`Task::shield_for`], [`Task::shield_until`], and
//! [`Elapsed`].
//!
//! Each is a level of the task's interrupt control (see `interrupts.rs`)
//! for the length of a block. How an interrupt is delivered, and why one
//! never escapes its scope:
//!
//! * At every wait, the park loop asks whether something visible from the
//!   innermost level interrupts the task (a passed deadline, a cancelled
//!   task scope, a requested cancellation); if so, the wait returns an
//!   ordinary `Err(Interrupt)`, after removing its registrations, so `?`
//!   carries it out through the block's own code, running destructors.
//! * When the block returns that `Err`, its scope asks whether the
//!   interrupt is its own: its deadline has passed and no enclosing level
//!   visible from it is interrupted (the outermost interrupted scope takes
//!   it, as in trio), and the task is not being cancelled through the
//!   core. Then the scope drops the interrupt and returns `Ok(Err(Elapsed))`.
//!   Otherwise it returns the `Err` on: an enclosing scope, or the task's
//!   cancellation, takes it further.
//! * A deadline that has passed stays passed, so the interrupt that a
//!   wait returned is always owned by some level it crosses on the way out
//!   (the one whose deadline produced it, or an outer one that expired
//!   since): it cannot reach the task body, where the core would take it
//!   for a smuggled one and panic.

use std::fmt;
use std::time::Duration;

use super::interrupts::LevelGuard;
use super::reactor::Instant;
use super::reactor::control::Level;
use super::task::Task;
use crate::effect::{Eff, Yields};

/// A cancel scope's deadline passed before its block finished: what
/// [`Task::timeout`], [`Task::deadline`], [`Task::shield_for`] and
/// [`Task::shield_until`] return then.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Elapsed {
    deadline: Instant,
}

impl Elapsed {
    /// The deadline that passed.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the deadline ({}) passed before the block finished",
            self.deadline
        )
    }
}

impl std::error::Error for Elapsed {}

impl<S: 'static> Task<'_, S> {
    /// Runs `body` under a deadline `duration` from now: a cancel scope.
    /// `Ok(value)` if the block finished, `Err(Elapsed)` if the deadline
    /// interrupted it. See [`deadline`](Task::deadline) for how.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use coshare::driver::{DriverBuilder, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// let mut driver = DriverBuilder::new().virtual_clock().build(());
    /// let (tx, mut rx) = driver.handle().channel::<u32>(4);
    /// let h = driver
    ///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, (Vec<u32>, bool)> {
    ///         let mut got = Vec::new();
    ///         // One deadline for the whole exchange, not one per wait.
    ///         let finished = t.timeout(Duration::from_millis(250), |t| {
    ///             for _ in 0..3 {
    ///                 got.push(t.recv(&mut rx)?.unwrap());
    ///             }
    ///             Ok(())
    ///         })?;
    ///         Ok((got, finished.is_ok()))
    ///     })
    ///     .unwrap();
    /// tx.try_send(1).unwrap();
    /// driver.run_for(Duration::from_millis(200)).unwrap();
    /// tx.try_send(2).unwrap();
    /// driver.run_for(Duration::from_millis(100)).unwrap(); // the deadline passes
    /// assert_eq!(driver.block_on(h).unwrap().unwrap(), (vec![1, 2], false));
    /// ```
    pub fn timeout<T, F>(&mut self, duration: Duration, body: F) -> Eff<Yields, Result<T, Elapsed>>
    where
        F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, T>,
    {
        let at = self.now() + duration;
        self.deadline(at, body)
    }

    /// Runs `body` under the deadline `at`: a cancel scope. `Ok(value)` if
    /// the block finished, `Err(Elapsed)` if the deadline interrupted it.
    ///
    /// * **Every wait inside is covered**, in helper functions too: when
    ///   the deadline passes, the wait the block is in returns
    ///   `Err(Interrupt)`, exactly as for a cancellation: its registrations
    ///   are removed and anything it was handed is passed on, so nothing is
    ///   lost (a message being received stays in its channel). Return the
    ///   interrupt with `?`: the block unwinds, its destructors run, and
    ///   the scope turns the interrupt into `Err(Elapsed)`.
    /// * **An expired scope stays expired.** Every later wait inside it
    ///   returns `Err(Interrupt)` at once, without polling its source, also
    ///   one whose source is ready, so a block that ignores its interrupt
    ///   and waits again gets `Err` again (it is not unwound by force: an
    ///   expired scope is not a cancellation). Cleanup that must wait goes
    ///   in a [`shield`](Task::shield). A block that returns a value after
    ///   all gets `Ok(value)`.
    /// * **Nested scopes take the earliest deadline.** When several have
    ///   passed, the outermost of them reports `Err(Elapsed)`; the inner
    ///   ones pass the interrupt on with `?` like any other.
    /// * **It is not a cancellation of the task**: [`Task::is_cancelled`]
    ///   stays false, and a cancellation of the task that arrives inside
    ///   the scope ([`Driver::cancel`](super::Driver::cancel),
    ///   [`JoinHandle::abort`](super::JoinHandle::abort), a task scope
    ///   cancelling its children) passes through it as `Err(Interrupt)`.
    /// * A deadline that has already passed interrupts the first wait. A
    ///   block that does not wait is never interrupted.
    /// * Keep the interrupt inside its scope: one stored (in the state, say)
    ///   and returned after the scope has ended is not this task's
    ///   cancellation, and the core reports it as a panic.
    ///
    /// A scope costs a few dozen instructions when its block does not
    /// wait, and one timer for the task while it waits inside (the
    /// earliest deadline's; see `benches/instructions.rs`).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use coshare::driver::{DriverBuilder, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// let mut driver = DriverBuilder::new().virtual_clock().build(Vec::<String>::new());
    /// let h = driver
    ///     .spawn(|t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
    ///         let soon = t.now() + Duration::from_secs(1);
    ///         let outer = t.deadline(soon, |t| {
    ///             // The inner scope's deadline is later: the outer one
    ///             // interrupts the sleep, and reports it.
    ///             let inner = t.timeout(Duration::from_secs(5), |t| t.sleep(Duration::from_secs(10)))?;
    ///             t.state().push(format!("inner: {inner:?}")); // not reached
    ///             Ok(())
    ///         })?;
    ///         let now = t.now();
    ///         t.state().push(format!("outer: {} at {now}", outer.unwrap_err()));
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// driver.block_on(h).unwrap().unwrap();
    /// assert_eq!(
    ///     driver.state(),
    ///     &["outer: the deadline (1s) passed before the block finished at 1s"]
    /// );
    /// ```
    pub fn deadline<T, F>(&mut self, at: Instant, body: F) -> Eff<Yields, Result<T, Elapsed>>
    where
        F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, T>,
    {
        self.within(Level::deadline(at), at, body)
    }

    /// Runs `body` shielded: its waits are not interrupted by the cancel
    /// scopes and task scopes around it, nor by a requested cancellation
    /// of the task ([`JoinHandle::abort`](super::JoinHandle::abort), or a
    /// scope cancelling its children). Those reach the task's first wait
    /// after the shield ends. For cleanup that must wait: flush a reply,
    /// release a remote lease, while the task is being stopped. Scopes
    /// inside the shield work as usual.
    ///
    /// # Shields and the immediate cancellation
    ///
    /// [`Driver::cancel`](super::Driver::cancel) and
    /// [`Task::cancel`](super::Task::cancel) (and dropping the driver)
    /// cancel through the core: they run the task's cleanup to its end at
    /// once, on the canceller's stack, and nothing can wait there. A
    /// shield cannot change that. Its waits still take what is ready (they
    /// poll first), but the first one that would have to park is what the
    /// core calls a body that ignores its interrupt: it is unwound by force
    /// (its destructors run, it does not return). So a cleanup that must
    /// wait needs a task stopped by a request ([`JoinHandle::abort`](super::JoinHandle::abort),
    /// [`AbortOnDrop`](super::AbortOnDrop), a scope), which the shield
    /// holds off; use [`Task::is_cancelled`] to tell the cases apart if it
    /// matters. A shield gives no protection against a panic either.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use coshare::driver::{DriverBuilder, JoinError, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// let mut driver = DriverBuilder::new().virtual_clock().build(Vec::<String>::new());
    /// let (replies, mut peer) = driver.handle().channel::<&str>(1);
    /// replies.try_send("busy").unwrap(); // the peer is slow to read
    /// let worker = driver
    ///     .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
    ///         let work = t.sleep(Duration::from_secs(60));
    ///         if work.is_err() {
    ///             // Asked to stop: say goodbye first, even if that waits.
    ///             t.shield(|t| t.send(&replies, "goodbye"))?.unwrap();
    ///             let now = t.now();
    ///             t.state().push(format!("said goodbye at {now}"));
    ///         }
    ///         work
    ///     })
    ///     .unwrap();
    /// driver.run_for(Duration::from_secs(1)).unwrap();
    /// worker.abort();
    /// driver.run_for(Duration::from_secs(1)).unwrap(); // the goodbye waits for room
    /// assert_eq!(peer.try_recv(), Ok("busy"));
    /// assert!(matches!(driver.block_on(worker).unwrap(), Err(JoinError::Cancelled)));
    /// assert_eq!(peer.try_recv(), Ok("goodbye"));
    /// assert_eq!(driver.state(), &["said goodbye at 2s"]);
    /// ```
    pub fn shield<T, F>(&mut self, body: F) -> Eff<Yields, T>
    where
        F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, T>,
    {
        let guard = LevelGuard::enter(self.control, self.handle, Level::shield(None));
        // A shield without a deadline never owns an interrupt: whatever
        // reaches its end goes on.
        let result = body(self);
        drop(guard);
        result
    }

    /// [`shield`](Task::shield), with a deadline of its own `duration`
    /// from now: the shield keeps the enclosing scopes out, not time.
    /// `Err(Elapsed)` if that deadline interrupted the block.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use coshare::driver::{DriverBuilder, Task};
    /// use coshare::{Eff, Yields};
    ///
    /// let mut driver = DriverBuilder::new().virtual_clock().build(());
    /// let (tx, _rx) = driver.handle().channel::<&str>(1);
    /// tx.try_send("full").unwrap();
    /// let h = driver
    ///     .spawn(move |t: &mut Task<()>| -> Eff<Yields, bool> {
    ///         let outer = t.timeout(Duration::from_secs(1), |t| {
    ///             // Cleanup: at most 5 s, even though the outer scope expires at 1 s.
    ///             let flushed = t.shield_for(Duration::from_secs(5), |t| t.send(&tx, "flush"))?;
    ///             Ok(flushed.is_err())
    ///         })?;
    ///         assert_eq!(t.now().since_start(), Duration::from_secs(5));
    ///         Ok(outer.unwrap())
    ///     })
    ///     .unwrap();
    /// assert!(driver.block_on(h).unwrap().unwrap(), "the shield's own deadline");
    /// ```
    pub fn shield_for<T, F>(
        &mut self,
        duration: Duration,
        body: F,
    ) -> Eff<Yields, Result<T, Elapsed>>
    where
        F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, T>,
    {
        let at = self.now() + duration;
        self.shield_until(at, body)
    }

    /// [`shield`](Task::shield), with a deadline of its own at `at`.
    /// `Err(Elapsed)` if that deadline interrupted the block.
    pub fn shield_until<T, F>(&mut self, at: Instant, body: F) -> Eff<Yields, Result<T, Elapsed>>
    where
        F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, T>,
    {
        self.within(Level::shield(Some(at)), at, body)
    }

    /// Runs `body` inside `level`, whose deadline is `at`; stops the
    /// interrupt that reaches its end if it is the level's own.
    fn within<T, F>(
        &mut self,
        level: Level,
        at: Instant,
        body: F,
    ) -> Eff<Yields, Result<T, Elapsed>>
    where
        F: FnOnce(&mut Task<'_, S>) -> Eff<Yields, T>,
    {
        let guard = LevelGuard::enter(self.control, self.handle, level);
        match body(self) {
            Ok(value) => Ok(Ok(value)),
            Err(interrupt) => {
                if !self.co.is_cancelling() && guard.owns_interrupt() {
                    // The interrupt is this scope's: it stops here.
                    let _ = interrupt;
                    Ok(Err(Elapsed { deadline: at }))
                } else {
                    Err(interrupt)
                }
            }
        }
    }
}
