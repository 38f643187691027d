//! The counts a pool keeps without its lock, laid out for the hot path.
//!
//! The queued count is a difference of counts, each written by one side
//! only, so a submission and a start never write the same cache line, and
//! two workers starting entries at the same moment do not either:
//!
//! - `pushed` (on its own line): entries admitted, written by submitters;
//! - the `load` words, one per **stripe**, each on its own line: entries
//!   that left the queue (`popped`, high half) and bodies running
//!   (`active`, low half). Stripe 0 is shared: cancellers, inline runs,
//!   shutdowns and workers beyond the other stripes write it with atomic
//!   read-modify-writes. Each other stripe belongs to one worker at a time.
//!
//! A worker that owns its stripe, in a pool whose queue is unbounded, counts
//! an entry it takes with a plain (release) store: no locked instruction,
//! so no wait for its earlier stores to drain, on the path every entry
//! takes. That is the one store on that path that is not SeqCst, and no
//! handshake needs it to be: taking an entry never makes a wait's
//! condition true (the entry, or the streak it continues, counts as active
//! until a `finished`, which is SeqCst), and the only waits on the queued
//! count alone are a bounded queue's submitters, whose pools count every
//! entry SeqCst. With a single shared word, taking an entry cost two busy
//! workers a locked instruction and a cache line passed back and forth
//! between them each time (issue 11).
//!
//! The totals are sums over the stripes. An entry is counted in `pushed`
//! before anyone can pop it, so `popped` never passes `pushed`. A stripe's
//! word never comes back to an earlier value (`popped` only grows, and
//! `active` only grows with it), and a body starts and ends on the same
//! stripe, so no stripe's `active` is ever negative. A reader reads every
//! stripe, then `pushed`, then every stripe again: if both reads agree,
//! nothing was popped, started or finished while `pushed` was read, and the
//! counts are those of that instant (see [`Counts::occupancy`]).

use std::ops::Deref;
use std::sync::atomic::Ordering::{Relaxed, Release, SeqCst};

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

/// One stripe's `load` word, as read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Taken(u64);

impl Taken {
    fn popped(self) -> u32 {
        (self.0 >> 32) as u32
    }

    fn active(self) -> usize {
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

    fn get(&self) -> u64 {
        self.0.load(SeqCst)
    }
}

/// One stripe's popped (high half, wrapping) and active (low half) counts.
#[derive(Default)]
pub(crate) struct Load(AtomicU64);

impl Load {
    fn get(&self) -> Taken {
        Taken(self.0.load(SeqCst))
    }

    fn add(&self, delta: u64, stripe: Stripe) {
        if stripe.sole_writer {
            // Nobody else writes this word (see the module docs).
            let word = self.0.load(Relaxed);
            self.0.store(word.wrapping_add(delta), Release);
        } else {
            self.0.fetch_add(delta, SeqCst);
        }
    }

    fn finished(&self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

/// Which `load` word a thread writes, and how (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stripe {
    index: usize,
    /// Counts taken entries with plain stores: the one writer of its word,
    /// in a pool with an unbounded queue.
    sole_writer: bool,
}

impl Stripe {
    /// The stripe of every thread that does not own one.
    pub(crate) const SHARED: Stripe = Stripe {
        index: 0,
        sole_writer: false,
    };

    /// True if its owner counts taken entries with plain stores.
    pub(crate) fn counts_plainly(self) -> bool {
        self.sole_writer
    }

    /// The index among the owned stripes (from 0), if this is one.
    pub(crate) fn owned(self) -> Option<usize> {
        self.index.checked_sub(1)
    }
}

/// The popped and active counts summed over the stripes, as of one pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Loads {
    popped: u32,
    active: usize,
}

/// Counts read and written without the lock (see the `executor` module docs).
pub(crate) struct Counts {
    /// Written by submitters.
    pub(crate) pushed: Padded<Pushed>,
    /// Stripe 0 shared, the others owned by one worker each.
    loads: Box<[Padded<Load>]>,
    /// Workers between finding nothing to run and taking their next entry:
    /// looking once more, spinning, or blocked on the lane.
    pub(crate) idle: Padded<AtomicUsize>,
    /// Idle workers past their spin: blocked (or about to block) on the
    /// lane, so only a wake token or a lane entry reaches them. Ranked
    /// pushes send tokens for these alone (see `Executor::wake_one_for_entry`).
    pub(crate) asleep: Padded<AtomicUsize>,
    /// Wake tokens pushed into the lane and not yet taken by a worker.
    pub(crate) tokens: Padded<AtomicUsize>,
    pub(crate) cold: Padded<Cold>,
}

impl Counts {
    /// Counts with `owned` stripes for workers to own (at least one),
    /// besides the shared one.
    pub(crate) fn new(owned: usize) -> Self {
        Counts {
            pushed: Padded::default(),
            loads: (0..=owned.max(1)).map(|_| Padded::default()).collect(),
            idle: Padded::default(),
            asleep: Padded::default(),
            tokens: Padded::default(),
            cold: Padded::default(),
        }
    }

    /// How many stripes workers can own.
    pub(crate) fn owned_stripes(&self) -> usize {
        self.loads.len() - 1
    }

    /// The `n`-th owned stripe (from 0, below `owned_stripes`); its owner
    /// may write it with plain stores if `sole_writer`.
    pub(crate) fn owned_stripe(&self, n: usize, sole_writer: bool) -> Stripe {
        debug_assert!(n < self.owned_stripes());
        Stripe {
            index: n + 1,
            sole_writer,
        }
    }

    /// A queued entry starts running, counted on `stripe`.
    pub(crate) fn started(&self, stripe: Stripe) {
        self.loads[stripe.index].add(ONE_POPPED + 1, stripe);
    }

    /// A queued entry left the queue without a new active count: it was
    /// cancelled or rejected, or a worker's streak passes its active count
    /// on to it.
    pub(crate) fn unqueued(&self, stripe: Stripe) {
        self.loads[stripe.index].add(ONE_POPPED, stripe);
    }

    /// A body counted on `stripe` ended: always SeqCst, since this is what
    /// can make a wait's condition true.
    pub(crate) fn finished(&self, stripe: Stripe) {
        self.loads[stripe.index].finished();
    }

    /// One pass over the stripes. Popped counts only grow, so two passes
    /// with equal `popped` sums saw every stripe's `popped` unchanged;
    /// `active` then only fell, so equal `active` sums too mean that no
    /// word changed between the two reads of it.
    fn sum_loads(&self) -> Loads {
        self.loads.iter().fold(
            Loads {
                popped: 0,
                active: 0,
            },
            |sum, load| {
                let word = load.get();
                Loads {
                    popped: sum.popped.wrapping_add(word.popped()),
                    active: sum.active + word.active(),
                }
            },
        )
    }

    /// Queued and active counts, as they were at one instant: `pushed` is
    /// read between two passes over the stripes that agree, so no stripe
    /// changed while `pushed` was read. Under a stream of pops the passes
    /// may keep disagreeing: after a few tries the last pass is used with
    /// a `pushed` read after it, which can count too many queued entries
    /// (one popped meanwhile is still queued in it), never too few, and
    /// shows a settled pool only if it was settled when `pushed` was read
    /// (nothing was popped after the pass, or the `popped` sum would fall
    /// short of `pushed`, and `active` grows only with `popped`).
    pub(crate) fn occupancy(&self) -> Occupancy {
        const TRIES: usize = 8;
        let of = |pushed: u64, loads: Loads| Occupancy {
            queued: (pushed as u32).wrapping_sub(loads.popped) as usize,
            active: loads.active,
        };
        let mut loads = self.sum_loads();
        for _ in 0..TRIES {
            let pushed = self.pushed.get();
            let again = self.sum_loads();
            if again == loads {
                return of(pushed, loads);
            }
            loads = again;
        }
        of(self.pushed.get(), loads)
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

    fn occupancy(queued: usize, active: usize) -> Occupancy {
        Occupancy { queued, active }
    }

    #[test]
    fn pushed_less_popped_is_queued() {
        let counts = Counts::new(2);
        let (shared, w1, w2) = (
            Stripe::SHARED,
            counts.owned_stripe(0, true),
            counts.owned_stripe(1, false),
        );
        for _ in 0..3 {
            counts.pushed.queued();
        }
        assert_eq!(counts.occupancy(), occupancy(3, 0));
        counts.started(w1);
        assert_eq!(counts.occupancy(), occupancy(2, 1));
        counts.started(w2);
        assert_eq!(counts.occupancy(), occupancy(1, 2));
        counts.unqueued(w1); // w1's streak passes on
        assert_eq!(counts.occupancy(), occupancy(0, 2));
        counts.finished(w2);
        counts.finished(w1);
        assert_eq!(counts.occupancy(), occupancy(0, 0));
        counts.pushed.queued();
        counts.unqueued(shared); // cancelled
        assert_eq!(counts.occupancy(), occupancy(0, 0));
    }

    #[test]
    fn counts_wrap_without_crossing_halves() {
        let counts = Counts::new(2);
        let (w1, w2) = (counts.owned_stripe(0, true), counts.owned_stripe(1, false));
        counts.pushed.0 .0.store(u64::from(u32::MAX), SeqCst);
        // The popped sum is u32::MAX - 1, spread over two stripes.
        counts.loads[1]
            .0
             .0
            .store(u64::from(u32::MAX - 5) << 32, SeqCst);
        counts.loads[2].0 .0.store(4 << 32, SeqCst);
        assert_eq!(counts.occupancy(), occupancy(1, 0));
        counts.pushed.queued();
        assert_eq!(counts.occupancy(), occupancy(2, 0));
        counts.started(w2);
        assert_eq!(counts.occupancy(), occupancy(1, 1));
        counts.started(w1);
        assert_eq!(counts.occupancy(), occupancy(0, 2));
        counts.finished(w1);
        counts.finished(w2);
        assert_eq!(counts.occupancy(), occupancy(0, 0));
    }

    #[test]
    fn at_least_one_owned_stripe() {
        assert_eq!(Counts::new(0).owned_stripes(), 1);
        assert_eq!(Counts::new(3).owned_stripes(), 3);
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
            executor.counts.loads[0].0 .0.store(low << 32, SeqCst);
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
            let loads = executor.counts.sum_loads();
            assert!(loads.popped < 1000 && loads.active == 0, "{loads:?}");
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
        let counts = Counts::new(2);
        let at = |r: &dyn std::any::Any| r as *const _ as *const u8 as usize;
        let mut lines = vec![
            at(&*counts.pushed),
            at(&*counts.idle),
            at(&*counts.asleep),
            at(&*counts.tokens),
        ];
        lines.extend(counts.loads.iter().map(|l| at(&**l)));
        for (i, a) in lines.iter().enumerate() {
            for b in &lines[i + 1..] {
                assert!(a.abs_diff(*b) >= 128, "{lines:x?}");
            }
        }
    }
}
