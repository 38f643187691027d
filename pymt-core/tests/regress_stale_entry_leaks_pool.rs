//! Regression: a pool must be freed once joined (or once its last handle is
//! dropped), even when a stale entry is still queued as its workers exit.
//!
//! Defect: a pool's queue holds `Arc<dyn Run>` task cells, and every task
//! cell holds `Arc<Shared>` (its executor). A *stale* entry (a task
//! cancelled while queued, or run inline by a waiting worker) stayed in the
//! lane until a worker popped it. Workers of a closed pool exited as soon as
//! the live count was 0 without draining stale entries, so
//! Shared -> lane -> entry -> cell -> Shared was a cycle: the whole pool
//! (channels, lazily made priority lanes, counters) leaked. Nested waits
//! ("help") left such an entry every time.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::Pool;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::time::Instant;

/// Counts the bytes currently allocated by the whole test process (this
/// file holds a single test, so nothing else allocates meanwhile).
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call to `System` unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Opens `gate` once `pool` is closed, so the pool is joined while its
/// worker still runs the gated task (its exit then races nothing).
fn open_when_closed(pool: Pool, gate: Sender<()>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let start = Instant::now();
        while !pool.is_closed() {
            assert!(start.elapsed() < LONG, "the pool never closed");
            std::thread::sleep(ms(1));
        }
        gate.send(()).unwrap();
    })
}

/// A pool whose one task ran to completion: no stale entry.
fn control() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    assert_eq!(pool.submit(|| 1).result_timeout(LONG), Ok(1));
    assert!(pool.join(LONG));
}

/// A queued task cancelled, then the pool joined.
fn cancelled_then_joined() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let a = pool.submit(move || {
        started_tx.send(()).unwrap();
        gate_rx.recv_timeout(LONG).unwrap();
    });
    started_rx.recv_timeout(LONG).unwrap();
    let b = pool.submit(|| ());
    assert!(b.cancel());
    let opener = open_when_closed(pool.clone(), gate_tx);
    assert!(pool.join(LONG));
    opener.join().unwrap();
    assert!(a.wait_timeout(LONG));
}

/// A task that waits on a sub-task of its own pool (run inline by "help"),
/// then the pool joined: the most ordinary nested wait.
fn nested_wait_then_joined() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let p = pool.clone();
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let outer = pool.submit(move || {
        let r = p.submit(|| 2).join();
        started_tx.send(()).unwrap();
        gate_rx.recv_timeout(LONG).unwrap();
        r
    });
    started_rx.recv_timeout(LONG).unwrap();
    let opener = open_when_closed(pool.clone(), gate_tx);
    assert!(pool.join(LONG));
    opener.join().unwrap();
    assert_eq!(outer.result_timeout(LONG), Ok(Ok(2)));
}

/// Same as the nested wait, but the last handle is dropped instead of
/// joining (the documented way to let an unnamed pool go).
fn nested_wait_then_dropped() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let p = pool.clone();
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let outer = pool.submit(move || {
        let r = p.submit(|| 2).join();
        drop(p);
        started_tx.send(()).unwrap();
        gate_rx.recv_timeout(LONG).unwrap();
        r
    });
    started_rx.recv_timeout(LONG).unwrap();
    drop(pool);
    gate_tx.send(()).unwrap();
    assert_eq!(outer.result_timeout(LONG), Ok(Ok(2)));
    // The worker finishes exiting after the outer task's result is out.
    std::thread::sleep(ms(5));
}

/// Bytes retained per call of `f`, averaged over `rounds` calls.
fn growth(f: fn(), rounds: usize) -> isize {
    // Warm up lazily made statics (thread-locals, log, registry...).
    for _ in 0..3 {
        f();
    }
    std::thread::sleep(ms(200));
    let before = LIVE.load(Ordering::Relaxed);
    for _ in 0..rounds {
        f();
    }
    // Worker threads finish exiting after join returns.
    std::thread::sleep(ms(300));
    (LIVE.load(Ordering::Relaxed) - before) / rounds as isize
}

#[test]
fn pools_with_stale_entries_leak_on_join() {
    let rounds = 100;
    let c = growth(control, rounds);
    let x = growth(cancelled_then_joined, rounds);
    let n = growth(nested_wait_then_joined, rounds);
    let d = growth(nested_wait_then_dropped, rounds);
    eprintln!(
        "bytes retained per pool: control {c}, cancelled+join {x}, nested wait+join {n}, \
         nested wait+drop {d}"
    );
    assert!(c < 256, "control leaks {c} B/pool");
    assert!(
        x < 256,
        "a pool with a cancelled queued task leaks {x} B after join"
    );
    assert!(
        n < 256,
        "a pool used for a nested wait leaks {n} B after join"
    );
    assert!(
        d < 256,
        "a pool used for a nested wait leaks {d} B after its last handle is dropped"
    );
}
