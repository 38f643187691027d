//! pymt in one minute: decorate a function, call it, join the handle.
//!
//! Run with `cargo run --example quickstart`.

use std::time::Duration;

use pymt::{threaded, Pool, ReturnWhen};

/// Runs on a thread of its own per call.
#[threaded]
fn fib(n: u64) -> u64 {
    (1..n).fold((0, 1), |(a, b), _| (b, a + b)).1
}

/// Runs on the registered pool "quickstart", shared with `checksum`.
#[threaded(pool_name = "quickstart", max_workers = 2)]
fn word_count(text: String) -> usize {
    text.split_whitespace().count()
}

#[threaded(pool_name = "quickstart", priority = 10)]
fn checksum(data: Vec<u8>) -> u32 {
    data.iter().map(|&b| u32::from(b)).sum()
}

#[threaded(pool_name = "quickstart")]
fn flaky(fail: bool) -> &'static str {
    assert!(!fail, "deliberate failure");
    "fine"
}

fn main() {
    // Calling a #[threaded] function returns a Task handle at once.
    let task = fib(50);
    println!(
        "fib(50) = {} (computed on another thread)",
        task.join().expect("fib")
    );

    // Functions naming the same pool share its workers and its priority queue.
    let counts: Vec<_> = ["the quick brown fox", "jumps over", "the lazy dog"]
        .into_iter()
        .map(|line| word_count(line.to_owned()))
        .collect();
    let sum = checksum(b"pymt".to_vec());

    let (done, pending) = pymt::wait(&counts, ReturnWhen::AllCompleted, Duration::from_secs(10));
    assert!(pending.is_empty(), "every task finishes");
    for task in &done {
        println!("{task}: {} words", task.result().expect("word count"));
    }
    println!("checksum = {}", sum.join().expect("checksum"));

    // Panics are values, not crashes.
    match flaky(true).join() {
        Err(error) => println!("flaky(true) reports: {error}"),
        Ok(value) => unreachable!("{value}"),
    }
    println!("flaky(false) = {:?}", flaky(false).join());

    let pool = Pool::get_pool_by_name("quickstart").expect("created on first call");
    let stats = pool.stats();
    println!(
        "pool '{}' (max {} workers): {} completed, {} panicked",
        pool.name(),
        pool.max_workers(),
        stats.completed,
        stats.panicked
    );

    // Finish and stop every registered pool before exiting.
    assert!(Pool::join_pools(Duration::from_secs(10)));
    println!("all pools joined");
}
