//! The locked part of a pool's queue: entries of outlying priorities,
//! outside the lock-free levels of `levels.rs`.
//!
//! Order contract: higher priority first; equal priorities in submission
//! order (one FIFO per priority). Priority 0, the default, never comes
//! here: it takes the queue's main lane (`lane.rs`); workers take positive
//! priorities before that lane and negative ones after it.

use std::collections::{BTreeMap, VecDeque};

use super::entry::Entry;

/// Entries of non-zero priority waiting for a worker (including stale
/// tasks already cancelled or run inline, which the pool skips).
///
/// One FIFO per priority in an ordered map: a push or pop costs a walk of
/// the few distinct priorities in use plus O(1), where a binary heap of
/// all entries costs O(log n) cache misses under the pool's lock.
#[derive(Default)]
pub(crate) struct Outliers {
    by_priority: BTreeMap<i32, VecDeque<Entry>>,
}

impl Outliers {
    pub(crate) fn push(&mut self, priority: i32, entry: Entry) {
        debug_assert_ne!(priority, 0, "priority 0 takes the lane");
        self.by_priority
            .entry(priority)
            .or_default()
            .push_back(entry);
    }

    /// The first entry of the highest priority, if that priority passes
    /// `accept`.
    pub(crate) fn pop_if(&mut self, accept: impl FnOnce(i32) -> bool) -> Option<(i32, Entry)> {
        let mut top = self.by_priority.last_entry()?;
        let priority = *top.key();
        if !accept(priority) {
            return None;
        }
        let entry = top.get_mut().pop_front();
        if top.get().is_empty() {
            top.remove();
        }
        entry.map(|entry| (priority, entry))
    }

    /// Removes every entry (for shutdown).
    pub(crate) fn take_all(&mut self) -> Vec<(i32, Entry)> {
        std::mem::take(&mut self.by_priority)
            .into_iter()
            .flat_map(|(priority, entries)| entries.into_iter().map(move |e| (priority, e)))
            .collect()
    }
}

#[cfg(all(test, not(loom)))]
mod test {
    use super::*;
    use crate::task::task_ref::TaskRef;

    fn task(priority: i32) -> Entry {
        Entry::Task(TaskRef::for_test(priority))
    }

    fn id_of(entry: &Entry) -> crate::TaskId {
        match entry {
            Entry::Task(task) => task.id(),
            _ => unreachable!("only tasks are pushed here"),
        }
    }

    #[test]
    fn higher_priority_first_fifo_among_equals() {
        let mut q = Outliers::default();
        let mut ids = Vec::new();
        for p in [1, 5, -2, 5, 3, 9, -2, 5] {
            let t = task(p);
            ids.push((p, id_of(&t)));
            q.push(p, t);
        }
        let popped: Vec<_> = std::iter::from_fn(|| q.pop_if(|_| true))
            .map(|(p, t)| (p, id_of(&t)))
            .collect();
        let mut expected = ids.clone();
        // Stable sort by descending priority keeps submission order among equals.
        expected.sort_by_key(|entry| std::cmp::Reverse(entry.0));
        assert_eq!(popped, expected);
    }

    #[test]
    fn pop_if_leaves_a_refused_top() {
        let mut q = Outliers::default();
        q.push(-1, task(-1));
        assert!(q.pop_if(|p| p > 0).is_none());
        assert_eq!(q.pop_if(|_| true).map(|(p, _)| p), Some(-1));
        assert!(q.pop_if(|_| true).is_none());
    }

    #[test]
    fn take_all_empties() {
        let mut q = Outliers::default();
        q.push(1, task(1));
        q.push(-4, task(-4));
        assert_eq!(q.take_all().len(), 2);
        assert!(q.pop_if(|_| true).is_none());
    }
}
