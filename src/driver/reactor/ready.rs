//! The ready queue: the tasks to run, first in, first out.

use crate::error::CoroutineId;

/// A ring buffer of task ids whose length is a power of two, so that
/// pushing and popping are a few instructions.
#[derive(Default)]
pub(crate) struct ReadyQueue {
    /// Every element is initialized; those outside `head..head + len`
    /// (modulo the length) are stale.
    buf: Vec<CoroutineId>,
    head: usize,
    len: usize,
}

impl ReadyQueue {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn push_back(&mut self, id: CoroutineId) {
        if self.len == self.buf.len() {
            self.grow();
        }
        let mask = self.buf.len() - 1;
        self.buf[(self.head + self.len) & mask] = id;
        self.len += 1;
    }

    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<CoroutineId> {
        if self.len == 0 {
            return None;
        }
        let id = self.buf[self.head];
        self.head = (self.head + 1) & (self.buf.len() - 1);
        self.len -= 1;
        Some(id)
    }

    /// Reorders the first `order.len()` queued tasks: the task at position
    /// `order[i]` goes to position `i`. The rest of the queue is untouched.
    pub(crate) fn permute_front(&mut self, order: &[u32]) {
        debug_assert!(order.len() <= self.len);
        let mask = self.buf.len().wrapping_sub(1);
        let front: Vec<CoroutineId> = (0..order.len())
            .map(|k| self.buf[(self.head + k) & mask])
            .collect();
        for (i, &from) in order.iter().enumerate() {
            self.buf[(self.head + i) & mask] = front[from as usize];
        }
    }

    /// Doubles the buffer (at least 8 slots), keeping the order.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let old = self.buf.len();
        let new = (old * 2).max(8);
        let mut buf = Vec::with_capacity(new);
        buf.extend((0..self.len).map(|k| self.buf[(self.head + k) & (old.max(1) - 1)]));
        let filler = CoroutineId {
            index: u32::MAX,
            generation: 0,
        };
        buf.resize(new, filler);
        self.buf = buf;
        self.head = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(index: u32) -> CoroutineId {
        CoroutineId {
            index,
            generation: 0,
        }
    }

    #[test]
    fn first_in_first_out_across_growth_and_wrap_around() {
        let mut queue = ReadyQueue::default();
        assert_eq!(queue.pop_front(), None);
        let mut expected = std::collections::VecDeque::new();
        let mut next = 0;
        // Interleave pushes and pops so that the head wraps around the ring
        // while it grows from 8 to 64 slots.
        for round in 0..40 {
            for _ in 0..(round % 5 + 1) {
                queue.push_back(id(next));
                expected.push_back(id(next));
                next += 1;
            }
            for _ in 0..(round % 3) {
                assert_eq!(queue.pop_front(), expected.pop_front());
            }
            assert_eq!(queue.len(), expected.len());
        }
        while let Some(want) = expected.pop_front() {
            assert_eq!(queue.pop_front(), Some(want));
        }
        assert_eq!(queue.pop_front(), None);
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn permuting_the_front_reorders_only_the_front() {
        let mut queue = ReadyQueue::default();
        // Wrap the ring first, so that the front straddles its end.
        for i in 0..6 {
            queue.push_back(id(100 + i));
        }
        for _ in 0..6 {
            queue.pop_front();
        }
        for i in 0..5 {
            queue.push_back(id(i));
        }
        queue.permute_front(&[2, 0, 1]);
        let all: Vec<u32> = std::iter::from_fn(|| queue.pop_front())
            .map(|id| id.index)
            .collect();
        assert_eq!(all, [2, 0, 1, 3, 4]);
    }
}
