//! Lock-free queues for the common non-zero priorities: one FIFO lane per
//! priority in `-SPAN..SPAN` (0 excluded: it has the queue's main lane),
//! with a bit per level saying it may hold entries.
//!
//! A push is a lane push plus one `fetch_or`; a pop reads the bit words,
//! takes the highest level whose bit is set and pops its lane. A level
//! that turns out empty has its bit cleared and its lane checked once more:
//! a push that raced the clear either set the bit again after it or is
//! visible to that check (its `fetch_or` came first, and the clear read
//! it), so no entry is ever left behind a clear bit. Priorities outside the
//! span are outliers (`outliers.rs`).
//!
//! A push that finds its level's bit already set leaves it (a load
//! spares the line a write): a pop that clears it later looks again after
//! the clear, and the push, its load, the clear and that look meet in a
//! SeqCst handshake, so that look finds the entry.
//!
//! Each level's lane is the main lane's FIFO (`fifo.rs`), made on first
//! use. A level's pop waits for a push under way at its head (a few
//! instructions, as a crossbeam channel's `try_recv` does): entries may be
//! published behind it, and a submitter that queued one of them before a
//! lower one must see it run first.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::PoisonError;

use super::entry::Entry;
use crate::executor::counts::Padded;
use crate::sync::{self, AtomicU64, AtomicUsize, Mutex};

/// Priorities `1..SPAN` and `-SPAN..=-1` have a level; loom models a few.
#[cfg(not(loom))]
const SPAN: i32 = 64;
#[cfg(loom)]
const SPAN: i32 = 8;

/// Which side of the main lane a level is on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Side {
    /// Priorities above 0: served before the main lane.
    High,
    /// Priorities below 0: served after it.
    Low,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::High => 0,
            Side::Low => 1,
        }
    }
}

/// A level's lane: the FIFO of the main lane. Under loom the engine's
/// models use the simple stand-in, as for the main lane, unless
/// `--cfg pymt_loom_fifo` asks for the real one.
#[cfg(any(not(loom), pymt_loom_fifo))]
type Lane = super::fifo::Fifo<Entry>;
#[cfg(all(loom, not(pymt_loom_fifo)))]
type Lane = super::lane::Lane<Entry>;

/// One level: its lane, and in front of it the entries pops gave back.
struct Level {
    lane: Lane,
    /// Entries a pop took and gave back because something above showed up
    /// after it chose this level (see `Levels::pop`), first to be taken
    /// again. Rare: `given_back` lets a pop skip the lock.
    front: Mutex<VecDeque<Entry>>,
    given_back: AtomicUsize,
}

impl Level {
    fn new() -> Self {
        Level {
            lane: Lane::new(),
            front: Mutex::new(VecDeque::new()),
            given_back: AtomicUsize::new(0),
        }
    }

    fn lock_front(&self) -> crate::sync::MutexGuard<'_, VecDeque<Entry>> {
        self.front.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The first entry: a given-back one, else the lane's (waiting for a
    /// push under way at its head).
    fn take(&self) -> Option<Entry> {
        if self.given_back.load(SeqCst) != 0 {
            let mut front = self.lock_front();
            if let Some(entry) = front.pop_front() {
                self.given_back.fetch_sub(1, SeqCst);
                return Some(entry);
            }
        }
        self.lane.drain_one()
    }

    /// Puts `entry`, just taken from the head, back at the head.
    fn give_back(&self, entry: Entry) {
        let mut front = self.lock_front();
        front.push_front(entry);
        self.given_back.fetch_add(1, SeqCst);
    }
}

/// A level, made on first use in a normal build (most pools use a
/// handful of priorities, if any, and a FIFO allocates its first segment,
/// about 1 KiB, up front), and boxed: an unused level costs a pointer,
/// not a FIFO's padded ends; made up front under loom, whose objects must
/// not be created behind a `OnceLock` that loom cannot see.
#[cfg(not(loom))]
type LevelSlot = std::sync::OnceLock<Box<Level>>;
#[cfg(loom)]
type LevelSlot = Level;

/// What a pop of one side's levels found.
pub(crate) enum LevelPop {
    Entry(Entry),
    /// No level of the side holds an entry.
    Empty,
    /// An entry was taken and given back: something above it showed up
    /// meanwhile. The caller looks again from the top.
    GaveBack,
}

pub(crate) struct Levels {
    /// `High` levels: index `p - 1` for priority `p`; `Low`: `-p - 1`.
    slots: [Box<[LevelSlot]>; 2],
    /// Bit `i` of word `side`: level `i` of that side may hold entries.
    /// On a line of its own: read by every pop, written by ranked pushes.
    bits: Padded<[AtomicU64; 2]>,
}

impl Levels {
    pub(crate) fn new() -> Self {
        // One bit per level: the span must fit a word.
        const _: () = assert!(SPAN <= 64);
        let slots = || {
            (0..SPAN)
                .map(|_| LevelSlot::new())
                .collect::<Box<[LevelSlot]>>()
        };
        Levels {
            slots: [slots(), slots()],
            bits: Padded::new([AtomicU64::new(0), AtomicU64::new(0)]),
        }
    }

    /// The side and level of `priority`, if it has one.
    fn place(priority: i32) -> Option<(Side, usize)> {
        match priority {
            1..SPAN => Some((Side::High, (priority - 1) as usize)),
            p if (-SPAN..0).contains(&p) => Some((Side::Low, (-p - 1) as usize)),
            _ => None,
        }
    }

    #[cfg(not(loom))]
    fn level(&self, side: Side, level: usize) -> &Level {
        self.slots[side.index()][level].get_or_init(|| Box::new(Level::new()))
    }

    #[cfg(loom)]
    fn level(&self, side: Side, level: usize) -> &Level {
        &self.slots[side.index()][level]
    }

    /// The bits of the levels that rank above `level` on `side`.
    fn above(side: Side, level: usize) -> u64 {
        match side {
            Side::High => u64::MAX.checked_shl(level as u32 + 1).unwrap_or(0),
            Side::Low => (1u64 << level) - 1,
        }
    }

    /// Queues `entry`, or hands it back if its priority has no level.
    pub(crate) fn push(&self, priority: i32, entry: Entry) -> Result<(), Entry> {
        let Some((side, level)) = Self::place(priority) else {
            return Err(entry);
        };
        self.level(side, level).lane.push(entry);
        // After the push: whoever sees the bit finds the entry. A bit still
        // set is left alone: a pop that clears it later looks at the lane
        // again after its clear, and sees this entry claimed (the push's
        // claim, then the load that read the bit before the clear, then the
        // clear, then that look: a handshake in the SeqCst order), which
        // `take` waits for. The FIFO orders the claim under loom itself;
        // the stand-in lane needs the fence here.
        let word = &self.bits[side.index()];
        #[cfg(all(loom, not(pymt_loom_fifo)))]
        sync::handshake();
        if word.load(SeqCst) & (1 << level) == 0 {
            word.fetch_or(1 << level, SeqCst);
        }
        Ok(())
    }

    /// True if some level of `side` may hold entries.
    pub(crate) fn maybe_any(&self, side: Side) -> bool {
        self.bits[side.index()].load(SeqCst) != 0
    }

    /// Pops the first entry of the highest non-empty level of `side`
    /// (for `Low`, the one nearest 0), unless something ranking above it
    /// showed up meanwhile: a level above it on this side, or what
    /// `outranked` reports (the lanes above the side).
    ///
    /// The level is picked from a snapshot of the bits, so a pop that
    /// paused after reading them may find, behind a level it thought
    /// highest, an entry queued after a higher one by the same submitter.
    /// Popping synchronised with that entry's push, so the higher one is
    /// visible by now: the pop looks above once more and, if anything is
    /// there, gives the entry back to the head of its level.
    pub(crate) fn pop(&self, side: Side, outranked: impl Fn() -> bool) -> LevelPop {
        let word = &self.bits[side.index()];
        loop {
            let bits = word.load(SeqCst);
            if bits == 0 {
                return LevelPop::Empty;
            }
            // High: the highest priority is the highest bit. Low: priority
            // -1 is bit 0, and it ranks highest.
            let index = match side {
                Side::High => 63 - bits.leading_zeros() as usize,
                Side::Low => bits.trailing_zeros() as usize,
            };
            let level = self.level(side, index);
            let entry = match level.take() {
                Some(entry) => entry,
                None => {
                    word.fetch_and(!(1 << index), SeqCst);
                    sync::handshake();
                    // No level is skipped for the rest of the call once
                    // found empty: a push may mark it again.
                    let Some(entry) = level.take() else { continue };
                    // More may follow it: the level stays marked.
                    word.fetch_or(1 << index, SeqCst);
                    entry
                }
            };
            sync::handshake();
            if word.load(SeqCst) & Self::above(side, index) != 0 || outranked() {
                level.give_back(entry);
                word.fetch_or(1 << index, SeqCst);
                return LevelPop::GaveBack;
            }
            return LevelPop::Entry(entry);
        }
    }

    /// Every entry of every level (for shutdown), waiting for pushes under
    /// way. Bits are cleared first, so a push racing this re-marks its
    /// level.
    pub(crate) fn take_all(&self) -> Vec<Entry> {
        let mut all = Vec::new();
        for side in [Side::High, Side::Low] {
            self.bits[side.index()].store(0, SeqCst);
            for level in 0..SPAN as usize {
                if let Some(level) = self.existing(side, level) {
                    all.extend(std::iter::from_fn(|| level.take()));
                }
            }
        }
        all
    }

    #[cfg(not(loom))]
    fn existing(&self, side: Side, level: usize) -> Option<&Level> {
        self.slots[side.index()][level].get().map(|level| &**level)
    }

    #[cfg(loom)]
    fn existing(&self, side: Side, level: usize) -> Option<&Level> {
        Some(&self.slots[side.index()][level])
    }
}

#[cfg(all(test, not(loom)))]
mod test {
    use super::*;
    use crate::task::task_ref::TaskRef;

    fn task(priority: i32) -> Entry {
        Entry::Task(TaskRef::for_test(priority))
    }

    fn priority_of(entry: &Entry) -> i32 {
        match entry {
            Entry::Task(task) => task.priority(),
            _ => unreachable!("only tasks are pushed here"),
        }
    }

    #[test]
    fn levels_cover_the_span_and_nothing_else() {
        assert_eq!(Levels::place(1), Some((Side::High, 0)));
        assert_eq!(
            Levels::place(SPAN - 1),
            Some((Side::High, SPAN as usize - 2))
        );
        assert_eq!(Levels::place(-1), Some((Side::Low, 0)));
        assert_eq!(Levels::place(-SPAN), Some((Side::Low, SPAN as usize - 1)));
        for outside in [0, SPAN, -SPAN - 1, i32::MAX, i32::MIN] {
            assert_eq!(Levels::place(outside), None, "{outside}");
        }
        let levels = Levels::new();
        assert!(levels.push(0, task(0)).is_err());
        assert!(levels.push(i32::MAX, task(i32::MAX)).is_err());
    }

    #[test]
    fn pops_highest_first_and_nearest_zero_first_below() {
        let levels = Levels::new();
        for p in [3, -2, 9, -1, 3, -40, 1] {
            assert!(levels.push(p, task(p)).is_ok());
        }
        let pop = |side| match levels.pop(side, || false) {
            LevelPop::Entry(entry) => Some(entry),
            LevelPop::Empty => None,
            LevelPop::GaveBack => unreachable!("nothing was queued meanwhile"),
        };
        let high: Vec<_> = std::iter::from_fn(|| pop(Side::High))
            .map(|e| priority_of(&e))
            .collect();
        assert_eq!(high, [9, 3, 3, 1]);
        assert!(!levels.maybe_any(Side::High), "empty levels are unmarked");
        let low: Vec<_> = std::iter::from_fn(|| pop(Side::Low))
            .map(|e| priority_of(&e))
            .collect();
        assert_eq!(low, [-1, -2, -40]);
    }

    #[test]
    fn take_all_empties_every_level() {
        let levels = Levels::new();
        for p in [5, -5, 5] {
            assert!(levels.push(p, task(p)).is_ok());
        }
        assert_eq!(levels.take_all().len(), 3);
        for side in [Side::High, Side::Low] {
            assert!(matches!(levels.pop(side, || false), LevelPop::Empty));
        }
    }

    #[test]
    fn an_entry_outranked_meanwhile_is_given_back_to_the_head_of_its_level() {
        let levels = Levels::new();
        for p in [-5, -5] {
            assert!(levels.push(p, task(p)).is_ok());
        }
        // The lanes above the low side hold something now: the first -5
        // goes back to the head of its level.
        assert!(matches!(levels.pop(Side::Low, || true), LevelPop::GaveBack));
        assert!(levels.push(-3, task(-3)).is_ok());
        let popped = |levels: &Levels| match levels.pop(Side::Low, || false) {
            LevelPop::Entry(entry) => Some(entry),
            LevelPop::Empty => None,
            LevelPop::GaveBack => unreachable!("nothing ranks above"),
        };
        let order: Vec<_> = std::iter::from_fn(|| popped(&levels))
            .map(|e| priority_of(&e))
            .collect();
        assert_eq!(order, [-3, -5, -5]);
        // A given-back entry is part of what a shutdown takes.
        assert!(levels.push(7, task(7)).is_ok());
        assert!(matches!(
            levels.pop(Side::High, || true),
            LevelPop::GaveBack
        ));
        assert_eq!(levels.take_all().len(), 1);
    }
}
