//! Review of the wake-token hand-off of a leaving worker (30d803d:
//! `Executor::pass_wakes_on`, called from `WorkerLoop::exit` and its unwind
//! guard) and of the consistent occupancy read (5f7ae5c:
//! `Counts::occupancy`, `pushed` between two agreeing reads of `load`, up to
//! 8 tries, then erring high).
//!
//! Suspicions attacked: tokens pushed by a leaving worker that no one takes
//! inflate `tokens`, so a later ranked push's `wake_one_for_entry` skips a
//! wake and its entry strands while a worker blocks on the lane (idle
//! reaping and surplus retirement in an open pool, tiny idle timeouts,
//! min_workers 0/1); a storm of tokens on close; a bounded queue that
//! refuses (`Full`) or keeps a submitter waiting while it has room, because
//! the occupancy errs high.
//!
//! Each test is a bounded stress of a few seconds: every wait is bounded
//! (`bounded`, `wait_timeout`, `LONG`). After each burst nothing more is
//! submitted until the burst has ended, so a stranded entry is not rescued
//! by a later push's wake-up. Tests that pass are checks (the suspicion
//! turned out fine); a failing one reproduces a defect (see its comment).

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Pool, SubmitError, Task};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// How long one burst's task may take to end: far beyond any run, short
/// enough that a stranded entry fails the test quickly.
const BURST_BOUND: Duration = Duration::from_secs(3);

fn budget() -> Instant {
    Instant::now() + Duration::from_secs(env_knob("ATTACK_SECS", 3u64))
}

#[track_caller]
fn all_end(tasks: Vec<Task<()>>, what: &str) {
    let start = Instant::now();
    for (i, task) in tasks.into_iter().enumerate() {
        let left = BURST_BOUND.saturating_sub(start.elapsed());
        assert!(
            task.wait_timeout(left),
            "{what}: task {i} ({task}) did not end within {BURST_BOUND:?} (stranded?)"
        );
    }
}

/// Idle workers reaped (tiny idle timeout, min_workers 0 or 1) in an open
/// pool while ranked tasks arrive in bursts separated by pauses about as
/// long as the timeout: workers retire and leave (passing tokens on)
/// exactly when ranked pushes look at `idle` and `tokens`. Every task of a
/// burst must end before the next burst is submitted.
#[test]
fn ranked_bursts_while_idle_workers_are_reaped() {
    let deadline = budget();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let min = (round % 2) as usize;
        let max = 2 + (round % 3) as usize;
        let pool = Pool::builder()
            .min_workers(min)
            .max_workers(max)
            .idle_timeout(Duration::from_micros(200 + 300 * (round % 4)))
            .build()
            .unwrap();
        let mut rng = Rng::new(round);
        for _ in 0..30 {
            let n = 1 + rng.below(6) as usize;
            let mut tasks = Vec::new();
            for _ in 0..n {
                let prio = [1, -1, 5, 100, -100, 0][rng.below(6) as usize];
                let spin = rng.below(30_000);
                tasks.push(pool.submit_with_priority(prio, move || spin_ns(spin)));
            }
            all_end(tasks, &format!("round {round} min {min} max {max}"));
            // Let some workers time out (or not) before the next burst.
            let pause = rng.below(1500);
            if pause > 0 {
                thread::sleep(Duration::from_micros(pause));
            }
        }
        assert!(pool.join(LONG), "round {round}: join timed out");
    }
}

/// Several submitters at once, ranked only, with the pool reaping idle
/// workers between bursts: concurrent ranked pushes read `idle`/`tokens`
/// while workers leave and tokens are passed on.
#[test]
fn concurrent_ranked_submitters_with_reaping() {
    let deadline = budget();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let pool = Pool::builder()
            .min_workers((round % 2) as usize)
            .max_workers(3)
            .idle_timeout(Duration::from_micros(300))
            .build()
            .unwrap();
        let threads: Vec<_> = (0..3u64)
            .map(|t| {
                let pool = pool.clone();
                thread::spawn(move || {
                    let mut rng = Rng::new(round * 7 + t);
                    for _ in 0..20 {
                        let tasks: Vec<_> = (0..1 + rng.below(3))
                            .map(|_| {
                                let prio = if rng.below(2) == 0 { 3 } else { -3 };
                                let spin = rng.below(10_000);
                                pool.submit_with_priority(prio, move || spin_ns(spin))
                            })
                            .collect();
                        all_end(tasks, &format!("round {round} submitter {t}"));
                        thread::sleep(Duration::from_micros(rng.below(800)));
                    }
                })
            })
            .collect();
        for t in threads {
            let ok = bounded(LONG, move || t.join().is_ok());
            assert_eq!(ok, Some(true), "round {round}: a submitter failed or hung");
        }
        assert!(pool.join(LONG), "round {round}: join timed out");
    }
}

/// Surplus workers retire (set_max_workers shrinking, which also pushes a
/// token per surplus worker, and those busy retire without taking theirs)
/// while ranked bursts are submitted: stale tokens in the lane and
/// retiring workers that took a token meant for a blocked one.
#[test]
fn ranked_bursts_while_surplus_workers_retire() {
    let deadline = budget();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let pool = Pool::builder()
            .min_workers(0)
            .max_workers(4)
            .idle_timeout(Duration::from_millis(1 + round % 3))
            .build()
            .unwrap();
        let mut rng = Rng::new(round ^ 0xabc);
        for _ in 0..40 {
            let mut tasks = Vec::new();
            for _ in 0..1 + rng.below(8) {
                let prio = [2, -2, 0, 70][rng.below(4) as usize];
                let spin = rng.below(50_000);
                tasks.push(pool.submit_with_priority(prio, move || spin_ns(spin)));
            }
            // Shrink while the burst runs (busy surplus workers retire
            // between tasks), grow back before the next.
            pool.set_max_workers(1 + rng.below(2) as usize);
            if rng.below(2) == 0 {
                let spin = rng.below(20_000);
                tasks.push(pool.submit_with_priority(9, move || spin_ns(spin)));
            }
            all_end(tasks, &format!("round {round} (shrunk)"));
            pool.set_max_workers(2 + rng.below(3) as usize);
            thread::sleep(Duration::from_micros(rng.below(2000)));
        }
        assert!(pool.join(LONG), "round {round}: join timed out");
    }
}

/// Compensation surplus: a task waits (timed) on a queued task of its own
/// pool, a compensating worker starts, and when the wait ends the surplus
/// worker retires (its `Blocked` guard pushes tokens for it). Ranked tasks
/// submitted right after must all run.
#[test]
fn ranked_tasks_after_compensation_surplus_retires() {
    let deadline = budget();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let pool = Pool::builder()
            .min_workers(round as usize % 2)
            .max_workers(1)
            .idle_timeout(Duration::from_micros(500))
            .build()
            .unwrap();
        let mut rng = Rng::new(round * 13);
        for _ in 0..15 {
            let inner_pool = pool.clone();
            let outer = pool.submit(move || {
                let inner = inner_pool.submit_with_priority(4, || spin_ns(5_000));
                // Timed: not run inline, the pool compensates.
                assert!(inner.wait_timeout(LONG), "inner did not run");
            });
            let mut tasks = vec![outer];
            for _ in 0..rng.below(5) {
                let prio = [-1, 1, 33][rng.below(3) as usize];
                tasks.push(pool.submit_with_priority(prio, || spin_ns(2_000)));
            }
            all_end(tasks, &format!("round {round}"));
            // Ranked tasks alone, after the surplus retired (or while).
            let tasks: Vec<_> = (0..1 + rng.below(3))
                .map(|_| pool.submit_with_priority(-7, || spin_ns(1_000)))
                .collect();
            all_end(tasks, &format!("round {round} (after)"));
            thread::sleep(Duration::from_micros(rng.below(1000)));
        }
        assert!(pool.join(LONG), "round {round}: join timed out");
    }
}

/// A storm of tokens on close: many idle workers, then `join` (each leaving
/// worker pushes a token per idle worker without one). Join must return,
/// every worker must be gone, and a pool joined this way must end
/// everything queued before the close, ranked included.
#[test]
fn token_storm_on_close_ends_cleanly() {
    let deadline = budget();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let workers = 2 + (round % 7) as usize;
        let pool = Pool::builder()
            .min_workers(workers)
            .max_workers(workers)
            .build()
            .unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let n = (round % 5) as usize;
        for i in 0..n {
            let ran = Arc::clone(&ran);
            pool.execute_with_priority_or_plain(i, move || {
                ran.fetch_add(1, SeqCst);
            });
        }
        let joined = {
            let pool = pool.clone();
            bounded(LONG, move || pool.join(LONG))
        };
        assert_eq!(joined, Some(true), "round {round}: join hung or timed out");
        assert_eq!(ran.load(SeqCst), n, "round {round}: queued work lost");
        wait_for("every worker gone after join", || pool.stats().workers == 0);
    }
}

/// Execute at a priority picked from `i` (helper for the storm test).
trait ExecuteRanked {
    fn execute_with_priority_or_plain(&self, i: usize, f: impl FnOnce() + Send + 'static);
}

impl ExecuteRanked for Pool {
    fn execute_with_priority_or_plain(&self, i: usize, f: impl FnOnce() + Send + 'static) {
        if i % 2 == 0 {
            self.execute(f).unwrap();
        } else {
            drop(self.submit_with_priority(if i % 4 == 1 { 8 } else { -8 }, f));
        }
    }
}

/// A bounded queue never refuses (`try_submit` -> `Full`) while it has
/// room: one producer (so nothing else pushes while it is admitted), whose
/// tasks record that they started. Before each `try_submit` the producer
/// reads how many started; the queue can hold at most `submitted - started`
/// then (a start only lowers it), so `Full` with fewer than `capacity` is
/// an over-refusal. Other workers keep the `load` word churning (pops and
/// finishes), which is what makes `occupancy` retry and err high.
#[test]
fn bounded_try_submit_never_full_with_room() {
    let deadline = budget();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let cap = 1 + (round % 4) as usize;
        let pool = Pool::builder()
            .max_workers(2 + (round % 3) as usize)
            .queue_capacity(cap)
            .build()
            .unwrap();
        let started = Arc::new(AtomicUsize::new(0));
        let mut submitted = 0usize;
        let mut fulls = 0usize;
        let mut rng = Rng::new(round + 99);
        let mut handles = Vec::new();
        for _ in 0..5_000 {
            let before = started.load(SeqCst);
            let s = Arc::clone(&started);
            let spin = rng.below(3_000);
            let prio = [0, 0, 2, -2][rng.below(4) as usize];
            let f = move || {
                s.fetch_add(1, SeqCst);
                spin_ns(spin);
            };
            match pool.try_submit_with_priority(prio, f) {
                Ok(task) => {
                    submitted += 1;
                    handles.push(task);
                }
                Err(SubmitError::Full(_)) => {
                    fulls += 1;
                    let held = submitted - before;
                    assert!(
                        held >= cap,
                        "round {round}: Full with at most {held} queued, capacity {cap}"
                    );
                }
                Err(SubmitError::Shutdown(_)) => panic!("pool closed"),
            }
        }
        for task in handles {
            assert!(task.wait_timeout(LONG), "round {round}: task hung");
        }
        let _ = fulls;
        assert!(pool.join(LONG));
    }
}

/// A blocking `submit` to a full bounded queue (capacity 1) from several
/// producers never waits forever: each pop wakes one space sleeper, and an
/// occupancy read that errs high must not make a sleeper miss the last one.
#[test]
fn bounded_submitters_never_wait_forever() {
    let deadline = budget();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let pool = Pool::builder()
            .max_workers(1 + (round % 3) as usize)
            .min_workers(0)
            .idle_timeout(Duration::from_micros(300))
            .queue_capacity(1)
            .build()
            .unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        let producers: Vec<_> = (0..4u64)
            .map(|t| {
                let (pool, done) = (pool.clone(), Arc::clone(&done));
                thread::spawn(move || {
                    let mut rng = Rng::new(round * 5 + t);
                    for _ in 0..300 {
                        let d = Arc::clone(&done);
                        let spin = rng.below(5_000);
                        let prio = [0, 1, -1][rng.below(3) as usize];
                        drop(pool.submit_with_priority(prio, move || {
                            spin_ns(spin);
                            d.fetch_add(1, SeqCst);
                        }));
                    }
                })
            })
            .collect();
        for p in producers {
            let ok = bounded(LONG, move || p.join().is_ok());
            assert_eq!(ok, Some(true), "round {round}: a producer hung (or failed)");
        }
        assert!(pool.wait_completion(LONG), "round {round}: not settled");
        assert_eq!(done.load(SeqCst), 1200, "round {round}");
        let s = pool.stats();
        assert_eq!((s.queued, s.active), (0, 0), "round {round}: {s:?}");
        assert!(pool.join(LONG));
    }
}

/// `stats().queued` of a bounded queue fed by outside producers never
/// exceeds the capacity (the occupancy reads are consistent, and when they
/// give up and err high, only by entries popped meanwhile, which is still
/// at most what the queue held).
#[test]
fn bounded_queue_stats_never_exceed_capacity() {
    let deadline = budget();
    let cap = 3;
    let pool = Pool::builder()
        .max_workers(2)
        .queue_capacity(cap)
        .build()
        .unwrap();
    let producer = {
        let pool = pool.clone();
        thread::spawn(move || {
            let mut rng = Rng::new(7);
            while Instant::now() < deadline {
                let spin = rng.below(2_000);
                let prio = [0, 4][rng.below(2) as usize];
                drop(pool.submit_with_priority(prio, move || spin_ns(spin)));
            }
        })
    };
    let mut max_seen = 0;
    while Instant::now() < deadline {
        let s = pool.stats();
        max_seen = max_seen.max(s.queued);
        assert!(
            s.queued <= cap,
            "queued {} over capacity {cap}: {s:?}",
            s.queued
        );
    }
    let ok = bounded(LONG, move || producer.join().is_ok());
    assert_eq!(ok, Some(true));
    let _ = max_seen;
    assert!(pool.join(LONG));
}
