//! Checks (suspicions that turned out fine; they must keep passing) of the
//! pool's lifecycle paths: idle reaping, set_max_workers shrinking, join vs
//! submit races, drain vs submit, Drop of the last handle with queued work.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Pool, Task, TaskState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(ms(5));
    }
    f()
}

#[test]
fn idle_workers_are_reaped_and_shrink_is_prompt() {
    let pool = Pool::builder()
        .max_workers(4)
        .idle_timeout(ms(100))
        .build()
        .unwrap();
    let barrier = Arc::new(Barrier::new(5));
    let tasks: Vec<Task<()>> = (0..4)
        .map(|_| {
            let b = Arc::clone(&barrier);
            pool.submit(move || {
                b.wait();
            })
        })
        .collect();
    barrier.wait();
    for t in tasks {
        assert!(t.wait_timeout(LONG));
    }
    assert_eq!(pool.stats().workers, 4);
    assert!(
        wait_until(ms(2_000), || pool.stats().workers == 0),
        "idle workers not reaped: {:?}",
        pool.stats()
    );

    let pool = Pool::builder()
        .max_workers(4)
        .idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let barrier = Arc::new(Barrier::new(5));
    let tasks: Vec<Task<()>> = (0..4)
        .map(|_| {
            let b = Arc::clone(&barrier);
            pool.submit(move || {
                b.wait();
            })
        })
        .collect();
    barrier.wait();
    for t in tasks {
        assert!(t.wait_timeout(LONG));
    }
    pool.set_max_workers(1);
    assert!(
        wait_until(ms(1_000), || pool.stats().workers == 1),
        "shrink not prompt: {:?}",
        pool.stats()
    );
    assert_eq!(pool.submit(|| 3).result_timeout(LONG), Ok(3));
    assert!(pool.join(LONG));
}

#[test]
fn submissions_racing_join_all_end() {
    for round in 0..200 {
        let pool = Pool::builder().max_workers(2).build().unwrap();
        let barrier = Arc::new(Barrier::new(3));
        let mut submitters = Vec::new();
        for k in 0..2 {
            let (p, b) = (pool.clone(), Arc::clone(&barrier));
            submitters.push(std::thread::spawn(move || {
                b.wait();
                (0..200)
                    .map(|i| p.submit_with_priority(i % 3 - 1 + k, move || i))
                    .collect::<Vec<_>>()
            }));
        }
        barrier.wait();
        std::thread::sleep(Duration::from_micros((round % 7) * 20));
        let joined = pool.join(LONG);
        assert!(joined, "round {round}: join timed out: {:?}", pool.stats());
        for s in submitters {
            for t in s.join().unwrap() {
                assert!(t.wait_timeout(LONG), "round {round}: a task never ended");
                assert!(
                    matches!(t.state(), TaskState::Succeeded | TaskState::Rejected),
                    "{:?}",
                    t.state()
                );
            }
        }
        assert_eq!(pool.stats().queued, 0);
    }
}

#[test]
fn dropping_the_last_handle_lets_queued_work_finish() {
    let ran = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<Task<()>> = {
        let pool = Pool::builder().max_workers(1).build().unwrap();
        (0..100)
            .map(|_| {
                let r = Arc::clone(&ran);
                pool.submit(move || {
                    std::thread::sleep(Duration::from_micros(200));
                    r.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect()
    };
    for t in &tasks {
        assert!(t.wait_timeout(LONG));
        assert_eq!(t.state(), TaskState::Succeeded);
    }
    assert_eq!(ran.load(Ordering::SeqCst), 100);
}

#[test]
fn drain_blocks_outside_submissions_and_releases_them() {
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let slow = pool.submit(|| std::thread::sleep(ms(200)));
    let p = pool.clone();
    let drainer = std::thread::spawn(move || p.drain(LONG));
    std::thread::sleep(ms(50));
    let start = Instant::now();
    let t = pool.submit(|| 1);
    let waited = start.elapsed();
    assert!(drainer.join().unwrap());
    assert_eq!(t.result_timeout(LONG), Ok(1));
    assert!(slow.wait_timeout(LONG));
    eprintln!("submission during drain waited {waited:?}");
    assert!(waited >= ms(100));
    assert!(pool.join(LONG));
}

#[test]
fn wait_completion_does_not_miss_the_last_completion() {
    for _ in 0..2_000 {
        let pool = Pool::builder().max_workers(2).build().unwrap();
        let ts: Vec<Task<()>> = (0..4).map(|_| pool.submit(|| spin_ns(2_000))).collect();
        assert!(
            pool.wait_completion(LONG),
            "wait_completion missed the end: {:?}",
            pool.stats()
        );
        for t in ts {
            assert!(t.is_done());
        }
        assert!(pool.join(LONG));
    }
}
