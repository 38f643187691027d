//! [`Generations`]: a value that is replaced now and then (a registered pool
//! after `join_pools`, a daemon worker after `join_daemons`) and read on
//! every call without a lock or a shared read-modify-write.
//!
//! Without `unsafe` (no `AtomicPtr`), a reader cannot be handed a value that
//! a replacement may free under it; so no generation is ever freed. Each
//! lives in a `OnceLock` of its own, generation `n` at a fixed place, and an
//! atomic count says which is the newest. A replacement takes a mutex,
//! which readers never touch. What this costs: a superseded value (a closed
//! pool, a joined worker: no threads, just their memory) is kept for the
//! process's life, one per replacement, and a slot's generation table (a
//! few hundred bytes) is allocated on its first replacement.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Generation tables hold 2^k generations in segment `k`: 2^32 - 1 in all
/// after the first (each replacement starts a pool or a worker, so this
/// many is out of reach).
const SEGMENTS: usize = 32;

/// One value at a time, replaced when stale. Staleness must be final (a
/// closed pool never reopens), so a fresh first generation is the newest.
pub(crate) struct Generations<T> {
    first: OnceLock<T>,
    later: OnceLock<Box<Later<T>>>,
}

struct Later<T> {
    /// How many generations after the first are published.
    len: AtomicUsize,
    /// Taken to publish one.
    replacing: Mutex<()>,
    /// Generation `i` after the first lives in segment `k` at `i + 1 - 2^k`,
    /// where `2^k <= i + 1 < 2^(k+1)`.
    segments: [OnceLock<Box<[OnceLock<T>]>>; SEGMENTS],
}

impl<T> Generations<T> {
    pub(crate) const fn new() -> Self {
        Generations {
            first: OnceLock::new(),
            later: OnceLock::new(),
        }
    }

    /// The newest generation, if any.
    #[inline]
    pub(crate) fn newest(&self) -> Option<&T> {
        let first = self.first.get()?;
        Some(
            self.later
                .get()
                .and_then(|later| later.newest())
                .unwrap_or(first),
        )
    }

    /// The newest generation if `fresh` says so, else a new one made by
    /// `make` (once, however many threads find it stale at once). The hot
    /// path is a few atomic loads.
    #[inline]
    pub(crate) fn get(&self, fresh: impl Fn(&T) -> bool, make: impl FnOnce() -> T) -> &T {
        if let Some(first) = self.first.get() {
            if fresh(first) {
                return first;
            }
            if let Some(newest) = self.later.get().and_then(|later| later.newest()) {
                if fresh(newest) {
                    return newest;
                }
            }
        }
        self.replace(fresh, make)
    }

    #[cold]
    fn replace(&self, fresh: impl Fn(&T) -> bool, make: impl FnOnce() -> T) -> &T {
        let mut make = Some(make);
        let first = self.first.get_or_init(|| match make.take() {
            Some(make) => make(),
            None => unreachable!("`make` is taken once"),
        });
        let Some(make) = make else {
            return first; // made here: it is the newest
        };
        if self.later.get().is_none() && fresh(first) {
            return first; // made by another thread meanwhile
        }
        let later = self.later.get_or_init(|| Box::new(Later::new()));
        let _replacing = later
            .replacing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let newest = later.newest().unwrap_or(first);
        if fresh(newest) {
            return newest; // replaced meanwhile
        }
        let index = later.len.load(Ordering::Relaxed);
        let value = later.place(index).get_or_init(make);
        later.len.store(index + 1, Ordering::Release);
        value
    }
}

impl<T> Later<T> {
    fn new() -> Self {
        Later {
            len: AtomicUsize::new(0),
            replacing: Mutex::new(()),
            segments: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    fn newest(&self) -> Option<&T> {
        let len = self.len.load(Ordering::Acquire);
        let index = len.checked_sub(1)?;
        let (segment, offset) = Self::locate(index);
        self.segments[segment].get()?[offset].get()
    }

    /// Where generation `index` (after the first) lives, its segment made
    /// if needed. Called under `replacing`.
    fn place(&self, index: usize) -> &OnceLock<T> {
        let (segment, offset) = Self::locate(index);
        assert!(segment < SEGMENTS, "pymt: more than 2^32 replacements");
        let places = self.segments[segment]
            .get_or_init(|| (0..1_usize << segment).map(|_| OnceLock::new()).collect());
        &places[offset]
    }

    fn locate(index: usize) -> (usize, usize) {
        let n = index + 1;
        let segment = (usize::BITS - 1 - n.leading_zeros()) as usize;
        (segment, n - (1 << segment))
    }
}

#[cfg(all(test, not(loom)))]
mod test {
    use super::*;

    #[test]
    fn places_cover_every_index_once() {
        let mut seen = std::collections::HashSet::new();
        for index in 0..1000 {
            let (segment, offset) = Later::<()>::locate(index);
            assert!(offset < 1 << segment);
            assert!(seen.insert((segment, offset)));
        }
    }

    #[test]
    fn a_stale_value_is_replaced_and_the_newest_kept() {
        let values = Generations::new();
        assert!(values.newest().is_none());
        for n in 0..100_u32 {
            // Every value below `n` is stale.
            assert_eq!(*values.get(|v| *v >= n, || n), n);
            assert_eq!(*values.get(|v| *v >= n, || unreachable!()), n);
            assert_eq!(values.newest(), Some(&n));
        }
    }
}
