//! Review of the main lane's own FIFO and parking (dae5321:
//! `executor/queue/fifo.rs`, `executor/queue/main_lane.rs`).
//!
//! Suspicions attacked through the public API:
//!
//! - a wake-up spent on a head whose push is still under way: idle
//!   workers, racing submitters; the consumer woken by the later push
//!   finds the head unpublished and blocks again, the head's push wakes one
//!   worker, and the later entry waits, unseen, for that worker to finish
//!   (`racing_submitters_meet_on_idle_workers`; the race window is a few
//!   instructions: this test catches it now and then on real threads, the
//!   loom model `lane_two_blocked_consumers_vs_two_racing_pushes` every
//!   time);
//! - values lost, duplicated or reordered across segments and their reuse
//!   (`one_worker_runs_each_submitters_jobs_in_order`,
//!   `bursts_on_many_reaped_workers_run_each_job_once`);
//! - the notified/waiting accounting drifting with many waiters, idle
//!   timeouts and spurious wake-ups (`bursts_on_many_reaped_workers_...`);
//! - `join` and `shutdown` racing pushes (`take_all` waits for pushes under
//!   way with `drain_one`), and every captured value dropped exactly once,
//!   also when one value's `Drop` panics.
//!
//! Every wait is bounded (`BOUND`, `bounded`, `LONG`), so a stranded entry
//! fails the test instead of hanging it. No timing assertions: bounds are
//! far beyond any run. Each test runs rounds for `FIFO_SECS` (default well
//! under a second).

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Pool, SubmitError, Task, TaskError};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How long a task that should run may take to end: far beyond any run.
const BOUND: Duration = Duration::from_secs(5);

fn budget() -> Instant {
    Instant::now() + Duration::from_millis(env_knob("FIFO_MS", 700u64))
}

#[track_caller]
fn all_end<T>(tasks: Vec<Task<T>>, what: &str) {
    let start = Instant::now();
    for (i, task) in tasks.into_iter().enumerate() {
        let left = BOUND.saturating_sub(start.elapsed());
        assert!(
            task.wait_timeout(left),
            "{what}: task {i} ({task}) did not end within {BOUND:?} (stranded?)"
        );
    }
}

/// `n` jobs that must run at the same time: each arrives, then waits (at
/// most `BOUND`) for the others. True if all arrived.
#[derive(Clone)]
struct Meeting(Arc<(Mutex<usize>, Condvar)>, usize);

impl Meeting {
    fn new(n: usize) -> Self {
        Meeting(Arc::new((Mutex::new(0), Condvar::new())), n)
    }

    fn arrive_and_wait(&self) -> bool {
        let (count, cond) = &*self.0;
        let mut count = count.lock().unwrap_or_else(PoisonError::into_inner);
        *count += 1;
        cond.notify_all();
        let (count, _) = cond
            .wait_timeout_while(count, BOUND, |count| *count < self.1)
            .unwrap_or_else(PoisonError::into_inner);
        *count >= self.1
    }
}

/// `n` workers (4; `FIFO_MEET`), idle (blocked on the lane), and `n`
/// submitters released at once, each submitting one job; the jobs must
/// meet, so every worker must run one at once. If the wake-up of a later
/// push is spent on a consumer that finds the head push still under way,
/// and nobody passes the head push's single wake-up on, a worker stays
/// blocked with a job queued while the others wait for it: the meeting
/// times out. (Without the fix this failed in about half of 3-second runs
/// on a 2-core machine; with it, never. The default budget catches it
/// less often: the loom model is the deterministic test.)
#[test]
fn racing_submitters_meet_on_idle_workers() {
    let deadline = budget();
    let n = env_knob("FIFO_MEET", 4usize);
    let pool = Pool::builder()
        .min_workers(n)
        .max_workers(n)
        .build()
        .unwrap();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let meeting = Meeting::new(n);
        let go = Arc::new(Barrier::new(n + 1));
        let submitters: Vec<_> = (0..n)
            .map(|_| {
                let (pool, meeting, go) = (pool.clone(), meeting.clone(), Arc::clone(&go));
                thread::spawn(move || {
                    go.wait();
                    pool.submit(move || meeting.arrive_and_wait())
                })
            })
            .collect();
        // Let the workers block on the lane (past their spin and yield).
        thread::sleep(Duration::from_micros(200));
        go.wait();
        for submitter in submitters {
            let task = submitter.join().unwrap();
            assert!(
                task.wait_timeout(BOUND + BOUND),
                "round {round}: a job never ran"
            );
            assert_eq!(
                task.join(),
                Ok(true),
                "round {round}: a job ran alone while the other waited (lost wake-up)"
            );
        }
    }
    assert!(pool.join(LONG));
}

/// One worker, several submitters at once, thousands of jobs (dozens of
/// segments, reused as the worker catches up): each submitter's jobs run in
/// its order, each exactly once.
#[test]
fn one_worker_runs_each_submitters_jobs_in_order() {
    const SUBMITTERS: usize = 4;
    let deadline = budget();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let pool = Pool::builder()
            .min_workers(1)
            .max_workers(1)
            .build()
            .unwrap();
        let each = 500 + 700 * (round as usize % 3);
        let record = Record::new();
        let submitters: Vec<_> = (0..SUBMITTERS)
            .map(|s| {
                let (pool, record) = (pool.clone(), record.clone());
                thread::spawn(move || {
                    for i in 0..each {
                        let record = record.clone();
                        pool.execute(move || record.push((s, i)))
                            .unwrap_or_else(|_| panic!("refused"));
                        if i % 97 == 0 {
                            thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        for submitter in submitters {
            submitter.join().unwrap();
        }
        assert!(pool.wait_completion(LONG), "round {round}: not settled");
        let ran = record.get();
        assert_eq!(ran.len(), SUBMITTERS * each, "round {round}: lost or extra");
        let mut next = [0usize; SUBMITTERS];
        for (s, i) in ran {
            assert_eq!(i, next[s], "round {round}: submitter {s} out of order");
            next[s] += 1;
        }
        assert!(pool.join(LONG));
    }
}

/// Many workers on two cores (more waiters than processors), a tiny idle
/// timeout (timed waits ending as pushes notify), min_workers 0..2, and
/// bursts from three submitters: every job runs exactly once and every
/// burst ends (no entry stranded while a worker is blocked, no waiter left
/// unwoken by a drifting `notified` count).
#[test]
fn bursts_on_many_reaped_workers_run_each_job_once() {
    let deadline = budget();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let pool = Pool::builder()
            .min_workers((round % 3) as usize)
            .max_workers(6)
            .idle_timeout(Duration::from_micros(100 + 200 * (round % 3)))
            .build()
            .unwrap();
        let submitters: Vec<_> = (0..3u64)
            .map(|t| {
                let pool = pool.clone();
                thread::spawn(move || {
                    let mut rng = Rng::new(round * 31 + t);
                    for burst in 0..15 {
                        let n = 1 + rng.below(12) as usize;
                        let runs: Arc<Vec<AtomicUsize>> =
                            Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect());
                        let tasks: Vec<_> = (0..n)
                            .map(|i| {
                                let runs = Arc::clone(&runs);
                                let spin = rng.below(20_000);
                                pool.submit(move || {
                                    runs[i].fetch_add(1, SeqCst);
                                    spin_ns(spin);
                                })
                            })
                            .collect();
                        all_end(tasks, &format!("round {round} submitter {t} burst {burst}"));
                        assert!(
                            runs.iter().all(|r| r.load(SeqCst) == 1),
                            "round {round}: a job ran twice or never"
                        );
                        thread::sleep(Duration::from_micros(rng.below(600)));
                    }
                })
            })
            .collect();
        for submitter in submitters {
            let ok = bounded(LONG, move || submitter.join().is_ok());
            assert_eq!(ok, Some(true), "round {round}: a submitter failed or hung");
        }
        assert!(pool.join(LONG), "round {round}: join timed out");
    }
}

/// Counts its drops; the one made with `panics` panics in `Drop`.
struct Tracked {
    drops: Arc<AtomicUsize>,
    panics: bool,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
        if self.panics {
            panic!("deliberate: Tracked::drop");
        }
    }
}

/// `join` while two submitters push as fast as they can (tokens of the
/// close and late pushes racing the idle workers): join returns, every
/// task ends (run, or refused once closed), every captured value is
/// dropped exactly once.
#[test]
fn join_races_concurrent_submitters() {
    let deadline = budget();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let pool = Pool::builder()
            .min_workers(1 + (round % 2) as usize)
            .max_workers(3)
            .build()
            .unwrap();
        let drops = Arc::new(AtomicUsize::new(0));
        let made = Arc::new(AtomicUsize::new(0));
        let go = Arc::new(Barrier::new(3));
        let submitters: Vec<_> = (0..2)
            .map(|_| {
                let (pool, drops, made, go) = (
                    pool.clone(),
                    Arc::clone(&drops),
                    Arc::clone(&made),
                    Arc::clone(&go),
                );
                thread::spawn(move || {
                    go.wait();
                    let mut tasks = Vec::new();
                    while !pool.is_closed() && tasks.len() < 5_000 {
                        made.fetch_add(1, SeqCst);
                        let value = Tracked {
                            drops: Arc::clone(&drops),
                            panics: false,
                        };
                        tasks.push(pool.submit(move || drop(value)));
                    }
                    tasks
                })
            })
            .collect();
        go.wait();
        thread::sleep(Duration::from_micros(50 + 100 * (round % 5)));
        let joined = bounded(LONG, {
            let pool = pool.clone();
            move || pool.join(LONG)
        });
        assert_eq!(joined, Some(true), "round {round}: join failed or hung");
        for submitter in submitters {
            let tasks = submitter.join().unwrap();
            let start = Instant::now();
            for task in tasks {
                assert!(
                    task.wait_timeout(BOUND.saturating_sub(start.elapsed())),
                    "round {round}: a task never ended"
                );
                match task.join() {
                    Ok(()) | Err(TaskError::Rejected) | Err(TaskError::Cancelled) => {}
                    Err(other) => panic!("round {round}: {other:?}"),
                }
            }
        }
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.active), (0, 0), "round {round}");
        assert_eq!(drops.load(SeqCst), made.load(SeqCst), "round {round}");
    }
}

/// `shutdown` while a worker is held and a backlog of several segments
/// waits, with submitters still pushing: every queued job is cancelled and
/// its captured value dropped exactly once, also past a value whose `Drop`
/// panics; none of the cancelled jobs runs.
#[test]
fn shutdown_drops_each_queued_value_once() {
    quiet_deliberate_panics("deliberate: Tracked::drop");
    let deadline = budget();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let pool = Pool::builder()
            .min_workers(1)
            .max_workers(1)
            .build()
            .unwrap();
        let (gate, held) = occupy(&pool);
        let _open = OpenOnDrop(gate.clone());
        let drops = Arc::new(AtomicUsize::new(0));
        let made = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicBool::new(false));
        let backlog = 100 + 37 * (round as usize % 5);
        let submit = |pool: &Pool, panics: bool| {
            made.fetch_add(1, SeqCst);
            let value = Tracked {
                drops: Arc::clone(&drops),
                panics,
            };
            let ran = Arc::clone(&ran);
            match pool.execute(move || {
                ran.store(true, SeqCst);
                drop(value);
            }) {
                Ok(()) => {}
                // Refused: the closure (and its value) comes back here.
                Err(SubmitError::Shutdown(f) | SubmitError::Full(f)) => {
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(f)));
                }
            }
        };
        for i in 0..backlog {
            submit(&pool, i == backlog / 2);
        }
        let late: Vec<_> = (0..2)
            .map(|_| {
                let (pool, drops, made, ran) = (
                    pool.clone(),
                    Arc::clone(&drops),
                    Arc::clone(&made),
                    Arc::clone(&ran),
                );
                thread::spawn(move || {
                    for _ in 0..200 {
                        made.fetch_add(1, SeqCst);
                        let value = Tracked {
                            drops: Arc::clone(&drops),
                            panics: false,
                        };
                        let ran = Arc::clone(&ran);
                        if pool
                            .execute(move || {
                                ran.store(true, SeqCst);
                                drop(value);
                            })
                            .is_err()
                        {
                            break;
                        }
                    }
                })
            })
            .collect();
        let stopper = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown(LONG))
        };
        // The held job ends once the pool is closed (the worker then
        // cancels what it pops).
        wait_for_at_most("the pool closed", BOUND, || pool.is_closed());
        gate.open();
        assert_eq!(
            bounded(LONG, move || stopper.join().unwrap()),
            Some(true),
            "round {round}: shutdown failed or hung"
        );
        for t in late {
            t.join().unwrap();
        }
        assert!(held.wait_timeout(BOUND));
        assert!(!ran.load(SeqCst), "round {round}: a cancelled job ran");
        wait_for_at_most("every value dropped", BOUND, || {
            drops.load(SeqCst) == made.load(SeqCst)
        });
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.active), (0, 0), "round {round}");
        assert_eq!(drops.load(SeqCst), made.load(SeqCst), "round {round}");
    }
}
