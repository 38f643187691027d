//! Regression (from the misc risks): a chain of nested waits on a
//! one-worker pool.
//!
//! Decided and documented: an untimed wait made on a worker helps by
//! running the awaited queued task inline, which nests one stack frame set
//! per link, as rayon's `join` does; deep chains need a bigger
//! `stack_size`. These tests pin both halves: a chain of 1 000 fits a
//! default worker stack, and a chain of 20 000 fits a 256 MiB one. Each runs
//! in a child process, so an overflow fails the test instead of aborting the
//! test runner.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::Pool;
use std::time::Duration;

fn chain(pool: Pool, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let p = pool.clone();
    pool.submit(move || chain(p, n - 1))
        .join()
        .expect("link of the chain")
        + 1
}

/// The child's body: a chain of `REPRO_CHAIN` links on a one-worker pool
/// with the given stack size (the default when `None`).
fn run_chain(default_len: u64, stack: Option<usize>) {
    let n = env_knob("REPRO_CHAIN", default_len);
    let mut builder = Pool::builder().max_workers(1);
    if let Some(bytes) = stack {
        builder = builder.stack_size(bytes);
    }
    let pool = builder.build().unwrap();
    let p = pool.clone();
    let t = pool.submit(move || chain(p, n));
    assert_eq!(t.result_timeout(Duration::from_secs(60)), Ok(n));
    assert!(pool.join(LONG));
}

fn in_child(test: &str) {
    let outcome = run_child(test, Duration::from_secs(90));
    eprintln!("{test}: {outcome:?}");
    assert!(
        matches!(outcome, ChildOutcome::Passed),
        "{test}: child failed: {outcome:?}"
    );
}

#[test]
fn chain_of_1000_nested_waits_fits_a_default_worker_stack() {
    if is_child() {
        run_chain(1_000, None);
        return;
    }
    in_child("chain_of_1000_nested_waits_fits_a_default_worker_stack");
}

#[test]
fn chain_of_20000_nested_waits_fits_a_256_mib_worker_stack() {
    if is_child() {
        run_chain(20_000, Some(256 << 20));
        return;
    }
    in_child("chain_of_20000_nested_waits_fits_a_256_mib_worker_stack");
}
