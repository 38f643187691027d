//! The executor's queue: one type that owns every lane, level, inbox and
//! outlier, with push and pop side by side.
//!
//! # Ordering contract
//!
//! Higher priority first; equal priorities in submission order. Entries
//! pushed by one thread are popped in exactly that order. Pushes that race
//! from several threads are ordered by when each claims its place (a step
//! inside the push).
//!
//! # Layout
//!
//! - `lane`: priority 0 (nearly every submission), pymt's own FIFO
//!   (`fifo.rs`, `main_lane.rs`). Idle workers block on it, and wake
//!   tokens ([`Entry::Wake`]) travel through it. A pop does not wait for a
//!   push still writing the first entry: it reports nothing (and serves no
//!   lower lane meanwhile: entries published behind that push come first).
//!   A worker about to block, and `take_all`, do wait for such pushes.
//! - `levels`: a lane per priority in -64..63 other than 0 (the same FIFO
//!   as the main lane, made on first use), with a bit per level
//!   (`levels.rs`).
//! - `inbox` and `outliers`: other priorities. They are pushed lock-free
//!   into the inbox, and whoever pops one sorts the inbox into one FIFO per
//!   priority under a small lock (`outliers.rs`).
//! - `returned`: priority-0 entries a worker took off the lane just before
//!   a higher entry showed up. They go back here, ahead of the rest of the
//!   lane, where any worker can take them, instead of waiting in one busy
//!   worker's hands. The pop that returns one says so, and its caller wakes
//!   an idle worker for it. (A wake token taken that way goes back to the
//!   lane, where blocked workers wait for it.)
//!
//! Pop order: outliers above the levels, high levels, returned, lane, low
//! levels, outliers below them.

mod entry;
mod fifo;
mod lane;
mod levels;
mod main_lane;
mod outliers;

use std::sync::atomic::Ordering::SeqCst;
use std::sync::PoisonError;
use std::time::Duration;

use self::levels::{LevelPop, Levels, Side};
use self::outliers::Outliers;
use super::counts::Padded;
use crate::sync::{self, AtomicUsize, Mutex, MutexGuard};

pub(crate) use self::entry::{Entry, Job};
use self::lane::Lane;
pub(crate) use self::lane::Unblocked;

/// The main lane: pymt's own FIFO in a normal build. Under loom the
/// engine's models use the simple stand-in (the FIFO and its parking have
/// models of their own), unless `--cfg pymt_loom_fifo` asks for the real
/// lane under the engine's models too.
#[cfg(loom)]
pub use self::main_lane::loom_export::LoomLane;
#[cfg(any(not(loom), pymt_loom_fifo))]
type MainLane = self::main_lane::MainLane<Entry>;
#[cfg(all(loom, not(pymt_loom_fifo)))]
type MainLane = Lane<Entry>;

/// What a pop found.
pub(crate) struct Popped {
    pub(crate) entry: Entry,
    /// A lane entry was put back (into `returned`) to make way for this
    /// one: an idle worker should be woken for it.
    pub(crate) put_back: bool,
}

/// How many outliers each side holds, stale ones included: lets a pop skip
/// the lock when none. Hints only: an entry can be popped just before its
/// push is counted, so a count can dip below zero (wrap) for a moment;
/// readers only ask `!= 0`.
#[derive(Default)]
struct Hints {
    high: AtomicUsize,
    low: AtomicUsize,
    /// Entries in `returned`: rare, so most pops skip that lane.
    returned: AtomicUsize,
}

impl Hints {
    fn of(&self, priority: i32) -> &AtomicUsize {
        if priority > 0 {
            &self.high
        } else {
            &self.low
        }
    }
}

pub(crate) struct Queue {
    lane: MainLane,
    returned: Lane<Entry>,
    levels: Levels,
    inbox: Lane<(i32, Entry)>,
    outliers: Mutex<Outliers>,
    hints: Padded<Hints>,
}

impl Queue {
    pub(crate) fn new() -> Self {
        Queue {
            lane: MainLane::new(),
            returned: Lane::new(),
            levels: Levels::new(),
            inbox: Lane::new(),
            outliers: Mutex::new(Outliers::default()),
            hints: Padded::default(),
        }
    }

    fn lock_outliers(&self) -> MutexGuard<'_, Outliers> {
        self.outliers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pushes `entry` at `priority`, without a lock unless it is an outlier
    /// (and then only the inbox's lock-free push).
    pub(crate) fn push(&self, priority: i32, entry: Entry) {
        if priority == 0 {
            return self.lane.push(entry);
        }
        if let Err(entry) = self.levels.push(priority, entry) {
            // Pushed, then announced: a pop that sees the hint finds it.
            self.inbox.push((priority, entry));
            self.hints.of(priority).fetch_add(1, SeqCst);
        }
    }

    /// A wake-up token for a worker blocked on the lane.
    pub(crate) fn push_wake(&self) {
        self.lane.push(Entry::Wake);
    }

    /// The next entry in priority order, without blocking.
    #[inline]
    pub(crate) fn pop(&self) -> Option<Popped> {
        let found = |entry| Popped {
            entry,
            put_back: false,
        };
        if let Some(entry) = self.pop_high() {
            return Some(found(entry));
        }
        if self.hints.returned.load(SeqCst) != 0 {
            if let Some(entry) = self.returned.try_pop() {
                self.hints.returned.fetch_sub(1, SeqCst);
                return Some(found(entry));
            }
        }
        if let Some(entry) = self.lane.try_pop() {
            return Some(self.higher_first(entry));
        }
        self.pop_low()
    }

    /// A lane entry was popped: popping synchronised with its push, so a
    /// higher entry the same submitter queued before it is visible by now,
    /// and runs first.
    #[inline]
    fn higher_first(&self, entry: Entry) -> Popped {
        let Some(first) = self.pop_high() else {
            return Popped {
                entry,
                put_back: false,
            };
        };
        if let Entry::Wake = entry {
            // A token belongs where blocked workers can get it.
            self.lane.push(entry);
            return Popped {
                entry: first,
                put_back: false,
            };
        }
        self.returned.push(entry);
        self.hints.returned.fetch_add(1, SeqCst);
        Popped {
            entry: first,
            put_back: true,
        }
    }

    /// Blocks on the lane until an entry (or a token) arrives, or `timeout`
    /// passes (`None`: no limit). Callers look at the other lanes first.
    /// As in `pop`, a higher entry queued before the lane's runs first.
    pub(crate) fn pop_wait(&self, timeout: Option<Duration>) -> Result<Popped, Unblocked> {
        // A worker woken for a ranked entry another worker then took ahead
        // of a second one would block again with the second still queued:
        // no token is on its way for it. Told so, it looks again.
        let elsewhere = || {
            self.levels.maybe_any(Side::High)
                || self.levels.maybe_any(Side::Low)
                || self.hints.high.load(SeqCst) != 0
                || self.hints.low.load(SeqCst) != 0
                || self.hints.returned.load(SeqCst) != 0
        };
        self.lane
            .pop_wait(timeout, elsewhere)
            .map(|entry| self.higher_first_cold(entry))
    }

    /// `higher_first` off the busy path: `pop` keeps the one inlined copy.
    #[inline(never)]
    fn higher_first_cold(&self, entry: Entry) -> Popped {
        self.higher_first(entry)
    }

    #[inline(always)]
    fn pop_high(&self) -> Option<Entry> {
        if self.hints.high.load(SeqCst) != 0 {
            if let Some(entry) = self.pop_outlier(|priority| priority > 0) {
                return Some(entry);
            }
        }
        if self.levels.maybe_any(Side::High) {
            return self.pop_high_levels();
        }
        None
    }

    fn pop_high_levels(&self) -> Option<Entry> {
        loop {
            match self.levels.pop(Side::High, || false) {
                LevelPop::Entry(entry) => return Some(entry),
                LevelPop::Empty => return None,
                // A higher level was marked meanwhile: take from it.
                LevelPop::GaveBack => {}
            }
        }
    }

    fn pop_low(&self) -> Option<Popped> {
        let found = |entry| Popped {
            entry,
            put_back: false,
        };
        let levels = self.levels.maybe_any(Side::Low);
        if !levels && self.hints.low.load(SeqCst) == 0 {
            return None;
        }
        if self.lane.head_being_written() {
            // Lane entries published behind that push were queued before
            // the low ones their submitters pushed next: nothing lower is
            // served meanwhile. A worker about to block waits for the push.
            return None;
        }
        if levels {
            let above = || self.levels.maybe_any(Side::High) || !self.lane.is_empty();
            match self.levels.pop(Side::Low, above) {
                LevelPop::Entry(entry) => return Some(found(entry)),
                LevelPop::GaveBack => return self.pop_above_low(),
                LevelPop::Empty => {}
            }
        }
        if self.hints.low.load(SeqCst) != 0 {
            return self.pop_outlier(|_| true).map(found);
        }
        None
    }

    /// A low entry was given back: something above the low side showed up
    /// meanwhile. Takes that (or `None` if another worker did: the caller
    /// looks again).
    #[cold]
    #[inline(never)]
    fn pop_above_low(&self) -> Option<Popped> {
        if let Some(entry) = self.pop_high_cold() {
            return Some(Popped {
                entry,
                put_back: false,
            });
        }
        self.lane
            .try_pop()
            .map(|entry| self.higher_first_cold(entry))
    }

    /// `pop_high` off the busy path.
    #[inline(never)]
    fn pop_high_cold(&self) -> Option<Entry> {
        self.pop_high()
    }

    /// Pops the top outlier if `accept` takes its priority, after sorting
    /// the inbox in.
    fn pop_outlier(&self, accept: impl FnOnce(i32) -> bool) -> Option<Entry> {
        let (priority, entry) = {
            let mut outliers = self.lock_outliers();
            self.sort_inbox(&mut outliers);
            outliers.pop_if(accept)?
        };
        self.hints.of(priority).fetch_sub(1, SeqCst);
        Some(entry)
    }

    fn sort_inbox(&self, outliers: &mut Outliers) {
        while let Some((priority, entry)) = self.inbox.try_pop() {
            outliers.push(priority, entry);
        }
    }

    /// Removes every entry (live, stale and tokens), for a shutdown or an
    /// executor whose last worker left.
    pub(crate) fn take_all(&self) -> Vec<Entry> {
        let outliers = {
            let mut outliers = self.lock_outliers();
            self.sort_inbox(&mut outliers);
            outliers.take_all()
        };
        for (priority, _) in &outliers {
            self.hints.of(*priority).fetch_sub(1, SeqCst);
        }
        sync::handshake();
        let mut all: Vec<Entry> = outliers.into_iter().map(|(_, entry)| entry).collect();
        all.extend(self.levels.take_all());
        all.extend(std::iter::from_fn(|| {
            let entry = self.returned.try_pop()?;
            self.hints.returned.fetch_sub(1, SeqCst);
            Some(entry)
        }));
        all.extend(std::iter::from_fn(|| self.lane.drain_one()));
        all
    }
}
