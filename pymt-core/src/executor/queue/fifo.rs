//! The main lane's storage: an unbounded multi-producer, multi-consumer
//! FIFO that never shows a consumer a slot it would have to wait for.
//!
//! This is the one module of the pool with `unsafe` code (see "Safety"
//! below). It exists because the crossbeam channel the lane used before
//! makes a consumer claim a slot as soon as a producer has reserved it, and
//! then spin until the producer has written it. With two workers and a
//! submitter on two cores, those spins took the processor from the very
//! producer they waited for: `docs/bench.md` (W2) has the measurements.
//!
//! # Design
//!
//! Every value has a position: producers take the next one from `tail`,
//! consumers from `head`, each with a compare-and-swap. Positions map to
//! slots in segments of [`SEGMENT`] slots, linked in position order.
//!
//! - A producer claims position `t`, writes its value, then stamps the slot
//!   with `t + 1` (published).
//! - A consumer at position `h` claims it only if the slot's stamp already
//!   reads `h + 1`. A slot not yet published reads as "empty now", even if
//!   later positions are published: [`Fifo::try_pop`] may report nothing
//!   while a push is under way. [`Fifo::drain_one`] instead waits for
//!   pushes under way, for the paths that must see everything claimed (a
//!   consumer about to block, a shutdown).
//! - Having read its value, the consumer stamps the slot read: `h + 1`
//!   with [`READ`] set, a plain store where a shared counter would cost
//!   every pop a locked instruction on a line both workers write.
//!
//! # What a push orders
//!
//! The claim (the compare-and-swap on `tail`) is SeqCst; the stamp that
//! publishes is a release store, with no fence after it (on x86 a SeqCst
//! store is a locked `xchg`, which measured about a fifth of a submit).
//! So a push's later loads are ordered after its claim, not after its
//! publication: a handshake with a consumer about to block (announce,
//! then look) must look at what is *claimed* ([`Fifo::is_empty`], or
//! [`Fifo::drain_one`], which waits for a claimed head to be published),
//! never only at what is published. Under loom, whose SeqCst
//! read-modify-writes are only AcqRel, the claim is followed by the
//! SeqCst fence that gives it its place in the total order.
//! - The producer of a segment's last position links the next segment (and
//!   moves `tail` to it) before it publishes its value. The consumer of
//!   that position moves `head` to it right after claiming. So each link
//!   has exactly one writer: no pointer compare-and-swap, no ABA.
//! - Segments are never freed while the FIFO lives. The consumer of a
//!   segment's last position retires it; a producer that needs a segment
//!   reuses the latest retired one whose every slot is stamped read (some
//!   reader may still be copying its value out when the segment retires),
//!   at a later range of positions. A thread holding a stale pointer to a
//!   segment therefore reads valid memory, and every read it acts on is
//!   checked against positions, which never repeat: a segment's `start`
//!   must cover the position, and a slot's stamp must equal that position
//!   plus one. The cost: a lane keeps the segments of its longest backlog,
//!   as a `Vec` keeps its capacity, until the pool is dropped.
//!
//! # Safety
//!
//! - A slot's value is written only by the producer whose compare-and-swap
//!   claimed its position, and read only by the consumer whose
//!   compare-and-swap claimed the same position after seeing its stamp
//!   (release store, acquire load): one write, then one read, never at
//!   once.
//! - A segment is reused only after all [`SEGMENT`] of its slots were
//!   stamped read (release store after the read, acquire load before the
//!   reuse) and both ends moved past it, so no claimed position still
//!   refers to it; its memory is freed only in `Drop`, with `&mut self`.

#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::PoisonError;

use crate::executor::counts::Padded;
use crate::sync::{self, AtomicPtr, AtomicUsize, Mutex};

/// The start of a segment not linked yet: covers no position a FIFO
/// reaches.
const UNLINKED: usize = usize::MAX / 2;

/// Set in a stamp whose value was read. Positions stay below it: 2^63
/// pushes on a 64-bit target; on a 32-bit one a lane takes 2^31 pushes
/// over its life (its positions wrapped at 2^32 before marks existed).
const READ: usize = 1 << (usize::BITS - 1);

/// Slots per segment: small under loom so models cross segments.
#[cfg(not(loom))]
pub(crate) const SEGMENT: usize = 32;
#[cfg(loom)]
pub(crate) const SEGMENT: usize = 2;

#[cfg(loom)]
use loom::cell::UnsafeCell;

/// `std`'s cell with loom's access API, so one body serves both builds.
#[cfg(not(loom))]
struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

struct Slot<T> {
    /// `position + 1` once the value of `position` is written, with
    /// [`READ`] set once it was read; a stamp of an earlier use of the
    /// segment (or 0) otherwise.
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

struct Segment<T> {
    /// The first position this segment holds in its current use. Stored
    /// last when a segment is (re)used, so whoever reads the new start
    /// also sees the rest reset.
    start: AtomicUsize,
    /// The segment after this one: set by the producer of this segment's
    /// last position, before it publishes that value.
    next: AtomicPtr<Segment<T>>,
    slots: [Slot<T>; SEGMENT],
}

impl<T> Segment<T> {
    fn allocate(start: usize) -> NonNull<Segment<T>> {
        let segment = Box::new(Segment {
            start: AtomicUsize::new(start),
            next: AtomicPtr::new(std::ptr::null_mut()),
            slots: std::array::from_fn(|_| Slot {
                stamp: AtomicUsize::new(0),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            }),
        });
        NonNull::from(Box::leak(segment))
    }

    fn covers(&self, position: usize) -> Option<usize> {
        let offset = position.wrapping_sub(self.start.load(SeqCst));
        (offset < SEGMENT).then_some(offset)
    }

    /// Whether every value of a retired segment was read out. Its start
    /// is stable: only `take_segment`, under the lock, reuses it.
    fn all_read(&self) -> bool {
        let start = self.start.load(SeqCst);
        self.slots
            .iter()
            .enumerate()
            .all(|(offset, slot)| slot.stamp.load(Acquire) == (start + offset + 1) | READ)
    }
}

/// One end: the next position to claim and the segment holding it (the
/// segment may lag for a moment behind a position that crossed into the
/// next one; see the module docs).
struct End<T> {
    position: AtomicUsize,
    segment: AtomicPtr<Segment<T>>,
}

/// Every segment the FIFO owns, those ready for reuse, and those both
/// ends moved past (in retiring order), to reuse once every value was read
/// out.
struct Segments<T> {
    all: Vec<NonNull<Segment<T>>>,
    spare: Vec<NonNull<Segment<T>>>,
    retired: VecDeque<NonNull<Segment<T>>>,
}

pub(crate) struct Fifo<T> {
    head: Padded<End<T>>,
    tail: Padded<End<T>>,
    segments: Mutex<Segments<T>>,
}

// SAFETY: values move between threads through the FIFO (hence `T: Send`),
// and every shared access to a slot's value is ordered as the module docs
// describe; the raw pointers only ever point at segments the FIFO owns.
unsafe impl<T: Send> Send for Fifo<T> {}
// SAFETY: as above: `&Fifo` only moves values in and out, never shares one.
unsafe impl<T: Send> Sync for Fifo<T> {}

/// What a consumer found at the head.
enum Head<T> {
    Value(T),
    /// Nothing claimed and unread.
    Empty,
    /// The head position is claimed by a push still writing it.
    Writing,
}

impl<T> Fifo<T> {
    pub(crate) fn new() -> Self {
        let first = Segment::allocate(0);
        Fifo {
            head: Padded::new(End {
                position: AtomicUsize::new(0),
                segment: AtomicPtr::new(first.as_ptr()),
            }),
            tail: Padded::new(End {
                position: AtomicUsize::new(0),
                segment: AtomicPtr::new(first.as_ptr()),
            }),
            segments: Mutex::new(Segments {
                all: vec![first],
                spare: Vec::new(),
                retired: VecDeque::new(),
            }),
        }
    }

    fn lock_segments(&self) -> crate::sync::MutexGuard<'_, Segments<T>> {
        self.segments.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A segment to link next: a spare, else the most recently retired one
    /// whose values were all read (likely still in cache: a trickle after a
    /// large backlog keeps reusing a few warm segments), else a new one. It
    /// covers no position until [`Fifo::link`] gives it a start.
    fn take_segment(&self) -> NonNull<Segment<T>> {
        let mut segments = self.lock_segments();
        if let Some(spare) = segments.spare.pop() {
            return spare;
        }
        let reusable = segments.retired.iter().rposition(|segment| {
            // SAFETY: retired segments are owned by the FIFO.
            unsafe { segment.as_ref() }.all_read()
        });
        if let Some(index) = reusable {
            return segments.retired.remove(index).expect("found above");
        }
        let fresh = Segment::allocate(UNLINKED);
        segments.all.push(fresh);
        fresh
    }

    /// Makes `next` hold the positions after `segment`'s and links it, at
    /// both the segment and the tail. Done by the producer that claimed
    /// `segment`'s last position, before it publishes that value.
    fn link(&self, segment: &Segment<T>, next: NonNull<Segment<T>>, start: usize) {
        // SAFETY: `next` came from `take_segment`: owned by the FIFO, and
        // no position refers to it; stale readers only load its atomics
        // and check them against positions.
        let fresh = unsafe { next.as_ref() };
        fresh.next.store(std::ptr::null_mut(), Relaxed);
        fresh.start.store(start, SeqCst);
        segment.next.store(next.as_ptr(), SeqCst);
        self.tail.segment.store(next.as_ptr(), SeqCst);
    }

    /// Segments allocated so far (the loom models check reuse).
    #[cfg(loom)]
    pub(crate) fn segments_allocated(&self) -> usize {
        self.lock_segments().all.len()
    }

    /// Appends `value`. Lock-free except once per [`SEGMENT`] pushes, when
    /// the producer of a segment's last position takes the next segment
    /// (a retired one, under a short lock, or the allocator).
    ///
    /// The claim is SeqCst and the publication a release store: loads
    /// after a push are ordered after its claim only (see the module
    /// docs).
    pub(crate) fn push(&self, value: T) {
        let mut backoff = 0u32;
        // Taken before claiming a segment's last position, so that the
        // claim and the link are a few instructions apart.
        let mut next = None;
        loop {
            let position = self.tail.position.load(SeqCst);
            // SAFETY: `tail.segment` always points at a segment the FIFO
            // owns (possibly a stale one: `covers` checks it).
            let segment = unsafe { &*self.tail.segment.load(SeqCst) };
            let Some(offset) = segment.covers(position) else {
                // The producer of the previous segment's last position is
                // linking the next one: a few instructions away.
                snooze(&mut backoff);
                continue;
            };
            let last = offset == SEGMENT - 1;
            if last && next.is_none() {
                next = Some(self.take_segment());
            }
            if self
                .tail
                .position
                .compare_exchange_weak(position, position + 1, SeqCst, Relaxed)
                .is_err()
            {
                continue;
            }
            sync::handshake();
            if last {
                let next = next.take().expect("taken above");
                self.link(segment, next, position + 1);
            }
            let slot = &segment.slots[offset];
            // SAFETY: this producer claimed `position`; no consumer reads
            // the slot before the stamp below.
            slot.value
                .with_mut(|value_ptr| unsafe { (*value_ptr).write(value) });
            slot.stamp.store(position + 1, Release);
            if let Some(unused) = next {
                // Prepared for a last position another producer claimed.
                self.lock_segments().spare.push(unused);
            }
            return;
        }
    }

    /// The value at the head, if it is published. `None` also while the
    /// push of the head position is under way (see the module docs).
    pub(crate) fn try_pop(&self) -> Option<T> {
        loop {
            match self.pop_head(false) {
                Some(Head::Value(value)) => return Some(value),
                Some(Head::Empty | Head::Writing) => return None,
                // Lost a race to a consumer that took a value, or another
                // consumer is moving `head` on to the next segment (a few
                // instructions; `pop_head` paused): try again at once. Any
                // call added to this loop (a backoff, a yield after many
                // retries) measured a third slower in W2.
                None => {}
            }
        }
    }

    /// The next value, waiting for a push under way at the head (as a
    /// crossbeam channel's `try_recv` does); `None` when nothing is
    /// claimed. For the cold paths that empty a queue.
    pub(crate) fn drain_one(&self) -> Option<T> {
        let mut backoff = 0u32;
        loop {
            match self.pop_head(true) {
                Some(Head::Value(value)) => return Some(value),
                Some(Head::Empty) => return None,
                Some(Head::Writing) | None => snooze(&mut backoff),
            }
        }
    }

    /// Whether the head value looks published, without taking it: a hint
    /// (another consumer may take it first). True also while a consumer
    /// is moving `head` on to the next segment (values may be there).
    pub(crate) fn head_published(&self) -> bool {
        let position = self.head.position.load(SeqCst);
        // SAFETY: as in `push`.
        let segment = unsafe { &*self.head.segment.load(SeqCst) };
        match segment.covers(position) {
            Some(offset) => segment.slots[offset].stamp.load(SeqCst) == position + 1,
            None => true,
        }
    }

    /// Whether no position is claimed and unread (published or being
    /// written): a hint, read from both ends. Read after a SeqCst write,
    /// it is the look that a push's claim is ordered against (see "What a
    /// push orders").
    pub(crate) fn is_empty(&self) -> bool {
        self.head.position.load(SeqCst) == self.tail.position.load(SeqCst)
    }

    /// Whether a push is under way at the head: its position is claimed
    /// and not yet published. A hint, as `head_published`. (Values
    /// published behind it were pushed before entries queued elsewhere
    /// after them: the queue serves no lower lane meanwhile.)
    // Used by the queue, which under plain loom uses the stand-in lane.
    #[cfg_attr(all(loom, not(pymt_loom_fifo)), allow(dead_code))]
    pub(crate) fn head_being_written(&self) -> bool {
        let position = self.head.position.load(SeqCst);
        // SAFETY: as in `push`.
        let segment = unsafe { &*self.head.segment.load(SeqCst) };
        match segment.covers(position) {
            Some(offset) => {
                segment.slots[offset].stamp.load(SeqCst) != position + 1
                    && self.tail.position.load(SeqCst) != position
                    && self.head.position.load(SeqCst) == position
            }
            // A consumer is moving `head` on: not a push under way.
            None => false,
        }
    }

    /// One attempt at the head; `None`: lost a race, try again. Only with
    /// `tell_writing` does it read the tail to tell a push under way from
    /// an empty FIFO (producers write the tail's line: consumers polling
    /// an empty lane leave it alone).
    fn pop_head(&self, tell_writing: bool) -> Option<Head<T>> {
        let position = self.head.position.load(SeqCst);
        // SAFETY: as in `push`.
        let segment = unsafe { &*self.head.segment.load(SeqCst) };
        let Some(offset) = segment.covers(position) else {
            // The consumer of the previous segment's last position is
            // moving `head` on: a few instructions away.
            pause();
            return None;
        };
        let slot = &segment.slots[offset];
        if slot.stamp.load(SeqCst) != position + 1 {
            if self.head.position.load(SeqCst) != position {
                // Another consumer took it (the stamp may read as read,
                // and the segment may have been reused since): the reads
                // above prove nothing.
                return None;
            }
            if !tell_writing {
                return Some(Head::Empty);
            }
            // Still unclaimed, so the segment did cover it: the stamp was
            // this slot's, and the tail says whether a push is under way.
            return Some(if self.tail.position.load(SeqCst) == position {
                Head::Empty
            } else {
                Head::Writing
            });
        }
        self.head
            .position
            .compare_exchange_weak(position, position + 1, SeqCst, Relaxed)
            .ok()?;
        if offset == SEGMENT - 1 {
            // Linked before this position was published.
            self.head.segment.store(segment.next.load(SeqCst), SeqCst);
        }
        // SAFETY: this consumer claimed `position` after seeing it
        // published; its producer wrote it once and is done.
        let value = slot
            .value
            .with_mut(|value_ptr| unsafe { (*value_ptr).assume_init_read() });
        slot.stamp.store((position + 1) | READ, Release);
        if offset == SEGMENT - 1 {
            // Both ends moved on: reusable once every value is read out.
            self.lock_segments()
                .retired
                .push_back(NonNull::from(segment));
        }
        Some(Head::Value(value))
    }
}

/// Waits a moment for another thread's operation to finish: spins, then
/// gives up the processor (the operation waited for is a few instructions
/// long, but its thread may have been preempted).
fn snooze(step: &mut u32) {
    if *step < 6 && !cfg!(loom) {
        for _ in 0..1u32 << *step {
            pause();
        }
        *step += 1;
    } else {
        crate::sync::thread::yield_now();
    }
}

/// One spin: a processor hint, or under loom a yield (loom must see every
/// spinning thread give way).
fn pause() {
    #[cfg(not(loom))]
    crate::sync::spin_loop();
    #[cfg(loom)]
    crate::sync::thread::yield_now();
}

impl<T> Drop for Fifo<T> {
    fn drop(&mut self) {
        // Nothing is under way (`&mut self`): every claimed value is
        // published, and drain_one never waits.
        #[cfg(not(loom))]
        while self.drain_one().is_some() {}
        // Under loom the owner is freed through a `std` `Arc`, whose
        // ordering loom cannot see, so loads may look stale here: what
        // cannot be read is leaked instead of waited for.
        #[cfg(loom)]
        for _ in 0..64 {
            if let Some(Head::Writing | Head::Empty) = self.pop_head(true) {
                break;
            }
        }
        let mut segments = self.lock_segments();
        for segment in segments.all.drain(..) {
            // SAFETY: each segment was leaked from a `Box` once, is listed
            // once in `all`, and nothing refers to it any more.
            drop(unsafe { Box::from_raw(segment.as_ptr()) });
        }
    }
}

#[cfg(all(test, not(loom)))]
mod test {
    use super::*;
    use std::sync::atomic::AtomicUsize as Counter;
    use std::sync::Arc;

    #[test]
    fn values_come_out_in_order_across_segments() {
        let fifo = Fifo::new();
        for value in 0..SEGMENT * 3 + 5 {
            fifo.push(value);
        }
        let out: Vec<usize> = std::iter::from_fn(|| fifo.try_pop()).collect();
        assert_eq!(out, (0..SEGMENT * 3 + 5).collect::<Vec<_>>());
        assert_eq!(fifo.try_pop(), None);
        assert_eq!(fifo.drain_one(), None);
    }

    #[test]
    fn a_steady_trickle_reuses_two_segments() {
        let fifo = Fifo::new();
        for value in 0..SEGMENT * 100 {
            fifo.push(value);
            assert_eq!(fifo.try_pop(), Some(value));
        }
        assert!(fifo.lock_segments().all.len() <= 2);
    }

    /// Counts its drops.
    struct Tracked(Arc<Counter>);

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn dropping_the_fifo_drops_every_value_left_once() {
        let drops = Arc::new(Counter::new(0));
        let fifo = Fifo::new();
        for _ in 0..SEGMENT * 2 + 3 {
            fifo.push(Tracked(Arc::clone(&drops)));
        }
        drop(fifo.try_pop());
        assert_eq!(drops.load(SeqCst), 1);
        drop(fifo);
        assert_eq!(drops.load(SeqCst), SEGMENT * 2 + 3);
    }

    /// Four producers and four consumers on two cores: every value once,
    /// each producer's values in its order at every consumer.
    #[test]
    fn producers_and_consumers_storm() {
        const PRODUCERS: usize = 4;
        const EACH: usize = 50_000;
        let fifo = Arc::new(Fifo::new());
        let taken = Arc::new(Counter::new(0));
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let fifo = Arc::clone(&fifo);
                let taken = Arc::clone(&taken);
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    while taken.load(SeqCst) < PRODUCERS * EACH {
                        match fifo.try_pop() {
                            Some(value) => {
                                taken.fetch_add(1, SeqCst);
                                got.push(value);
                            }
                            None => std::thread::yield_now(),
                        }
                    }
                    got
                })
            })
            .collect();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let fifo = Arc::clone(&fifo);
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        fifo.push((p, i));
                    }
                })
            })
            .collect();
        for producer in producers {
            producer.join().unwrap();
        }
        let mut seen = vec![vec![false; EACH]; PRODUCERS];
        for consumer in consumers {
            let got = consumer.join().unwrap();
            let mut last = [None; PRODUCERS];
            for (p, i) in got {
                assert!(last[p].is_none_or(|l| l < i), "producer {p} out of order");
                last[p] = Some(i);
                assert!(
                    !std::mem::replace(&mut seen[p][i], true),
                    "({p}, {i}) twice"
                );
            }
        }
        assert!(seen.iter().flatten().all(|&s| s), "a value was lost");
        assert_eq!(fifo.try_pop(), None);
        let allocated = fifo.lock_segments().all.len();
        assert!(allocated <= PRODUCERS * EACH / SEGMENT + 2, "{allocated}");
    }
}
