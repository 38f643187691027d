//! Checks (suspicions that turned out fine; they must keep passing) of the
//! limiter: the QUEUED-bit fast path, FIFO hand-off, timed-out waiters,
//! deferred launches with cancellation racing the release. No permit leaks,
//! no lost hand-off.

mod common;
use common::*;

use pymt::{Limiter, Task, TaskState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[test]
fn acquire_release_timeouts_stress_keeps_permits() {
    let l = Arc::new(Limiter::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|k| {
            let (l, inside, peak) = (Arc::clone(&l), Arc::clone(&inside), Arc::clone(&peak));
            std::thread::spawn(move || {
                let mut rng = Rng::new(k + 1);
                let mut got = 0;
                for i in 0..20_000 {
                    let p = match i % 3 {
                        0 => Some(l.acquire()),
                        1 => l.try_acquire(),
                        _ => l.acquire_timeout(Duration::from_micros(rng.below(50))),
                    };
                    if let Some(p) = p {
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        spin_ns(rng.below(2_000));
                        inside.fetch_sub(1, Ordering::SeqCst);
                        drop(p);
                        got += 1;
                    }
                }
                got
            })
        })
        .collect();
    let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    eprintln!("{total} acquisitions, peak {}", peak.load(Ordering::SeqCst));
    assert!(peak.load(Ordering::SeqCst) <= 3);
    assert_eq!(l.available(), 3);
}

static D: Limiter = Limiter::new(2);
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[pymt::limiter(D, blocking = false)]
#[pymt::threaded(pool_name = "regress-limiter-checks", max_workers = 4)]
fn deferred(n: u64) -> u64 {
    let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
    PEAK.fetch_max(now, Ordering::SeqCst);
    spin_ns(n % 3_000);
    RUNNING.fetch_sub(1, Ordering::SeqCst);
    n
}

#[test]
fn deferred_launches_with_cancellation_races_keep_permits() {
    for round in 0..50u64 {
        let tasks: Arc<Mutex<Vec<Task<u64>>>> = Arc::new(Mutex::new(
            (0..400).map(|i| deferred(round * 1000 + i)).collect(),
        ));
        let t2 = Arc::clone(&tasks);
        let canceller = std::thread::spawn(move || {
            let mut rng = Rng::new(round + 7);
            for _ in 0..200 {
                let i = rng.below(400) as usize;
                let t = t2.lock().unwrap()[i].clone();
                t.cancel();
                spin_ns(rng.below(3_000));
            }
        });
        canceller.join().unwrap();
        let tasks = tasks.lock().unwrap();
        for t in tasks.iter() {
            assert!(
                t.wait_timeout(LONG),
                "round {round}: a deferred task never ended"
            );
            assert!(matches!(
                t.state(),
                TaskState::Succeeded | TaskState::Cancelled
            ));
        }
        assert!(
            D.acquire_timeout(LONG).is_some(),
            "round {round}: permits lost"
        );
        assert_eq!(D.available(), 2, "round {round}");
    }
    assert!(
        PEAK.load(Ordering::SeqCst) <= 2,
        "peak {}",
        PEAK.load(Ordering::SeqCst)
    );
}
