//! Pending timers, in firing order: by deadline, then by creation.

use std::collections::BTreeMap;

use super::tasks::Waiter;
use crate::driver::clock::Instant;

/// Identifies a pending timer, for removing it: its deadline and its
/// creation number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey {
    deadline: Instant,
    seq: u64,
}

/// The timers of one driver. Each wakes one wait when it fires.
#[derive(Default)]
pub(crate) struct Timers {
    pending: BTreeMap<TimerKey, Waiter>,
    next_seq: u64,
}

impl Timers {
    /// Adds a timer for `waiter` at `deadline`. Timers with the same
    /// deadline fire in the order they were added.
    pub(crate) fn add(&mut self, deadline: Instant, waiter: Waiter) -> TimerKey {
        let key = TimerKey {
            deadline,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.pending.insert(key, waiter);
        key
    }

    /// Removes a timer that has not fired (a fired one is already gone).
    pub(crate) fn remove(&mut self, key: TimerKey) {
        self.pending.remove(&key);
    }

    /// The earliest deadline, if any timer is pending.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.pending.keys().next().map(|key| key.deadline)
    }

    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Removes every timer due at `now`, in firing order, handing each
    /// one's waiter to `fire`.
    pub(crate) fn fire_due(&mut self, now: Instant, mut fire: impl FnMut(Waiter)) {
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().deadline > now {
                break;
            }
            fire(entry.remove());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU64;
    use std::time::Duration;

    use super::*;
    use crate::error::CoroutineId;

    fn waiter(task: u32) -> Waiter {
        Waiter {
            task: CoroutineId {
                index: task,
                generation: 0,
            },
            seq: NonZeroU64::MIN,
        }
    }

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn timers_fire_by_deadline_then_creation() {
        let mut timers = Timers::default();
        timers.add(at(20), waiter(0));
        timers.add(at(10), waiter(1));
        timers.add(at(20), waiter(2));
        timers.add(at(10), waiter(3));
        timers.add(at(30), waiter(4));
        assert_eq!(timers.next_deadline(), Some(at(10)));
        let mut fired = Vec::new();
        timers.fire_due(at(20), |w| fired.push(w.task.index));
        assert_eq!(fired, [1, 3, 0, 2]);
        assert_eq!(timers.len(), 1);
        assert_eq!(timers.next_deadline(), Some(at(30)));
    }

    #[test]
    fn a_removed_timer_never_fires() {
        let mut timers = Timers::default();
        let early = timers.add(at(5), waiter(0));
        timers.add(at(5), waiter(1));
        timers.remove(early);
        timers.remove(early); // removing twice is harmless
        let mut fired = Vec::new();
        timers.fire_due(at(100), |w| fired.push(w.task.index));
        assert_eq!(fired, [1]);
        assert!(timers.is_empty());
        assert_eq!(timers.next_deadline(), None);
    }
}
