//! pymt in one minute: run functions on other threads and get typed handles.
//!
//! Run with `cargo run --example quickstart`.

use std::time::Duration;

use pymt::{Pool, ReturnWhen};

fn fib(n: u64) -> u64 {
    (1..n).fold((0, 1), |(a, b), _| (b, a + b)).1
}

fn main() {
    // A thread per call, with a typed handle back.
    let task = pymt::spawn(|| fib(50));
    println!("fib(50) on its own thread = {}", task.join().expect("fib"));

    // A named pool from the process-wide registry; higher priority runs first.
    let pool = Pool::named("quickstart");
    let urgent = pool.submit_with_priority(10, || fib(80));
    let tasks = pool.map(fib, [10, 20, 30, 40]);
    println!("urgent fib(80) = {}", urgent.join().expect("urgent"));

    let (done, pending) = pymt::wait(&tasks, ReturnWhen::AllCompleted, Duration::from_secs(10));
    assert!(pending.is_empty(), "every task finishes");
    for task in done {
        println!("{task} -> {}", task.result().expect("fib"));
    }

    // Panics are values, not crashes.
    let failing = pool.submit(|| -> u64 { panic!("deliberate failure") });
    match failing.join() {
        Err(error) => println!("a failing task reports: {error}"),
        Ok(_) => unreachable!(),
    }

    let stats = pool.stats();
    println!(
        "pool '{}': {} completed, {} panicked",
        pool.name(),
        stats.completed,
        stats.panicked
    );

    // Finish and stop every registered pool before exiting.
    assert!(Pool::join_pools(Duration::from_secs(10)));
    println!("all pools joined");
}
