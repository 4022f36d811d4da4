//! Pending timers, in firing order: by deadline, then by creation.
//!
//! A binary min-heap of `(deadline, creation number, slot)` entries, and a
//! table of slots holding each live timer's waiter. Adding is a push;
//! removing frees the slot at once and leaves the heap entry behind, to be
//! skipped when it reaches the top (its creation number no longer matches
//! its slot's). So both are cheap, comparisons are of plain integers, and
//! nothing is allocated per timer once the vectors have grown. When stale
//! entries outnumber live ones the heap is rebuilt without them, so memory
//! stays proportional to the live timers.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::tasks::Waiter;
use crate::driver::clock::Instant;

/// Identifies a pending timer, for removing it: its slot and its creation
/// number, which no other timer ever has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    slot: u32,
    seq: u64,
}

/// A heap entry: ordered by deadline, then creation, through one integer
/// (the deadline in nanoseconds, saturated, above the creation number), so
/// that the heap compares one word pair per step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    order: u128,
    slot: u32,
}

impl Entry {
    fn new(deadline: Instant, seq: u64, slot: u32) -> Entry {
        // Deadlines past about 584 years saturate: they keep their creation
        // order among themselves, and fire at their real deadline.
        let nanos = u64::try_from(deadline.since_start().as_nanos()).unwrap_or(u64::MAX);
        Entry {
            order: (u128::from(nanos) << 64) | u128::from(seq),
            slot,
        }
    }

    fn seq(&self) -> u64 {
        self.order as u64
    }
}

/// A live timer.
#[derive(Clone, Copy, Debug)]
struct Live {
    seq: u64,
    deadline: Instant,
    waiter: Waiter,
    /// A scope's timer: it wakes whatever wait the task is in, not only
    /// the wait of `waiter` (see [`Timers::add_for_task`]).
    any_wait: bool,
}

/// The timers of one driver. Each wakes one wait when it fires.
#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<Entry>>,
    /// Each live timer, by slot; `None` for a free slot.
    slots: Vec<Option<Live>>,
    free: Vec<u32>,
    live: usize,
    next_seq: u64,
}

impl Timers {
    /// Adds a timer for `waiter` at `deadline`. Timers with the same
    /// deadline fire in the order they were added.
    pub(crate) fn add(&mut self, deadline: Instant, waiter: Waiter) -> TimerKey {
        self.insert(deadline, waiter, false)
    }

    /// Adds a timer that wakes the task of `waiter` at `deadline` in
    /// whatever wait it is in then (the deadline of a cancel scope, which
    /// covers every wait inside it). Ordered with the other timers.
    pub(crate) fn add_for_task(&mut self, deadline: Instant, waiter: Waiter) -> TimerKey {
        self.insert(deadline, waiter, true)
    }

    fn insert(&mut self, deadline: Instant, waiter: Waiter, any_wait: bool) -> TimerKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let live = Some(Live {
            seq,
            deadline,
            waiter,
            any_wait,
        });
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = live;
                slot
            }
            None => {
                let slot = u32::try_from(self.slots.len()).expect("fewer than 2^32 timers");
                self.slots.push(live);
                slot
            }
        };
        self.heap.push(Reverse(Entry::new(deadline, seq, slot)));
        self.live += 1;
        TimerKey { slot, seq }
    }

    /// Removes a timer that has not fired (a fired one is already gone).
    pub(crate) fn remove(&mut self, key: TimerKey) {
        let slot = &mut self.slots[key.slot as usize];
        if matches!(slot, Some(live) if live.seq == key.seq) {
            *slot = None;
            self.free.push(key.slot);
            self.live -= 1;
            if self.heap.len() > 2 * self.live + 64 {
                self.compact();
            }
        }
    }

    /// Whether the heap entry belongs to a live timer.
    fn is_live(&self, entry: &Entry) -> bool {
        matches!(self.slots[entry.slot as usize], Some(live) if live.seq == entry.seq())
    }

    /// Drops the entries of removed timers from the heap.
    #[cold]
    fn compact(&mut self) {
        let slots = &self.slots;
        self.heap.retain(|Reverse(entry)| {
            matches!(slots[entry.slot as usize], Some(live) if live.seq == entry.seq())
        });
    }

    /// Pops the entries of removed timers off the top of the heap.
    fn skip_removed(&mut self) {
        while let Some(Reverse(top)) = self.heap.peek() {
            if self.is_live(top) {
                return;
            }
            self.heap.pop();
        }
    }

    /// The earliest deadline of a live timer, if any.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        self.skip_removed();
        let Reverse(top) = self.heap.peek()?;
        self.slots[top.slot as usize].map(|live| live.deadline)
    }

    /// How many timers are pending.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Removes every timer due at `now`, in firing order, handing each
    /// one's waiter to `fire`, with whether it wakes any wait of its task
    /// (see [`add_for_task`](Timers::add_for_task)).
    pub(crate) fn fire_due(&mut self, now: Instant, mut fire: impl FnMut(Waiter, bool)) {
        loop {
            self.skip_removed();
            let Some(&Reverse(top)) = self.heap.peek() else {
                return;
            };
            let slot = &mut self.slots[top.slot as usize];
            let Some(live) = *slot else {
                unreachable!("the top entry is live")
            };
            if live.deadline > now {
                return;
            }
            self.heap.pop();
            *slot = None;
            self.free.push(top.slot);
            self.live -= 1;
            fire(live.waiter, live.any_wait);
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
        timers.fire_due(at(20), |w, _| fired.push(w.task.index));
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
        timers.fire_due(at(100), |w, _| fired.push(w.task.index));
        assert_eq!(fired, [1]);
        assert!(timers.is_empty());
        assert_eq!(timers.next_deadline(), None);
    }

    #[test]
    fn a_removed_timer_does_not_make_the_next_deadline_early() {
        let mut timers = Timers::default();
        let early = timers.add(at(5), waiter(0));
        timers.add(at(10), waiter(1));
        timers.remove(early);
        assert_eq!(timers.next_deadline(), Some(at(10)));
        assert_eq!(timers.len(), 1);
    }

    #[test]
    fn a_key_removes_only_its_own_timer_even_after_its_slot_is_reused() {
        let mut timers = Timers::default();
        let first = timers.add(at(5), waiter(0));
        let mut fired = Vec::new();
        timers.fire_due(at(5), |w, _| fired.push(w.task.index));
        // The first timer fired; its slot now holds another timer.
        let second = timers.add(at(7), waiter(1));
        assert_ne!(first, second);
        timers.remove(first); // stale: changes nothing
        timers.fire_due(at(7), |w, _| fired.push(w.task.index));
        assert_eq!(fired, [0, 1]);
    }

    #[test]
    fn memory_stays_proportional_to_the_live_timers() {
        let mut timers = Timers::default();
        timers.add(at(1), waiter(9)); // one live timer throughout
        for round in 0..10_000u64 {
            // A timeout set and cancelled, as a receive with a timeout that
            // a message beats does.
            let key = timers.add(at(1_000_000 + round), waiter(0));
            timers.remove(key);
        }
        assert_eq!(timers.len(), 1);
        assert!(timers.heap.len() <= 2 * timers.len() + 64 + 1);
        assert!(timers.slots.len() <= 2);
    }

    #[test]
    fn many_timers_fire_in_order_whatever_the_order_they_were_added_in() {
        let mut timers = Timers::default();
        let mut keys = Vec::new();
        // Deadlines in a scrambled order, with repeats, and some removed.
        for i in 0..500u32 {
            let deadline = at(u64::from(i * 7919 % 101));
            keys.push((deadline, i, timers.add(deadline, waiter(i))));
        }
        for (_, i, key) in &keys {
            if i % 3 == 0 {
                timers.remove(*key);
            }
        }
        let mut fired = Vec::new();
        timers.fire_due(at(1000), |w, _| fired.push(w.task.index));
        let mut expected: Vec<(Instant, u32)> = keys
            .iter()
            .filter(|(_, i, _)| i % 3 != 0)
            .map(|(d, i, _)| (*d, *i))
            .collect();
        expected.sort();
        let expected: Vec<u32> = expected.into_iter().map(|(_, i)| i).collect();
        assert_eq!(fired, expected);
        assert!(timers.is_empty());
    }
}
