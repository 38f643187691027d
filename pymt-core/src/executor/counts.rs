//! The counts a pool keeps without its lock, laid out for the hot path.
//!
//! The queued count is a difference of two counts, each written by one
//! side only, so a submission and a start never write the same cache line:
//!
//! - `pushed` (on its own line): entries admitted, written by submitters;
//! - `load` (on its own line): entries that left the queue (`popped`, high
//!   half) and bodies running (`active`, low half), written by workers and
//!   cancellers. Taking an entry off the queue to run it is one
//!   read-modify-write of this word.
//!
//! An entry is counted in `pushed` before anyone can pop it, so `popped`
//! never passes `pushed`. A reader reads `load` first and `pushed` last:
//! `pushed` only grows, so the difference never undercounts what was queued
//! when `load` was read (it may count a push made between the two reads),
//! and an entry that starts between the reads is counted as queued, never
//! in neither. A reader that finds nothing queued and nothing active saw
//! the pool settled at the instant it read `pushed` (nothing was popped
//! after its read of `load`, or `popped` would be short of `pushed`, and
//! `active` grows only with `popped`).

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

/// One popped entry, in the `load` word.
const ONE_POPPED: u64 = 1 << 32;
const ACTIVE_BITS: u64 = ONE_POPPED - 1;

/// Queued and active counts as of one read (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Occupancy {
    /// Live queued entries, lane and ranked (stale task entries excluded).
    pub(crate) queued: usize,
    /// Bodies running now, inline runs included.
    pub(crate) active: usize,
}

/// The `load` word as a worker's read-modify-write left it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Taken(u64);

impl Taken {
    fn popped(self) -> u32 {
        (self.0 >> 32) as u32
    }

    pub(crate) fn active(self) -> usize {
        (self.0 & ACTIVE_BITS) as usize
    }
}

/// Entries admitted (`pushed`), written by submitters only. Counts wrap
/// (only the low 32 bits are compared with `popped`): at most 2^32 - 1
/// entries are queued at once, far beyond what memory allows.
#[derive(Default)]
pub(crate) struct Pushed(AtomicU64);

impl Pushed {
    /// An entry was admitted (before it is pushed).
    pub(crate) fn queued(&self) {
        self.0.fetch_add(1, SeqCst);
    }

    /// Queued entries: `pushed`, read now, less the `popped` of `taken`.
    fn queued_since(&self, taken: Taken) -> usize {
        (self.0.load(SeqCst) as u32).wrapping_sub(taken.popped()) as usize
    }
}

/// Popped (high half, wrapping) and active (low half) counts.
#[derive(Default)]
pub(crate) struct Load(AtomicU64);

impl Load {
    fn get(&self) -> Taken {
        Taken(self.0.load(SeqCst))
    }

    /// A queued entry starts running; returns the word after.
    pub(crate) fn started(&self) -> Taken {
        let delta = ONE_POPPED + 1;
        Taken(self.0.fetch_add(delta, SeqCst).wrapping_add(delta))
    }

    /// A queued entry left the queue without a new active count: it was
    /// cancelled or rejected, or a worker's streak passes its active count
    /// on to it. Returns the word after.
    pub(crate) fn unqueued(&self) -> Taken {
        Taken(
            self.0
                .fetch_add(ONE_POPPED, SeqCst)
                .wrapping_add(ONE_POPPED),
        )
    }

    /// A body ended; returns the word after.
    pub(crate) fn finished(&self) -> Taken {
        Taken(self.0.fetch_sub(1, SeqCst) - 1)
    }
}

/// Counts read and written without the lock (see the `executor` module docs).
#[derive(Default)]
pub(crate) struct Counts {
    /// Written by submitters.
    pub(crate) pushed: Padded<Pushed>,
    /// Written by workers (and cancellers).
    pub(crate) load: Padded<Load>,
    /// Workers blocked (or about to block) on the lane.
    pub(crate) idle: Padded<AtomicUsize>,
    /// Wake tokens pushed into the lane and not yet taken by a worker.
    pub(crate) tokens: Padded<AtomicUsize>,
    pub(crate) cold: Padded<Cold>,
}

impl Counts {
    /// Queued and active counts, as they were at one instant: `pushed` is
    /// read between two reads of `load` that agree. The `load` word never
    /// comes back to an earlier value (`popped` only grows, and `active`
    /// only grows with it), so agreeing reads mean it did not change while
    /// `pushed` was read. Under a stream of pops the reads may keep
    /// disagreeing: after a few tries the last one is used, which can count
    /// too many queued entries (an entry popped meanwhile), never too few.
    pub(crate) fn occupancy(&self) -> Occupancy {
        const TRIES: usize = 8;
        let mut taken = self.load.get();
        for _ in 0..TRIES {
            let pushed = self.pushed.0 .0.load(SeqCst);
            let again = self.load.get();
            if again == taken {
                return Occupancy {
                    queued: (pushed as u32).wrapping_sub(taken.popped()) as usize,
                    active: taken.active(),
                };
            }
            taken = again;
        }
        Occupancy {
            queued: self.pushed.queued_since(taken),
            active: taken.active(),
        }
    }

    /// Queued entries, from a worker's `load` word and `pushed` read now.
    pub(crate) fn queued_since(&self, taken: Taken) -> usize {
        self.pushed.queued_since(taken)
    }
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
    fn pushed_less_popped_is_queued() {
        let counts = Counts::default();
        counts.pushed.queued();
        counts.pushed.queued();
        assert_eq!(
            counts.occupancy(),
            Occupancy {
                queued: 2,
                active: 0
            }
        );
        let after = counts.load.started();
        assert_eq!((counts.queued_since(after), after.active()), (1, 1));
        let after = counts.load.unqueued();
        assert_eq!((counts.queued_since(after), after.active()), (0, 1));
        let after = counts.load.finished();
        assert_eq!((counts.queued_since(after), after.active()), (0, 0));
        assert_eq!(
            counts.occupancy(),
            Occupancy {
                queued: 0,
                active: 0
            }
        );
    }

    #[test]
    fn counts_wrap_without_crossing_halves() {
        let counts = Counts::default();
        counts.pushed.0 .0.store(u64::from(u32::MAX), SeqCst);
        counts
            .load
            .0
             .0
            .store(u64::from(u32::MAX - 1) << 32, SeqCst);
        assert_eq!(counts.occupancy().queued, 1);
        counts.pushed.queued();
        assert_eq!(counts.occupancy().queued, 2);
        let after = counts.load.started();
        assert_eq!((counts.queued_since(after), after.active()), (1, 1));
        let after = counts.load.started();
        assert_eq!((counts.queued_since(after), after.active()), (0, 2));
    }

    /// A pool whose counts sit just below the 32-bit wrap of `popped`
    /// (after 5 * 2^32 admissions, as a long-running pool's would) runs
    /// through it: a few thousand jobs and tasks from several threads,
    /// cancels, waits and a bounded queue; every wait returns, nothing
    /// counts negative or huge, and the stats are exact after each wait.
    #[test]
    fn a_pool_runs_through_the_wrap() {
        use crate::executor::config::{Compensation, Config, ThreadNaming};
        use crate::executor::Executor;
        use crate::pool::Pool;
        use std::sync::atomic::AtomicUsize;
        use std::sync::Arc;
        use std::time::Duration;

        const LONG: Duration = Duration::from_secs(10);
        for (round, capacity) in [None, Some(3), None, Some(1)].into_iter().enumerate() {
            let executor = Executor::new(Config {
                name: format!("wrap-{round}"),
                min_workers: 0,
                max_workers: 1 + round % 3,
                idle_timeout: Some(Duration::from_micros(200)),
                stack_size: None,
                queue_capacity: capacity,
                thread_naming: ThreadNaming::Numbered,
                compensation: Compensation::Allowed,
            });
            // No worker yet (min 0): nobody reads the counts meanwhile.
            let low = u64::from(u32::MAX) - 700;
            executor.counts.pushed.0 .0.store((5 << 32) + low, SeqCst);
            executor.counts.load.0 .0.store(low << 32, SeqCst);
            let pool = Pool::start(Arc::clone(&executor));
            assert_eq!(
                executor.occupancy(),
                Occupancy {
                    queued: 0,
                    active: 0
                }
            );
            let ran = Arc::new(AtomicUsize::new(0));
            let threads: Vec<_> = (0..3)
                .map(|t| {
                    let (pool, ran) = (pool.clone(), Arc::clone(&ran));
                    std::thread::spawn(move || {
                        let mut cancelled = 0;
                        for i in 0..500 {
                            let r = Arc::clone(&ran);
                            let body = move || {
                                r.fetch_add(1, SeqCst);
                            };
                            if (i + t) % 3 == 0 {
                                pool.execute(body).unwrap();
                            } else {
                                let task = pool.submit_with_priority(i % 3 - 1, body);
                                if i % 7 == 0 && task.cancel() {
                                    cancelled += 1;
                                }
                            }
                            let s = pool.stats();
                            assert!(s.queued <= 1500 && s.active <= 3, "{s:?}");
                            if i % 100 == 0 {
                                assert!(pool.wait_completion(LONG));
                            }
                        }
                        cancelled
                    })
                })
                .collect();
            let cancelled: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
            assert!(pool.wait_completion(LONG));
            let s = pool.stats();
            assert_eq!(
                (s.queued, s.active, s.completed, s.cancelled),
                (0, 0, 1500 - cancelled, cancelled),
                "{s:?}"
            );
            assert_eq!(ran.load(SeqCst), 1500 - cancelled);
            // Past the wrap: popped's half went round, active is untouched.
            let word = executor.counts.load.get();
            assert!(word.popped() < 1000 && word.active() == 0, "{word:?}");
            assert!(pool.join(LONG));
            assert_eq!(
                executor.occupancy(),
                Occupancy {
                    queued: 0,
                    active: 0
                }
            );
        }
    }

    #[test]
    fn padded_counts_do_not_share_lines() {
        assert!(std::mem::align_of::<Padded<Load>>() >= 128);
        let counts = Counts::default();
        let pushed = &counts.pushed as *const _ as usize;
        let load = &counts.load as *const _ as usize;
        let idle = &counts.idle as *const _ as usize;
        assert!(load.abs_diff(idle) >= 128);
        assert!(load.abs_diff(pushed) >= 128);
        assert!(pushed.abs_diff(idle) >= 128);
    }
}
