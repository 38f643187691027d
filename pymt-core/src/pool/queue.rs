//! The priority queue feeding a pool's workers.
//!
//! Order contract: higher priority first; equal priorities in submission
//! order (a sequence number breaks ties, never luck). Priority 0, the
//! default, takes an O(1) FIFO lane; other priorities go through a binary
//! heap. Since the lanes never share a priority, popping compares only the
//! heap's top with 0.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use crate::task::cell::Run;

struct Ranked {
    priority: i32,
    seq: u64,
    task: Arc<dyn Run>,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority
            .cmp(&other.priority)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// Tasks waiting for a worker (including stale entries of tasks already
/// cancelled or run inline, which the pool skips when popped).
#[derive(Default)]
pub(crate) struct PriorityQueue {
    default_lane: VecDeque<Arc<dyn Run>>,
    ranked: BinaryHeap<Ranked>,
    seq: u64,
}

impl PriorityQueue {
    pub(crate) fn push(&mut self, priority: i32, task: Arc<dyn Run>) {
        if priority == 0 {
            self.default_lane.push_back(task);
        } else {
            self.seq += 1;
            self.ranked.push(Ranked {
                priority,
                seq: self.seq,
                task,
            });
        }
    }

    pub(crate) fn pop(&mut self) -> Option<Arc<dyn Run>> {
        match self.ranked.peek() {
            Some(top) if top.priority > 0 || self.default_lane.is_empty() => {
                self.ranked.pop().map(|entry| entry.task)
            }
            _ => self.default_lane.pop_front(),
        }
    }

    /// Removes every entry (for shutdown).
    pub(crate) fn take_all(&mut self) -> Vec<Arc<dyn Run>> {
        let mut all: Vec<_> = self.default_lane.drain(..).collect();
        all.extend(self.ranked.drain().map(|entry| entry.task));
        all
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::task::cell::{Cell, Header};
    use crate::task::state::QUEUED;

    fn task(priority: i32, tag: u32) -> Arc<dyn Run> {
        Cell::new(Header::new(None, priority, QUEUED, None), move || tag)
    }

    fn tag_order(queue: &mut PriorityQueue) -> Vec<i32> {
        std::iter::from_fn(|| queue.pop())
            .map(|t| t.header().priority)
            .collect()
    }

    #[test]
    fn smoke() {
        let mut q = PriorityQueue::default();
        assert!(q.pop().is_none());
        q.push(0, task(0, 1));
        assert!(q.pop().is_some());
        assert!(q.pop().is_none());
    }

    #[test]
    fn higher_priority_first_fifo_among_equals() {
        let mut q = PriorityQueue::default();
        let mut ids = Vec::new();
        for (i, p) in [0, 5, -2, 5, 0, 9, -2, 5].into_iter().enumerate() {
            let t = task(p, i as u32);
            ids.push((p, t.header().id));
            q.push(p, t);
        }
        let popped: Vec<_> = std::iter::from_fn(|| q.pop())
            .map(|t| (t.header().priority, t.header().id))
            .collect();
        let mut expected = ids.clone();
        // Stable sort by descending priority keeps submission order among equals.
        expected.sort_by_key(|entry| std::cmp::Reverse(entry.0));
        assert_eq!(popped, expected);
    }

    #[test]
    fn take_all_empties() {
        let mut q = PriorityQueue::default();
        q.push(1, task(1, 0));
        q.push(0, task(0, 0));
        assert_eq!(q.take_all().len(), 2);
        assert_eq!(tag_order(&mut q), Vec::<i32>::new());
    }
}
