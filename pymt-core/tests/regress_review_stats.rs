//! From the second review: `PoolStats` exactness on every cancel path, and the promise
//! that a cancellation is counted (and uncounted from the queue) before the
//! task's own completion (callbacks, closure drop) runs.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Limiter, Pool, PoolStats, Task, TaskError};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A pool with one worker held busy until the returned sender is used.
fn busy_pool() -> (Pool, mpsc::Sender<()>, Task<()>) {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let blocker = pool.submit(move || {
        started_tx.send(()).unwrap();
        let _ = rx.recv_timeout(LONG);
    });
    started_rx.recv_timeout(LONG).unwrap();
    (pool, tx, blocker)
}

/// Registers a callback on `t` that records the pool's stats as seen from
/// inside the task's completion.
fn stats_in_callback<T: Send + 'static>(pool: &Pool, t: &Task<T>) -> Arc<Mutex<Option<PoolStats>>> {
    let seen = Arc::new(Mutex::new(None));
    let s = Arc::clone(&seen);
    let p = pool.clone();
    t.on_done(move |_| *s.lock().unwrap() = Some(p.stats()));
    seen
}

fn seen(x: &Arc<Mutex<Option<PoolStats>>>) -> PoolStats {
    x.lock().unwrap().clone().expect("callback ran")
}

#[test]
fn handle_cancel_of_a_queued_task_is_counted_before_its_callbacks() {
    let (pool, tx, blocker) = busy_pool();
    let t = pool.submit(|| 1);
    let s = stats_in_callback(&pool, &t);
    assert!(t.cancel());
    let s = seen(&s);
    assert_eq!((s.cancelled, s.queued), (1, 0), "{s:?}");
    tx.send(()).unwrap();
    assert!(blocker.wait_timeout(LONG));
    assert!(pool.wait_completion(LONG));
    let s = pool.stats();
    assert_eq!(
        (s.completed, s.cancelled, s.queued, s.active),
        (1, 1, 0, 0),
        "{s:?}"
    );
    assert!(pool.join(LONG));
}

#[test]
fn shutdown_cancels_are_counted_before_callbacks_and_exact() {
    let (pool, tx, blocker) = busy_pool();
    let t = pool.submit(|| 1);
    let s = stats_in_callback(&pool, &t);
    let n_jobs = 5;
    for _ in 0..n_jobs {
        pool.execute(|| ()).unwrap();
    }
    let p = pool.clone();
    let sd = thread::spawn(move || p.shutdown(LONG));
    thread::sleep(ms(50));
    tx.send(()).unwrap();
    assert!(sd.join().unwrap());
    let cb = seen(&s);
    assert!(cb.cancelled >= 1, "callback saw {cb:?}");
    assert_eq!(t.join(), Err(TaskError::Cancelled));
    assert!(blocker.is_done());
    let s = pool.stats();
    assert_eq!(
        (s.cancelled, s.completed, s.queued, s.active),
        (1 + n_jobs, 1, 0, 0),
        "{s:?}"
    );
}

#[test]
fn join_timeout_cancels_are_counted() {
    let (pool, tx, _blocker) = busy_pool();
    let tasks: Vec<_> = (0..4).map(|i| pool.submit(move || i)).collect();
    for _ in 0..3 {
        pool.execute(|| ()).unwrap();
    }
    assert!(!pool.join(ms(50)));
    tx.send(()).unwrap();
    for t in &tasks {
        assert!(t.wait_timeout(LONG));
        assert!(t.is_cancelled());
    }
    let start = std::time::Instant::now();
    while pool.stats().workers > 0 && start.elapsed() < LONG {
        thread::sleep(ms(5));
    }
    let s = pool.stats();
    assert_eq!(
        (s.cancelled, s.completed, s.queued, s.active, s.workers),
        (7, 1, 0, 0, 0),
        "{s:?}"
    );
}

/// A job cancelled at shutdown: its closure's `Drop` sees it gone.
#[test]
fn cancelled_job_drop_sees_counts_settled() {
    struct Probe(Pool, Arc<Mutex<Option<PoolStats>>>);
    impl Drop for Probe {
        fn drop(&mut self) {
            *self.1.lock().unwrap() = Some(self.0.stats());
        }
    }
    let (pool, tx, _blocker) = busy_pool();
    let seen_at_drop = Arc::new(Mutex::new(None));
    let probe = Probe(pool.clone(), Arc::clone(&seen_at_drop));
    pool.execute(move || drop(probe)).unwrap();
    let p = pool.clone();
    let sd = thread::spawn(move || p.shutdown(LONG));
    thread::sleep(ms(30));
    tx.send(()).unwrap();
    assert!(sd.join().unwrap());
    let s = seen(&seen_at_drop);
    assert_eq!((s.cancelled, s.queued), (1, 0), "{s:?}");
}

/// Deferred tasks (waiting in a limiter): cancelled while waiting, then the
/// permit frees. Counted once, queue count back to zero.
#[test]
fn deferred_cancel_is_counted_once() {
    let limiter: &'static Limiter = Box::leak(Box::new(Limiter::new(1)));
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let held = limiter.acquire();
    let tasks: Vec<Task<usize>> = (0..6)
        .map(|i| {
            pymt::__private::Launch::new()
                .deferred(limiter)
                .on(&pool, move || i)
        })
        .collect();
    let cbs: Vec<_> = tasks.iter().map(|t| stats_in_callback(&pool, t)).collect();
    for t in tasks.iter().step_by(2) {
        assert!(t.cancel());
    }
    let cb = seen(&cbs[0]);
    assert_eq!((cb.cancelled, cb.queued), (1, 0), "{cb:?}");
    drop(held);
    for t in &tasks {
        assert!(t.wait_timeout(LONG));
    }
    assert!(pool.wait_completion(LONG));
    let s = pool.stats();
    assert_eq!(
        (s.cancelled, s.completed, s.queued, s.active),
        (3, 3, 0, 0),
        "{s:?}"
    );
    assert!(pool.join(LONG));
}

/// Races: cancels from handles, a shutdown, late submissions, jobs, inline
/// runs. Every task ends in exactly one counted outcome (Rejected aside),
/// and the counts match the handles' states.
#[test]
fn counts_match_states_after_a_racing_shutdown() {
    for round in 0..40u64 {
        let pool = Pool::builder().max_workers(2).build().unwrap();
        let jobs_ran = Arc::new(AtomicUsize::new(0));
        let jobs_ok = Arc::new(AtomicUsize::new(0));
        let mut rng = Rng::new(round * 7 + 1);
        let mut tasks: Vec<Task<u64>> = Vec::new();
        for i in 0..60 {
            let d = rng.below(30_000);
            match rng.below(4) {
                0 => {
                    let j = Arc::clone(&jobs_ran);
                    if pool
                        .execute(move || {
                            spin_ns(d);
                            j.fetch_add(1, SeqCst);
                        })
                        .is_ok()
                    {
                        jobs_ok.fetch_add(1, SeqCst);
                    }
                }
                1 => {
                    let p = pool.clone();
                    tasks.push(pool.submit(move || {
                        let inner = p.submit(move || d);
                        inner.result().unwrap_or(0)
                    }));
                }
                _ => tasks.push(pool.submit_with_priority(i % 5 - 2, move || {
                    spin_ns(d);
                    d
                })),
            }
        }
        let victims: Vec<_> = tasks.iter().step_by(3).cloned().collect();
        let canceller = thread::spawn(move || victims.iter().filter(|t| t.cancel()).count());
        let p = pool.clone();
        let late = thread::spawn(move || (0..30).map(|_| p.submit(|| 7u64)).collect::<Vec<_>>());
        spin_ns(rng.below(200_000));
        assert!(pool.shutdown(LONG), "round {round}: {:?}", pool.stats());
        let _ = canceller.join().unwrap();
        tasks.extend(late.join().unwrap());
        for t in &tasks {
            assert!(t.wait_timeout(LONG), "round {round}: a task never ended");
        }
        let s = pool.stats();
        let state = |st: pymt::TaskState| tasks.iter().filter(|t| t.state() == st).count();
        let succeeded = state(pymt::TaskState::Succeeded);
        let cancelled = state(pymt::TaskState::Cancelled);
        // Inner tasks (submitted by the `1` arm) are not in `tasks`: count
        // completed loosely, cancelled exactly when no inner was made.
        let ran_jobs = jobs_ran.load(SeqCst);
        let jobs_cancelled = jobs_ok.load(SeqCst) - ran_jobs;
        assert_eq!((s.queued, s.active), (0, 0), "round {round}: {s:?}");
        assert!(
            s.completed >= succeeded + ran_jobs,
            "round {round}: completed {} < {succeeded} tasks + {ran_jobs} jobs: {s:?}",
            s.completed
        );
        assert!(
            s.cancelled >= cancelled + jobs_cancelled,
            "round {round}: cancelled {} < {cancelled} tasks + {jobs_cancelled} jobs: {s:?}",
            s.cancelled
        );
    }
}

/// Exact version without inner tasks: every counted outcome is a handle's.
#[test]
fn counts_exact_after_a_racing_shutdown_without_inner_tasks() {
    for round in 0..60u64 {
        let pool = Pool::builder().max_workers(2).build().unwrap();
        let mut rng = Rng::new(round * 13 + 5);
        let mut tasks: Vec<Task<u64>> = Vec::new();
        for i in 0..50 {
            let d = rng.below(20_000);
            tasks.push(pool.submit_with_priority(i % 7 * 40 - 120, move || {
                spin_ns(d);
                d
            }));
        }
        let victims: Vec<_> = tasks.iter().rev().step_by(3).cloned().collect();
        let canceller = thread::spawn(move || victims.iter().filter(|t| t.cancel()).count());
        let p = pool.clone();
        let late = thread::spawn(move || (0..30).map(|_| p.submit(|| 7u64)).collect::<Vec<_>>());
        spin_ns(rng.below(150_000));
        if round % 2 == 0 {
            assert!(pool.shutdown(LONG));
        } else {
            // A short join may time out (it then cancels what is queued).
            let _ = pool.join(Duration::from_micros(rng.below(300)));
        }
        let _ = canceller.join().unwrap();
        tasks.extend(late.join().unwrap());
        for t in &tasks {
            assert!(t.wait_timeout(LONG), "round {round}: a task never ended");
        }
        let start = std::time::Instant::now();
        while (pool.stats().workers > 0 || pool.stats().active > 0) && start.elapsed() < LONG {
            thread::sleep(ms(2));
        }
        let s = pool.stats();
        let state = |st: pymt::TaskState| tasks.iter().filter(|t| t.state() == st).count();
        assert_eq!(
            (s.completed, s.cancelled, s.queued, s.active),
            (
                state(pymt::TaskState::Succeeded),
                state(pymt::TaskState::Cancelled),
                0,
                0
            ),
            "round {round} (rejected {})",
            state(pymt::TaskState::Rejected)
        );
    }
}
