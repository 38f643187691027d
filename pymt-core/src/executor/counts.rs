//! The counts a pool keeps without its lock, laid out for the hot path.
//!
//! Queued and active entries live in one 64-bit word, so taking an entry
//! off the queue to run it is a single read-modify-write and a waiter reads
//! both at once (never a task counted in neither). The word sits on a
//! cache line of its own, apart from the idle count that workers write
//! and from the rarely written flags that every submission reads.

use std::ops::Deref;
use std::sync::atomic::Ordering::SeqCst;

use crate::sync::{AtomicBool, AtomicU64, AtomicUsize};

/// Keeps `T` on its own cache line (two, for adjacent-line prefetchers),
/// as crossbeam's `CachePadded` does.
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(T);

impl<T> Padded<T> {
    pub(crate) const fn new(value: T) -> Self {
        Padded(value)
    }
}

impl<T> Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// One queued entry, in the packed word.
const ONE_QUEUED: u64 = 1 << 32;
const ACTIVE_BITS: u64 = ONE_QUEUED - 1;

/// Queued and active counts read at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Occupancy {
    /// Live queued entries, lane and ranked (stale task entries excluded).
    pub(crate) queued: usize,
    /// Bodies running now, inline runs included.
    pub(crate) active: usize,
}

impl Occupancy {
    fn of(word: u64) -> Occupancy {
        Occupancy {
            queued: (word >> 32) as usize,
            active: (word & ACTIVE_BITS) as usize,
        }
    }
}

/// Queued (high half) and active (low half) counts. Each half holds up to
/// 2^32 - 1, far beyond what memory allows to be queued or threads to run.
#[derive(Default)]
pub(crate) struct Load(AtomicU64);

impl Load {
    pub(crate) fn get(&self) -> Occupancy {
        Occupancy::of(self.0.load(SeqCst))
    }

    /// An entry was queued.
    pub(crate) fn queued(&self) {
        self.0.fetch_add(ONE_QUEUED, SeqCst);
    }

    /// A queued entry starts running; returns the levels after.
    pub(crate) fn started(&self) -> Occupancy {
        // Adds one active and removes one queued in one step (wrapping:
        // the queued half is at least one, so no borrow crosses halves).
        let delta = 1u64.wrapping_sub(ONE_QUEUED);
        Occupancy::of(self.0.fetch_add(delta, SeqCst).wrapping_add(delta))
    }

    /// A queued entry left without running (cancelled, rejected); returns
    /// the levels after.
    pub(crate) fn unqueued(&self) -> Occupancy {
        Occupancy::of(self.0.fetch_sub(ONE_QUEUED, SeqCst) - ONE_QUEUED)
    }

    /// A body ended; returns the levels after.
    pub(crate) fn finished(&self) -> Occupancy {
        Occupancy::of(self.0.fetch_sub(1, SeqCst) - 1)
    }
}

/// Counts read and written without the lock (see the `executor` module docs).
#[derive(Default)]
pub(crate) struct Counts {
    pub(crate) load: Padded<Load>,
    /// Workers blocked (or about to block) on the lane.
    pub(crate) idle: Padded<AtomicUsize>,
    /// Wake tokens pushed into the lane and not yet taken by a worker.
    pub(crate) tokens: Padded<AtomicUsize>,
    pub(crate) cold: Padded<Cold>,
}

/// Written rarely (waits, lifecycle and resizes), read on
/// every submission or pop: kept off the lines written per entry.
#[derive(Default)]
pub(crate) struct Cold {
    /// Threads waiting on `space_cv` / `state_cv`.
    pub(crate) space_sleepers: AtomicUsize,
    pub(crate) state_sleepers: AtomicUsize,
    /// Mirrors of locked state for the fast paths, written under the lock:
    /// `draining > 0`, `workers < max_workers`, `workers > max_workers`,
    /// `workers > min_workers`.
    pub(crate) draining: AtomicBool,
    pub(crate) can_grow: AtomicBool,
    pub(crate) excess: AtomicBool,
    pub(crate) reapable: AtomicBool,
    /// Set when the pool stops accepting work.
    pub(crate) closed: AtomicBool,
    /// Set on `shutdown`: workers cancel what they pop instead of running it.
    pub(crate) cancelling: AtomicBool,
    /// Set on `shutdown`: every running body sees `stop_requested()`.
    pub(crate) stop_all: AtomicBool,
}

#[cfg(all(test, not(loom)))]
mod test {
    use super::*;

    #[test]
    fn packed_halves_move_together() {
        let load = Load::default();
        load.queued();
        load.queued();
        assert_eq!(
            load.get(),
            Occupancy {
                queued: 2,
                active: 0
            }
        );
        assert_eq!(
            load.started(),
            Occupancy {
                queued: 1,
                active: 1
            }
        );
        assert_eq!(
            load.unqueued(),
            Occupancy {
                queued: 0,
                active: 1
            }
        );
        assert_eq!(
            load.finished(),
            Occupancy {
                queued: 0,
                active: 0
            }
        );
    }

    #[test]
    fn padded_counts_do_not_share_lines() {
        assert!(std::mem::align_of::<Padded<Load>>() >= 128);
        let counts = Counts::default();
        let load = &counts.load as *const _ as usize;
        let idle = &counts.idle as *const _ as usize;
        assert!(load.abs_diff(idle) >= 128);
    }
}
