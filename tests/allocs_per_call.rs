//! Heap allocations per call of each attribute form, counted by a global
//! allocator (this test binary's own): with every option, a
//! `#[threaded(pool_name = ..)]` call makes one allocation (the task cell),
//! as `Pool::submit` does, and a plain `#[limiter]` function none.
//!
//! Only the submitting thread's allocations count (a thread-local flag), so
//! what workers allocate meanwhile is not charged to the call. The bound
//! leaves 0.1 per call for the queue's own amortised growth (a lane block
//! now and then). `cargo test --test allocs_per_call -- --nocapture` prints
//! the table that `docs/bench.md` quotes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use pymt::{limiter, threaded, Task, TaskError};

mod common;
use common::within;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set while this thread's allocations are counted.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn counted() -> bool {
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: every call is forwarded to `System` unchanged; the count is a side
// effect that neither allocates nor touches the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            ALLOCATIONS.fetch_add(1, Relaxed);
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if counted() {
            ALLOCATIONS.fetch_add(1, Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counted() {
            ALLOCATIONS.fetch_add(1, Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by this thread while `f` runs.
fn count(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Relaxed);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Relaxed) - before
}

const CALLS: usize = 1000;
const WARM_UP: usize = 64;
const TIMEOUT: Duration = Duration::from_secs(10);
/// One task cell per call, plus the queue's amortised growth.
const ONE: f64 = 1.1;
const POOL: &str = "allocs-per-call";

fn on_value(_: &u64) {}
fn on_panic(_: &TaskError) {}

#[threaded(pool_name = "allocs-per-call", max_workers = 2)]
fn plain(x: u64) -> u64 {
    x
}

#[threaded(pool_name = "allocs-per-call", name = "named", priority = 3)]
fn named(x: u64) -> u64 {
    x
}

#[threaded(pool_name = "allocs-per-call", callback = on_value)]
fn with_callback(x: u64) -> u64 {
    x
}

#[threaded(pool_name = "allocs-per-call", on_error = on_panic)]
fn with_on_error(x: u64) -> u64 {
    x
}

#[threaded(
    pool_name = "allocs-per-call",
    name = "all",
    priority = -2,
    callback = on_value,
    on_error = on_panic
)]
fn every_option(x: u64) -> u64 {
    x
}

#[limiter(100_000)]
#[threaded(pool_name = "allocs-per-call")]
fn limited(x: u64) -> u64 {
    x
}

#[limiter(100_000, blocking = false)]
#[threaded(pool_name = "allocs-per-call")]
fn deferred(x: u64) -> u64 {
    x
}

/// Every call but the first waits in the limiter's queue.
#[limiter(1, blocking = false)]
#[threaded(pool_name = "allocs-per-call")]
fn deferred_waiting(x: u64) -> u64 {
    x
}

#[limiter(100_000, blocking = false)]
#[threaded(
    pool_name = "allocs-per-call",
    name = "all-deferred",
    priority = 1,
    callback = on_value,
    on_error = on_panic
)]
fn deferred_every_option(x: u64) -> u64 {
    x
}

#[limiter(100_000)]
#[threaded(
    pool_name = "allocs-per-call",
    name = "all-limited",
    priority = 1,
    callback = on_value,
    on_error = on_panic
)]
fn limited_every_option(x: u64) -> u64 {
    x
}

#[threaded(daemon, name = "daemon-call")]
fn on_daemon(x: u64) -> u64 {
    x
}

#[threaded]
fn thread_per_call(x: u64) -> u64 {
    x
}

#[limiter(4)]
fn plain_limited(x: u64) -> u64 {
    x
}

/// Allocations per call of `f`, on this thread, after a warm-up; every
/// task is then awaited (with a timeout) and must succeed.
fn per_call(f: &dyn Fn(u64) -> Task<u64>) -> f64 {
    let warm: Vec<_> = (0..WARM_UP as u64).map(f).collect();
    for (i, task) in warm.into_iter().enumerate() {
        assert_eq!(task.result_timeout(TIMEOUT), Ok(i as u64));
    }
    let mut tasks = Vec::with_capacity(CALLS);
    let allocations = count(|| {
        for i in 0..CALLS as u64 {
            tasks.push(f(i));
        }
    });
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.result_timeout(TIMEOUT), Ok(i as u64));
    }
    allocations as f64 / CALLS as f64
}

struct Row {
    form: &'static str,
    measured: f64,
    bound: Option<f64>,
}

#[test]
fn every_form_stays_within_its_allocation_budget() {
    let rows = within("measuring allocations per call", || {
        let pool = pymt::Pool::named(POOL);
        let mut rows = Vec::new();
        let mut row = |form, bound, f: &dyn Fn(u64) -> Task<u64>| {
            rows.push(Row {
                form,
                measured: per_call(f),
                bound,
            });
        };
        row("`pool.submit` (the reference)", Some(ONE), &|i| {
            pool.submit(move || i)
        });
        row("`#[threaded(pool_name)]`", Some(ONE), &plain);
        row("`pool_name`, `name`, `priority`", Some(ONE), &named);
        row("`pool_name`, `callback`", Some(ONE), &with_callback);
        row("`pool_name`, `on_error`", Some(ONE), &with_on_error);
        row(
            "`pool_name`, `name`, `priority`, `callback`, `on_error`",
            Some(ONE),
            &every_option,
        );
        row("`#[limiter(n)]` above `pool_name`", Some(ONE), &limited);
        row(
            "`#[limiter(n)]` above `pool_name` with every option",
            Some(ONE),
            &limited_every_option,
        );
        row(
            "`#[limiter(n, blocking = false)]` above `pool_name`",
            Some(ONE),
            &deferred,
        );
        row(
            "`blocking = false`, every call waiting in the limiter",
            Some(ONE),
            &deferred_waiting,
        );
        row(
            "`blocking = false` with every option",
            Some(ONE),
            &deferred_every_option,
        );
        row("`#[threaded(daemon, name)]`", Some(ONE), &on_daemon);
        row(
            "bare `#[threaded]` (a thread per call: not bounded)",
            None,
            &thread_per_call,
        );
        // Warm-up: the first call makes the limiter's semaphore.
        assert_eq!(plain_limited(7), 7);
        let allocations = count(|| {
            for i in 0..CALLS as u64 {
                std::hint::black_box(plain_limited(std::hint::black_box(i)));
            }
        });
        rows.push(Row {
            form: "a plain `#[limiter(n)]` fn",
            measured: allocations as f64 / CALLS as f64,
            bound: Some(0.0),
        });
        rows
    });

    println!("| call | allocations per call | bound |");
    println!("|---|---|---|");
    for row in &rows {
        let bound = row.bound.map_or("none".to_owned(), |b| format!("{b}"));
        println!("| {} | {:.2} | {bound} |", row.form, row.measured);
    }
    let over: Vec<_> = rows
        .iter()
        .filter(|row| row.bound.is_some_and(|bound| row.measured > bound))
        .map(|row| format!("{}: {:.3}", row.form, row.measured))
        .collect();
    assert!(over.is_empty(), "over budget: {over:#?}");
}
