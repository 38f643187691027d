//! The limiter's loops as a user's crate writes them, for `benches/compare.rs`
//! (workloads W5u and W5bu).
//!
//! A separate library crate with no profile of its own, depending on `pymt`
//! as any user does: every call into pymt crosses a crate boundary, and
//! inlining happens only where pymt's own `#[inline]`s allow it. The
//! handle, the permit or guard, and each argument and result go through
//! `black_box`, so nothing is folded away on either side.

use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `n` lock + unlock pairs of `mutex`.
pub fn mutex_pairs(mutex: &Mutex<()>, n: u64) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        drop(black_box(black_box(mutex).lock().expect("lock")));
    }
    t.elapsed()
}

/// `n` acquire + drop pairs of `limiter`.
pub fn limiter_pairs(limiter: &pymt::Limiter, n: u64) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        drop(black_box(black_box(limiter).acquire()));
    }
    t.elapsed()
}

static GUARD: Mutex<()> = Mutex::new(());

#[inline(never)]
fn guarded_by_mutex(x: u64) -> u64 {
    let _guard = GUARD.lock().expect("lock");
    black_box(x)
}

#[inline(never)]
#[pymt::limiter(4)]
fn guarded_by_limiter(x: u64) -> u64 {
    black_box(x)
}

/// `n` calls of a fn that holds a static `Mutex` around its body.
pub fn mutex_fn_calls(n: u64) -> Duration {
    let t = Instant::now();
    for i in 0..n {
        black_box(guarded_by_mutex(black_box(i)));
    }
    t.elapsed()
}

/// `n` calls of a `#[limiter(4)]` fn with the same body.
pub fn limiter_fn_calls(n: u64) -> Duration {
    let t = Instant::now();
    for i in 0..n {
        black_box(guarded_by_limiter(black_box(i)));
    }
    t.elapsed()
}
