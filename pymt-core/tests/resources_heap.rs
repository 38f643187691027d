//! Resource check: the heap goes back to its baseline after 100,000 tasks of
//! every kind (values, panics, cancellations, callbacks, inline runs, each way
//! of waiting), both while the pool lives and after it was joined and its
//! threads ended.
//!
//! A counting `#[global_allocator]` in this test binary tracks the bytes
//! live. One test function on purpose: the count is process-wide, and a
//! second test running beside it would move it.
//!
//! # Tolerance
//!
//! The check counts both live bytes and live blocks (allocations not yet
//! freed), and allows [`TOLERANCE_BYTES`] and [`TOLERANCE_BLOCKS`] of
//! difference. pymt itself is expected to give back every block (the
//! measured difference is 0 in both), but the standard library may keep a
//! few small lazily-made buffers (thread-local destructor lists, a thread's
//! cached handle) whose first use can fall after the baseline; the warm-up
//! runs the same workload first so that this does not happen in practice.
//! A task-level leak cannot hide in the tolerance: even one leaked block per
//! hundred tasks is 1,000 blocks over 100,000 tasks, and a leaked byte per
//! task is 100 KB.
#![cfg(target_os = "linux")]

use pymt_core as pymt;

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use pymt::{Limiter, Pool, ReturnWhen, Task, TaskError, TaskSet};

/// Bytes currently allocated through the global allocator.
static LIVE: AtomicIsize = AtomicIsize::new(0);
/// Blocks currently allocated (allocations minus frees).
static BLOCKS: AtomicIsize = AtomicIsize::new(0);
/// Allocations made so far (to show the workload did allocate).
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

/// Forwards to the system allocator and counts live bytes.
struct Counting;

// SAFETY: every method forwards its arguments unchanged to `System`, which
// implements `GlobalAlloc` correctly, and returns `System`'s result, so each
// method upholds exactly the contract `System` does (the layout, alignment
// and ownership rules of `GlobalAlloc`). The bookkeeping only touches
// atomics: it never allocates (which would recurse into this allocator),
// never panics, and never unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract (non-zero size),
        // which is `System::alloc`'s.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
            BLOCKS.fetch_add(1, Ordering::Relaxed);
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
            BLOCKS.fetch_add(1, Ordering::Relaxed);
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from this allocator (that
        // is, from `System`, since every block here does) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        BLOCKS.fetch_sub(1, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `ptr` was allocated by `System` with
        // `layout` and that `new_size` is valid for it; on success the old
        // block is gone and the new one has `new_size` bytes.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Live bytes and live blocks right now.
#[derive(Clone, Copy, Debug)]
struct Heap {
    bytes: isize,
    blocks: isize,
}

impl Heap {
    fn now() -> Heap {
        Heap {
            bytes: LIVE.load(Ordering::SeqCst),
            blocks: BLOCKS.load(Ordering::SeqCst),
        }
    }

    /// Fails unless `self` is within the tolerance of `baseline`.
    fn assert_near(self, baseline: Heap, what: &str) {
        let (bytes, blocks) = (self.bytes - baseline.bytes, self.blocks - baseline.blocks);
        assert!(
            bytes.abs() <= TOLERANCE_BYTES && blocks.abs() <= TOLERANCE_BLOCKS,
            "{what}: {bytes:+} bytes in {blocks:+} blocks compared with the baseline \
             ({baseline:?} -> {self:?}); tolerance {TOLERANCE_BYTES} bytes, {TOLERANCE_BLOCKS} blocks"
        );
    }
}

/// See the module documentation.
const TOLERANCE_BYTES: isize = 4 * 1024;
/// See the module documentation.
const TOLERANCE_BLOCKS: isize = 16;
const BOUND: Duration = Duration::from_secs(60);
const TASKS: usize = 100_000;
const BATCH: usize = 1_000;
/// Workers of the measured pool (fixed: `min == max`, so none comes or goes).
const WORKERS: usize = 2;

const DELIBERATE: &str = "heap: deliberate panic";

fn quiet_deliberate_panics() {
    common::quiet_deliberate_panics(DELIBERATE);
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task is readable")
        .count()
}

/// Waits (bounded) for the thread count to reach `expected`: worker threads
/// free their thread-locals and handles as they end, a little after `join`
/// saw them leave. Polling is the only way to see the kernel finish.
fn settle_threads(expected: usize) {
    let deadline = Instant::now() + BOUND;
    while threads() != expected {
        assert!(
            Instant::now() < deadline,
            "{} threads alive, expected {expected}",
            threads()
        );
        thread::sleep(Duration::from_millis(1));
    }
}

fn pool() -> Pool {
    Pool::builder()
        .max_workers(WORKERS)
        .min_workers(WORKERS)
        .build()
        .expect("valid settings")
}

/// Grows the queue's two lanes to more than a batch can ever need, so that
/// later batches reuse the capacity (a queue keeps its buffers, like a `Vec`).
fn grow_queue(pool: &Pool) {
    let gate = Limiter::new(1);
    let held = gate.acquire();
    let blockers: Vec<Task<()>> = (0..WORKERS)
        .map(|_| {
            let gate = gate.clone();
            pool.submit(move || drop(gate.acquire_timeout(BOUND).expect("gate opens")))
        })
        .collect();
    let queued: Vec<Task<i32>> = (0..4 * BATCH as i32)
        .map(|i| pool.submit_with_priority(i % 2, move || i))
        .collect();
    drop(held);
    for t in blockers {
        assert_eq!(t.result_timeout(BOUND), Ok(()));
    }
    for t in queued {
        assert!(t.result_timeout(BOUND).is_ok());
    }
}

/// Runs `count` tasks of every kind on `pool`, `BATCH` at a time, checking
/// each outcome; returns how many ran and how many were cancelled. Besides
/// the `count` tasks, each batch runs `BATCH / 10` sub-tasks and
/// `BATCH / 10` panicking tasks whose handles are dropped unread.
fn workload(pool: &Pool, count: usize) -> (usize, usize) {
    let (mut ran, mut cancelled_total) = (0, 0);
    for batch in 0..count / BATCH {
        let mut tasks: Vec<Task<u64>> = Vec::with_capacity(BATCH);
        let mut cancelled = Vec::new();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        for i in 0..BATCH as u64 {
            let n = (batch * BATCH) as u64 + i;
            let task = match i % 10 {
                0 => pool.submit(|| panic!("heap: deliberate panic")),
                1 => {
                    let t = pool.submit(move || n);
                    if t.cancel() {
                        cancelled.push(t);
                        continue;
                    }
                    t
                }
                2 => {
                    let t = pool.submit(move || n);
                    let tx = done_tx.clone();
                    t.on_done(move |r| drop(tx.send(r.clone())));
                    t
                }
                3 => {
                    // A body that waits on a sub-task, run inline if queued
                    // (an untimed wait: a timed one never runs it inline, and
                    // on a saturated pool would only time out). Bounded by
                    // the batch's own timed waits.
                    let p = pool.clone();
                    pool.submit(move || p.submit(move || n).join().expect("child ends"))
                }
                4 => {
                    // A panic whose handle is dropped unread (logged).
                    drop(pool.submit(|| -> u64 { panic!("heap: deliberate panic") }));
                    pool.submit_with_priority(-1, move || n)
                }
                5 => pool.submit_with_priority(3, move || n),
                _ => pool.submit(move || n),
            };
            tasks.push(task);
        }
        drop(done_tx);
        // Each batch waits another way.
        let outcomes: Vec<Result<u64, TaskError>> = match batch % 4 {
            0 => tasks.iter().map(|t| t.result_timeout(BOUND)).collect(),
            1 => {
                let (done, pending) = pymt::wait(&tasks, ReturnWhen::AllCompleted, BOUND);
                assert!(
                    pending.is_empty(),
                    "batch {batch}: {} pending",
                    pending.len()
                );
                done.into_iter().map(Task::join).collect()
            }
            2 => {
                let mut set = TaskSet::new();
                for t in tasks.drain(..) {
                    set.push(t);
                }
                let mut out = Vec::new();
                while !set.is_empty() {
                    out.push(set.join_next_timeout(BOUND).expect("not empty"));
                }
                out
            }
            _ => pymt::as_completed(std::mem::take(&mut tasks))
                .map(|t| {
                    assert!(t.wait_timeout(BOUND));
                    t.join()
                })
                .collect(),
        };
        for outcome in &outcomes {
            match outcome {
                Ok(_) => ran += 1,
                Err(TaskError::Panicked { message }) if message == DELIBERATE => ran += 1,
                other => panic!("batch {batch}: unexpected {other:?}"),
            }
        }
        for t in cancelled {
            assert_eq!(t.join(), Err(TaskError::Cancelled));
            cancelled_total += 1;
        }
        let callbacks = done_rx.iter().count();
        assert_eq!(callbacks, BATCH / 10, "batch {batch}: on_done calls");
    }
    (ran, cancelled_total)
}

#[test]
fn heap_returns_to_baseline_after_100k_tasks() {
    quiet_deliberate_panics();
    let threads_before = threads();

    // Warm up everything lazily initialised, in this thread and in pools:
    // a throwaway pool runs the whole workload once and is joined.
    {
        let warm = pool();
        grow_queue(&warm);
        workload(&warm, 2 * BATCH);
        assert!(warm.join(BOUND));
    }
    settle_threads(threads_before);
    let before_pool = Heap::now();

    // ===== while the pool lives =====
    let pool = pool();
    grow_queue(&pool);
    workload(&pool, 2 * BATCH);
    let baseline = Heap::now();
    let allocations = ALLOCATIONS.load(Ordering::SeqCst);

    let (ran, cancelled) = workload(&pool, TASKS);
    let during = Heap::now();
    let made = ALLOCATIONS.load(Ordering::SeqCst) - allocations;

    // ===== after the pool was joined and its threads ended =====
    assert!(pool.join(BOUND), "{:?}", pool.stats());
    let stats = pool.stats();
    drop(pool);
    settle_threads(threads_before);
    let after = Heap::now();

    println!(
        "heap: {ran} bodies ran, {cancelled} cancelled, {made} allocations; live: \
         {before_pool:?} before the pool, {baseline:?} baseline, {during:?} after the tasks, \
         {after:?} after join"
    );
    // Everything ran or was cancelled, and allocated: the counter does see
    // the workload.
    assert_eq!(ran + cancelled, TASKS);
    let batches = (2 * BATCH + TASKS) / BATCH;
    assert_eq!(stats.panicked, batches * BATCH / 5, "{stats:?}");
    assert!(stats.cancelled >= cancelled, "{stats:?}");
    assert!(made > TASKS, "only {made} allocations for {TASKS} tasks");
    during.assert_near(baseline, "after 100,000 tasks ended, pool alive");
    after.assert_near(before_pool, "after the pool was joined and dropped");
}
