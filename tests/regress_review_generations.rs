//! Adversarial review of `generations.rs`: `Pool::join_pools` in a loop
//! while other threads call `#[threaded(pool_name)]` and `#[threaded(pool)]`
//! functions. No call may hang or panic; every task ends; a call that
//! starts after a join has returned runs on a fresh pool. Memory: each
//! replacement keeps the closed pool (no threads) for the process's life;
//! `superseded_pools_cost_is_bounded_per_generation` measures it.
//!
//! Its own binary: `join_pools` joins every registered pool of the process.

mod common;
use common::*;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use pymt::{Pool, TaskError};

/// `join_pools` and `join_daemons` reach every test of the binary.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[pymt::threaded(pool_name = "attack-gen-shared")]
fn shared(i: usize) -> usize {
    i
}

#[pymt::threaded(pool, max_workers = 2)]
fn private(i: usize) -> usize {
    i + 1
}

#[pymt::threaded(daemon)]
fn daemon_call(i: usize) -> usize {
    i + 2
}

/// Callers race `join_pools` (and `join_daemons`): every task ends within
/// `LONG`, succeeded or (a call racing the join) rejected, never hung,
/// never panicked; the callers themselves never panic.
#[test]
fn join_pools_in_a_loop_while_threads_call() {
    let _serial = serial();
    within("join_pools vs callers", || {
        let stop = Arc::new(AtomicBool::new(false));
        let rejected = Arc::new(AtomicUsize::new(0));
        let ok = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..3)
            .map(|t| {
                let (stop, rejected, ok) =
                    (Arc::clone(&stop), Arc::clone(&rejected), Arc::clone(&ok));
                thread::spawn(move || {
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let tasks = [shared(i), private(i), daemon_call(i)];
                        for (k, task) in tasks.into_iter().enumerate() {
                            assert!(task.wait_timeout(LONG), "caller {t}: a task hung");
                            match task.join() {
                                Ok(v) => {
                                    assert_eq!(v, i + k);
                                    ok.fetch_add(1, Ordering::Relaxed);
                                }
                                Err(TaskError::Rejected) => {
                                    rejected.fetch_add(1, Ordering::Relaxed);
                                }
                                Err(e) => panic!("caller {t}: {e:?}"),
                            }
                        }
                        i += 1;
                    }
                })
            })
            .collect();
        for round in 0..300 {
            assert!(Pool::join_pools(LONG), "round {round}");
            if round % 3 == 0 {
                assert!(pymt::join_daemons(LONG), "round {round}");
            }
            // A call after the join has returned runs on a fresh pool.
            assert_eq!(shared(7).join(), Ok(7), "round {round}");
            assert_eq!(private(7).join(), Ok(8), "round {round}");
        }
        stop.store(true, Ordering::Relaxed);
        for c in callers {
            c.join().expect("a caller panicked");
        }
        eprintln!(
            "join_pools race: {} ok, {} rejected (calls racing a join)",
            ok.load(Ordering::Relaxed),
            rejected.load(Ordering::Relaxed)
        );
    });
}

fn rss_kib() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[pymt::threaded(pool_name = "attack-gen-memory")]
fn memory_call() -> u8 {
    1
}

/// Each `join_pools` round costs one superseded pool per slot, kept for
/// the process's life (documented). Bounded per generation: check it is
/// a few KiB, not a leak of threads or queued tasks.
#[test]
fn superseded_pools_cost_is_bounded_per_generation() {
    if !is_child() {
        // Alone in a process, so other tests' allocations do not count.
        match run_child(
            "superseded_pools_cost_is_bounded_per_generation",
            std::time::Duration::from_secs(120),
        ) {
            ChildOutcome::Passed => return,
            other => panic!("{other:?}"),
        }
    }
    let rounds = 2000;
    for _ in 0..50 {
        assert_eq!(memory_call().join(), Ok(1));
        assert!(Pool::join_pools(LONG));
    }
    let before = rss_kib();
    for _ in 0..rounds {
        assert_eq!(memory_call().join(), Ok(1));
        assert!(Pool::join_pools(LONG));
    }
    let after = rss_kib();
    if let (Some(before), Some(after)) = (before, after) {
        let per = (after.saturating_sub(before) * 1024) / rounds;
        eprintln!("RSS {before} KiB -> {after} KiB: about {per} bytes per superseded pool");
        assert!(per < 64 * 1024, "{per} bytes kept per join_pools round");
    }
}

#[pymt::threaded(daemon)]
fn slow_daemon(gate: std::sync::mpsc::Receiver<()>) -> bool {
    gate.recv_timeout(LONG).is_ok()
}

/// Was a defect: `join_daemons` took the list of daemon slots out of
/// `DAEMONS` before it joined them, so a second `join_daemons` running
/// meanwhile found the list empty and returned `true` at once, while the
/// daemon worker still ran its task. Both now wait for it.
#[test]
fn concurrent_join_daemons_both_wait_for_the_daemon() {
    let _serial = serial();
    let (gate, rx) = std::sync::mpsc::channel();
    let task = slow_daemon(rx);
    let first = thread::spawn(|| pymt::join_daemons(LONG));
    // Let the first join take its copy of the list and block on the task.
    thread::sleep(ms(100));
    let (second_tx, second_rx) = std::sync::mpsc::channel();
    let second = thread::spawn(move || {
        let _ = second_tx.send(pymt::join_daemons(LONG));
    });
    assert!(
        second_rx.recv_timeout(ms(300)).is_err(),
        "a second join_daemons returned while the daemon still ran its task"
    );
    gate.send(()).unwrap();
    assert!(first.join().unwrap());
    assert_eq!(second_rx.recv_timeout(LONG), Ok(true));
    second.join().unwrap();
    assert_eq!(task.join(), Ok(true));
}
