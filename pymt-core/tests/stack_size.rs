//! Stack sizes of pool and worker threads.
//!
//! A body that needs more stack than the default (2 MiB for spawned Rust
//! threads) only survives if the setting was applied; if it was not, the
//! stack overflow aborts this test binary, which is why these tests live in
//! a file of their own.

use pymt_core as pymt;

mod common;

use common::{join, LONG};

const BIG: usize = 32 << 20;

/// Uses about 8 MiB of stack.
fn deep() -> usize {
    let buffer = [1u8; 8 << 20];
    std::hint::black_box(&buffer)
        .iter()
        .map(|&b| usize::from(b))
        .sum()
}

#[test]
fn pool_stack_size_is_applied() {
    let pool = pymt::Pool::builder()
        .max_workers(1)
        .stack_size(BIG)
        .build()
        .unwrap();
    assert_eq!(join(pool.submit(deep)), Ok(8 << 20));
    assert!(pool.join(LONG));
}

#[test]
fn worker_stack_size_is_applied() {
    let worker = pymt::Worker::builder().stack_size(BIG).build();
    assert_eq!(join(worker.submit(deep)), Ok(8 << 20));
    assert!(worker.join(LONG));
}

#[test]
fn a_small_stack_size_still_runs_ordinary_work() {
    let pool = pymt::Pool::builder()
        .max_workers(1)
        .stack_size(256 << 10)
        .build()
        .unwrap();
    assert_eq!(join(pool.submit(|| 2 + 2)), Ok(4));
    let worker = pymt::Worker::builder()
        .name("small-stack")
        .stack_size(256 << 10)
        .build();
    assert_eq!(join(worker.submit(|| 3)), Ok(3));
    assert!(worker.join(LONG));
}
