//! How a task's waits are interrupted without a cancellation through the
//! core: by a cancel scope's deadline, a task scope's cancellation, or a
//! requested cancellation ([`JoinHandle::abort`](super::JoinHandle::abort)),
//! each kept in the task's [`Control`] (see `reactor/control.rs`).
//!
//! The park loop ([`Task::wait`](super::Task::wait)) tests
//! [`Control::is_armed`] before it polls a source and after each wake-up;
//! only when it is set does it call [`check`], which reads the clock if a
//! deadline is visible, and returns the interrupt if anything visible
//! interrupts the task. Such an interrupt is an ordinary `Interrupt<Yields>`:
//! the wait that returns it has already removed its registrations and
//! passed on anything exclusive it was handed (the source protocol's
//! `abandon`), exactly as for a cancellation, so nothing is lost.
//!
//! A waiting task must also be *woken* at a deadline. One timer per task
//! does it, armed by [`check`] for the earliest visible deadline when the
//! task is about to wait inside a level that has one, and kept in step by
//! [`LevelGuard`] as levels come and go: a level that never waits arms
//! nothing. The timer wakes whatever wait the task is in then.

use super::handle::DriverHandle;
use super::reactor::Shared;
use super::reactor::control::{Control, Level};
use crate::effect::{Eff, Interrupt, Yields};
use crate::error::CoroutineId;

/// The slow half of the park loop's test, called only while `control` is
/// armed: `Err(Interrupt)` if something visible interrupts the task now;
/// otherwise arms the timer for the earliest visible deadline, so that a
/// wait that parks next is woken at it.
#[cold]
#[inline(never)]
pub(crate) fn check(control: &Control, handle: &DriverHandle, id: CoroutineId) -> Eff<Yields, ()> {
    let shared = handle.shared();
    if control.interrupted(|| shared.now()) {
        return Err(Interrupt::cancelled());
    }
    let wanted = control.visible_deadline();
    match (control.timer(), wanted) {
        (Some((_, armed)), Some(wanted)) if armed == wanted => {}
        (None, None) => {}
        (current, wanted) => {
            let mut reactor = shared.reactor.borrow_mut();
            if let Some((key, _)) = current {
                reactor.remove_timer(key);
            }
            control.set_timer(wanted.map(|at| (reactor.add_task_timer(at, id), at)));
        }
    }
    Ok(())
}

/// Removes the task's timer if it is not for the earliest visible deadline
/// any more (a level came or went).
fn drop_stale_timer(control: &Control, shared: &Shared) {
    if let Some((key, armed)) = control.timer() {
        if control.visible_deadline() != Some(armed) {
            shared.reactor.borrow_mut().remove_timer(key);
            control.set_timer(None);
        }
    }
}

/// A level the task is inside, for the length of a block: entered by
/// [`enter`](LevelGuard::enter), left when the guard is dropped (also
/// when the block panics or is unwound by force).
pub(crate) struct LevelGuard<'a> {
    control: &'a Control,
    handle: &'a DriverHandle,
    depth: usize,
}

impl<'a> LevelGuard<'a> {
    pub(crate) fn enter(control: &'a Control, handle: &'a DriverHandle, level: Level) -> Self {
        let depth = control.push(level);
        drop_stale_timer(control, handle.shared());
        LevelGuard {
            control,
            handle,
            depth,
        }
    }

    /// Whether an interrupt that reached this level's end belongs to it
    /// (see `Control::owns`): then the level stops it.
    pub(crate) fn owns_interrupt(&self) -> bool {
        let shared = self.handle.shared();
        self.control.owns(self.depth, || shared.now())
    }
}

impl Drop for LevelGuard<'_> {
    fn drop(&mut self) {
        self.control.pop(self.depth);
        drop_stale_timer(self.control, self.handle.shared());
    }
}
