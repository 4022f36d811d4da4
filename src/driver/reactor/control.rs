//! A task's interrupt control: what, besides a cancellation through the
//! core, makes its waits return `Err(Interrupt)`.
//!
//! Each task has one [`Control`], shared by the task itself (its `Task`
//! holds a reference), its join handle (to request its cancellation) and
//! the driver's bookkeeping (so that a scope can cancel its children by
//! id). It holds a stack of *levels*, one per cancel scope, task scope or
//! shield the task is inside, innermost last:
//!
//! ```text
//!   levels:  [ deadline 5s | task scope (flag) | shield, deadline 9s | deadline 7s ]
//!                                               ^ the innermost shield: nothing
//!                                                 below it is visible from above it
//!   visible from the top: the shield and the 7s level; the earliest visible
//!   deadline is 7s; the requested cancellation (if any) is hidden too.
//! ```
//!
//! A wait is interrupted when something *visible* from the innermost level
//! holds: a visible level whose deadline has passed or whose flag is set,
//! or, if no shield is on the stack, a requested cancellation.
//!
//! The park loop tests one flag, [`Control::is_armed`]: false when no
//! level is active and no cancellation was requested, which is the case
//! for every task that uses none of this, so that such tasks pay one
//! compare per wait and nothing else.
//!
//! This room only keeps the books. Reading the clock, arming the timer
//! that wakes a waiting task at its deadline, and making the interrupt are
//! done by the driver's `interrupts` room, above.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::timers::TimerKey;
use crate::driver::clock::Instant;

/// A task scope's flag, set when the scope is cancelled (one of its
/// children failed). A trait so that the scope's books can be the flag,
/// without an allocation of their own.
pub(crate) trait Flag {
    fn is_set(&self) -> bool;
}

impl Flag for Cell<bool> {
    fn is_set(&self) -> bool {
        self.get()
    }
}

/// One cancel scope, task scope or shield a task is inside.
pub(crate) struct Level {
    /// The level's own deadline, if it has one.
    pub(crate) deadline: Option<Instant>,
    /// A shield: the levels below it, and a requested cancellation, are
    /// not visible from it or from the levels above it.
    pub(crate) shield: bool,
    /// A task scope's flag.
    pub(crate) flag: Option<Rc<dyn Flag>>,
}

impl Level {
    /// A cancel scope with a deadline.
    pub(crate) fn deadline(at: Instant) -> Level {
        Level {
            deadline: Some(at),
            shield: false,
            flag: None,
        }
    }

    /// A shield, with or without a deadline of its own.
    pub(crate) fn shield(deadline: Option<Instant>) -> Level {
        Level {
            deadline,
            shield: true,
            flag: None,
        }
    }

    /// A task scope, cancelled when `flag` is set.
    pub(crate) fn flagged(flag: Rc<dyn Flag>) -> Level {
        Level {
            deadline: None,
            shield: false,
            flag: Some(flag),
        }
    }

    /// Whether the level is cancelled or past its deadline at `now`.
    fn interrupted(&self, now: &mut impl FnMut() -> Instant) -> bool {
        self.flag.as_ref().is_some_and(|f| f.is_set()) || self.deadline.is_some_and(|d| d <= now())
    }
}

/// A task's interrupt control. See the module docs.
pub(crate) struct Control {
    /// Whether a level is active or a cancellation was requested: the one
    /// test of the park loop. First, so that it is the word a pointer to
    /// the control points at.
    armed: Cell<bool>,
    /// A cancellation was requested (`JoinHandle::abort`, or the task's
    /// scope is cancelling it).
    aborted: Cell<bool>,
    levels: RefCell<Vec<Level>>,
    /// The timer that wakes the task at the earliest visible deadline, and
    /// that deadline; armed only while the task waits inside a level with
    /// a deadline, and always for the earliest visible one.
    timer: Cell<Option<(TimerKey, Instant)>>,
}

impl Default for Control {
    fn default() -> Self {
        Control::new()
    }
}

impl Control {
    pub(crate) const fn new() -> Control {
        Control {
            armed: Cell::new(false),
            aborted: Cell::new(false),
            levels: RefCell::new(Vec::new()),
            timer: Cell::new(None),
        }
    }

    /// Whether anything may interrupt the task's waits (see the module
    /// docs). False for a task that uses no scope and was not asked to
    /// stop.
    #[inline(always)]
    pub(crate) fn is_armed(&self) -> bool {
        self.armed.get()
    }

    fn rearm(&self, levels: &[Level]) {
        self.armed.set(self.aborted.get() || !levels.is_empty());
    }

    /// Requests the task's cancellation. Returns whether it is visible now
    /// (no shield is on the stack), that is, whether a waiting task should
    /// be woken for it.
    pub(crate) fn request_abort(&self) -> bool {
        self.aborted.set(true);
        self.armed.set(true);
        !self.levels.borrow().iter().any(|l| l.shield)
    }

    /// Whether the task's cancellation was requested.
    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.get()
    }

    /// Enters a level; returns its depth, for [`pop`](Control::pop).
    pub(crate) fn push(&self, level: Level) -> usize {
        let mut levels = self.levels.borrow_mut();
        levels.push(level);
        self.armed.set(true);
        levels.len() - 1
    }

    /// Leaves the innermost level, which must be the one at `depth`.
    pub(crate) fn pop(&self, depth: usize) {
        let mut levels = self.levels.borrow_mut();
        debug_assert_eq!(levels.len(), depth + 1, "levels are left innermost first");
        levels.truncate(depth);
        self.rearm(&levels);
    }

    /// The earliest deadline visible from the innermost level.
    pub(crate) fn visible_deadline(&self) -> Option<Instant> {
        let levels = self.levels.borrow();
        let mut earliest: Option<Instant> = None;
        for level in levels.iter().rev() {
            if let Some(d) = level.deadline {
                earliest = Some(earliest.map_or(d, |e| e.min(d)));
            }
            if level.shield {
                break;
            }
        }
        earliest
    }

    /// Whether a wait at the innermost level is interrupted now. Reads the
    /// clock (`now`) only if a visible level has a deadline.
    pub(crate) fn interrupted(&self, mut now: impl FnMut() -> Instant) -> bool {
        let levels = self.levels.borrow();
        let mut now = cached(&mut now);
        for level in levels.iter().rev() {
            if level.interrupted(&mut now) {
                return true;
            }
            if level.shield {
                return false;
            }
        }
        self.aborted.get()
    }

    /// Whether the level at `depth` is the one an interrupt that reached it
    /// belongs to: it is interrupted, and nothing visible from it below it
    /// is (the outermost interrupted level takes the interrupt, as in
    /// trio). Otherwise the interrupt goes on outwards.
    pub(crate) fn owns(&self, depth: usize, mut now: impl FnMut() -> Instant) -> bool {
        let levels = self.levels.borrow();
        let mut now = cached(&mut now);
        let Some(level) = levels.get(depth) else {
            return false;
        };
        if !level.interrupted(&mut now) {
            return false;
        }
        if level.shield {
            return true;
        }
        for below in levels[..depth].iter().rev() {
            if below.interrupted(&mut now) {
                return false;
            }
            if below.shield {
                return true;
            }
        }
        !self.aborted.get()
    }

    /// The armed scope timer and its deadline.
    pub(crate) fn timer(&self) -> Option<(TimerKey, Instant)> {
        self.timer.get()
    }

    pub(crate) fn set_timer(&self, timer: Option<(TimerKey, Instant)>) {
        self.timer.set(timer);
    }
}

/// `now`, read at most once.
fn cached(now: &mut impl FnMut() -> Instant) -> impl FnMut() -> Instant + '_ {
    let mut read = None;
    move || *read.get_or_insert_with(&mut *now)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    fn never() -> Instant {
        panic!("the clock is read only when a deadline is visible")
    }

    #[test]
    fn a_task_without_levels_is_not_armed_and_never_interrupted() {
        let c = Control::new();
        assert!(!c.is_armed());
        assert!(!c.interrupted(never));
        let d = c.push(Level::deadline(at(10)));
        assert!(c.is_armed());
        assert!(!c.interrupted(|| at(9)));
        assert!(c.interrupted(|| at(10)));
        c.pop(d);
        assert!(!c.is_armed());
    }

    #[test]
    fn nested_levels_take_the_earliest_deadline_and_the_outermost_owns() {
        let c = Control::new();
        let outer = c.push(Level::deadline(at(5)));
        let inner = c.push(Level::deadline(at(8)));
        assert_eq!(c.visible_deadline(), Some(at(5)));
        assert!(c.interrupted(|| at(6)));
        assert!(!c.owns(inner, || at(6)), "the outer level's deadline fired");
        assert!(c.owns(outer, || at(6)));
        assert!(
            !c.owns(inner, || at(9)),
            "both passed: the outermost owns it"
        );
        c.pop(inner);
        c.pop(outer);
    }

    #[test]
    fn a_shield_hides_what_is_below_it_and_a_requested_cancellation() {
        let c = Control::new();
        let outer = c.push(Level::deadline(at(5)));
        assert!(c.request_abort(), "no shield: the cancellation is visible");
        let shield = c.push(Level::shield(Some(at(20))));
        assert_eq!(c.visible_deadline(), Some(at(20)));
        assert!(!c.interrupted(|| at(10)));
        assert!(c.interrupted(|| at(20)));
        assert!(c.owns(shield, || at(20)));
        assert!(!c.request_abort(), "hidden by the shield");
        let inner = c.push(Level::deadline(at(30)));
        assert!(
            c.owns(shield, || at(31)),
            "the shield is the outermost visible"
        );
        assert!(!c.owns(inner, || at(31)));
        c.pop(inner);
        c.pop(shield);
        assert!(
            c.interrupted(|| at(0)),
            "the requested cancellation is visible again"
        );
        assert!(
            !c.owns(outer, || at(6)),
            "a requested cancellation goes to the task"
        );
        c.pop(outer);
        assert!(c.is_armed(), "the request stays");
    }

    #[test]
    fn a_task_scope_is_interrupted_when_its_flag_is_set() {
        let c = Control::new();
        let flag = Rc::new(Cell::new(false));
        let scope = c.push(Level::flagged(Rc::clone(&flag) as Rc<dyn Flag>));
        assert!(!c.interrupted(never));
        flag.set(true);
        assert!(c.interrupted(never));
        assert!(c.owns(scope, never));
        c.pop(scope);
        assert!(!c.is_armed());
    }
}
