//! Review of the split queued count (c7d74ed: `pushed` on the submitters'
//! line, `popped`+`active` in the workers' word; readers read the workers'
//! word first and `pushed` last, so a count may be briefly too high, never
//! too low) and of the per-worker completion tallies (aa7a4ed).
//!
//! Each test is a bounded stress: many short rounds, every wait bounded by
//! `LONG` or a watchdog. Tests that pass are checks (suspicions that turned
//! out fine); a failing one reproduces a defect (see its comment).

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Pool, PoolStats, Task, TaskError};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

fn settled(s: &PoolStats) -> bool {
    s.queued == 0 && s.active == 0
}

/// A `wait_completion` that starts after `n` submissions returned never
/// returns before those `n` ended (ran or were cancelled), while other
/// threads keep submitting and cancelling: an undercount (or a reader that
/// sees a started entry in neither count) would let it return early, a lost
/// wake-up would make it time out.
#[test]
fn wait_completion_never_returns_before_earlier_submissions() {
    let rounds = env_knob("ATTACK_ROUNDS", 40u64);
    let deadline = Instant::now() + Duration::from_secs(4);
    for round in 0..rounds {
        if Instant::now() > deadline {
            break;
        }
        let pool = Pool::builder()
            .max_workers(1 + (round % 3) as usize)
            .build()
            .unwrap();
        let submitted = Arc::new(AtomicUsize::new(0));
        let ended = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Arc<Mutex<Vec<Task<()>>>> = Arc::default();
        let mut threads = Vec::new();
        for t in 0..3u64 {
            let (pool, submitted, ended, stop, handles) = (
                pool.clone(),
                Arc::clone(&submitted),
                Arc::clone(&ended),
                Arc::clone(&stop),
                Arc::clone(&handles),
            );
            threads.push(thread::spawn(move || {
                let mut rng = Rng::new(round * 31 + t);
                let mut n = 0;
                while !stop.load(SeqCst) && n < 3000 {
                    n += 1;
                    let e = Arc::clone(&ended);
                    let prio = [0, 0, 3, -2][rng.below(4) as usize];
                    if rng.below(2) == 0 {
                        pool.execute(move || {
                            e.fetch_add(1, SeqCst);
                        })
                        .unwrap();
                    } else {
                        let task = pool.submit_with_priority(prio, move || {
                            e.fetch_add(1, SeqCst);
                        });
                        // A cancelled task ends too.
                        let e = Arc::clone(&ended);
                        task.on_done(move |r| {
                            if r.is_err() {
                                e.fetch_add(1, SeqCst);
                            }
                        });
                        handles.lock().unwrap().push(task);
                    }
                    submitted.fetch_add(1, SeqCst);
                    if rng.below(8) == 0 {
                        thread::yield_now();
                    }
                }
            }));
        }
        // The canceller. `Task::cancel` takes the task out of the pool's
        // counts before it completes it (runs its callbacks), so a wait may
        // return while a cancel is under way: `cancelling` says one is.
        let cancelling = Arc::new(AtomicUsize::new(0));
        {
            let (stop, handles) = (Arc::clone(&stop), Arc::clone(&handles));
            let cancelling = Arc::clone(&cancelling);
            threads.push(thread::spawn(move || {
                let mut rng = Rng::new(round + 99);
                while !stop.load(SeqCst) {
                    let t = {
                        let mut h = handles.lock().unwrap();
                        if h.is_empty() {
                            None
                        } else {
                            let i = rng.below(h.len() as u64) as usize;
                            Some(h.swap_remove(i))
                        }
                    };
                    if let Some(t) = t {
                        cancelling.fetch_add(1, SeqCst);
                        t.cancel();
                        cancelling.fetch_sub(1, SeqCst);
                    } else {
                        thread::yield_now();
                    }
                }
            }));
        }
        for _ in 0..20 {
            let before = submitted.load(SeqCst);
            assert!(pool.wait_completion(LONG), "round {round}: wait timed out");
            // Jobs and tasks count in their body; a cancelled task in its
            // callback, which may still be under way (at most one: one
            // canceller) when the wait returns.
            let in_flight = cancelling.load(SeqCst);
            let now = ended.load(SeqCst);
            assert!(
                now + in_flight >= before,
                "round {round}: wait_completion returned with {now} ended < {before} submitted \
                 before it ({in_flight} cancel under way)"
            );
        }
        stop.store(true, SeqCst);
        for t in threads {
            join_thread(t);
        }
        assert!(pool.wait_completion(LONG));
        let s = pool.stats();
        let total = submitted.load(SeqCst);
        assert!(settled(&s), "round {round}: {s:?}");
        assert_eq!(
            s.completed + s.cancelled,
            total,
            "round {round}: {s:?}, {total} submitted"
        );
        assert_eq!(ended.load(SeqCst), total, "round {round}");
        assert!(pool.join(LONG));
    }
}

/// Stats are exact right after each wait (no polling): wait_completion,
/// drain, join and shutdown, with queued tasks cancelled by handle.
#[test]
fn stats_exact_right_after_each_wait() {
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut round = 0u64;
    while Instant::now() < deadline && round < 300 {
        round += 1;
        let mut rng = Rng::new(round);
        let max = 1 + rng.below(3) as usize;
        let pool = Pool::builder()
            .max_workers(max)
            .min_workers(rng.below(2) as usize)
            .idle_timeout(Duration::from_micros(1 + rng.below(300)))
            .build()
            .unwrap();
        let mut expect_completed = 0;
        let mut expect_cancelled = 0;
        let mut tasks = Vec::new();
        for i in 0..(20 + rng.below(40)) {
            if rng.below(3) == 0 {
                pool.execute(move || spin_ns(i * 100)).unwrap();
                expect_completed += 1;
            } else {
                tasks.push(pool.submit(move || spin_ns(i * 100)));
            }
        }
        for t in &tasks {
            if rng.below(3) == 0 && t.cancel() {
                expect_cancelled += 1;
            }
        }
        expect_completed += tasks.len() - expect_cancelled;
        let check = |what: &str, s: PoolStats| {
            assert!(settled(&s), "round {round} after {what}: {s:?}");
            assert_eq!(
                (s.completed, s.cancelled, s.panicked),
                (expect_completed, expect_cancelled, 0),
                "round {round} after {what}: {s:?}"
            );
        };
        match rng.below(4) {
            0 => {
                assert!(pool.wait_completion(LONG));
                check("wait_completion", pool.stats());
                assert!(pool.join(LONG));
                check("join", pool.stats());
            }
            1 => {
                assert!(pool.drain(LONG));
                check("drain", pool.stats());
                assert!(pool.shutdown(LONG));
                check("shutdown", pool.stats());
            }
            2 => {
                assert!(pool.join(LONG));
                let s = pool.stats();
                check("join", s.clone());
                assert_eq!(s.workers, 0, "round {round}: {s:?}");
            }
            _ => {
                // Shutdown cancels what is queued: the sum is exact.
                assert!(pool.shutdown(LONG));
                let s = pool.stats();
                assert!(settled(&s) && s.workers == 0, "round {round}: {s:?}");
                assert_eq!(
                    s.completed + s.cancelled,
                    expect_completed + expect_cancelled,
                    "round {round}: {s:?}"
                );
            }
        }
    }
}

/// min_workers 0, max 2, a tiny idle timeout: workers retire all the time
/// while several submitters push with small gaps. A growth decision made on
/// a stale count would strand a job with no worker (a hang).
#[test]
fn tiny_idle_timeout_never_strands_a_job() {
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut round = 0u64;
    while Instant::now() < deadline && round < 60 {
        round += 1;
        let pool = Pool::builder()
            .min_workers(0)
            .max_workers(2)
            .idle_timeout(Duration::from_micros(1 + round % 50))
            .build()
            .unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let (pool, ran) = (pool.clone(), Arc::clone(&ran));
                thread::spawn(move || {
                    let mut rng = Rng::new(round * 11 + t);
                    let mut tasks = Vec::new();
                    for _ in 0..200 {
                        let r = Arc::clone(&ran);
                        let prio = [0, 0, 0, 5, -1][rng.below(5) as usize];
                        tasks.push(pool.submit_with_priority(prio, move || {
                            r.fetch_add(1, SeqCst);
                        }));
                        if rng.below(4) == 0 {
                            spin_ns(rng.below(20_000));
                        }
                    }
                    for t in tasks {
                        assert!(t.wait_timeout(LONG), "round {round}: a job was stranded");
                    }
                })
            })
            .collect();
        for t in threads {
            join_thread(t);
        }
        assert!(pool.wait_completion(LONG));
        let s = pool.stats();
        assert!(settled(&s), "{s:?}");
        assert_eq!(s.completed, 800, "{s:?}");
        assert_eq!(ran.load(SeqCst), 800);
        // Workers move their tallies as they retire: still exact.
        wait_for("workers retire", || pool.stats().workers == 0);
        assert_eq!(pool.stats().completed, 800);
        assert!(pool.join(LONG));
    }
}

/// A bounded queue never admits past its capacity from outside, and never
/// leaves a waiting submitter asleep: one worker, capacity 2, six
/// submitters (`submit` waits, `try_submit` refuses).
#[test]
fn bounded_queue_admits_up_to_capacity_and_never_hangs() {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut round = 0u64;
    while Instant::now() < deadline && round < 40 {
        round += 1;
        let cap = 1 + (round % 3) as usize;
        let pool = Pool::builder()
            .max_workers(1 + (round % 2) as usize)
            .queue_capacity(cap)
            .build()
            .unwrap();
        let worst = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..6u64)
            .map(|t| {
                let (pool, done, refused) = (pool.clone(), Arc::clone(&done), Arc::clone(&refused));
                thread::spawn(move || {
                    let mut rng = Rng::new(round * 13 + t);
                    for _ in 0..300 {
                        let d = Arc::clone(&done);
                        let job = move || {
                            spin_ns(200);
                            d.fetch_add(1, SeqCst);
                        };
                        if rng.below(2) == 0 {
                            drop(pool.submit(job));
                        } else if pool.try_submit(job).is_err() {
                            refused.fetch_add(1, SeqCst);
                        }
                    }
                })
            })
            .collect();
        // A sampler: stats never show more queued than the capacity
        // (a bounded pool admits only under its lock).
        let sampler = {
            let (pool, worst) = (pool.clone(), Arc::clone(&worst));
            thread::spawn(move || {
                let end = Instant::now() + ms(100);
                while Instant::now() < end {
                    let q = pool.stats().queued;
                    worst.fetch_max(q, SeqCst);
                }
            })
        };
        for t in threads {
            join_thread(t);
        }
        join_thread(sampler);
        assert!(pool.wait_completion(LONG), "round {round}");
        let s = pool.stats();
        assert!(settled(&s), "{s:?}");
        assert_eq!(
            s.completed + refused.load(SeqCst),
            1800,
            "round {round}: {s:?}"
        );
        assert_eq!(done.load(SeqCst), s.completed);
        let worst = worst.load(SeqCst);
        assert!(
            worst <= cap,
            "round {round}: stats().queued showed {worst} with queue_capacity {cap}"
        );
        assert!(pool.join(LONG));
    }
}

/// Pushes racing `join` and `shutdown`: whatever each push returned, once
/// the pool is closed and every submitter has returned, the counts settle,
/// nothing is left queued, and `completed` is exactly the bodies that ran.
///
/// Was a defect (intermittent, about every other run, with max_workers 3;
/// it predated c7d74ed): `join` timed out with
/// `PoolStats { workers: 1, active: 0, queued: 0, .. }`. A worker (A) found
/// the last entry taken by another (B) but not yet started, saw it still
/// queued and blocked on the lane; B's start emptied the queue and pushed a
/// wake token for each idle worker (A); a third worker (C), between two
/// pops of its busy phase, took that token, then saw the pool closed and
/// done and exited, so A stayed blocked. A leaving worker now passes
/// wake-ups on (`Executor::pass_wakes_on`; loom
/// join_vs_last_job_wakes_every_idle_worker).
#[test]
fn pushes_racing_close_leave_counts_settled() {
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut round = 0u64;
    while Instant::now() < deadline && round < 200 {
        round += 1;
        let pool = Pool::builder()
            .max_workers(1 + (round % 3) as usize)
            .min_workers((round % 2) as usize)
            .build()
            .unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let ok = Arc::new(AtomicUsize::new(0));
        let go = Arc::new(Barrier::new(4));
        let tasks: Arc<Mutex<Vec<Task<()>>>> = Arc::default();
        let threads: Vec<_> = (0..3u64)
            .map(|t| {
                let (pool, ran, ok, go, tasks) = (
                    pool.clone(),
                    Arc::clone(&ran),
                    Arc::clone(&ok),
                    Arc::clone(&go),
                    Arc::clone(&tasks),
                );
                thread::spawn(move || {
                    go.wait();
                    for i in 0..400u64 {
                        let r = Arc::clone(&ran);
                        let body = move || {
                            r.fetch_add(1, SeqCst);
                        };
                        if (i + t) % 2 == 0 {
                            if pool.execute(body).is_ok() {
                                ok.fetch_add(1, SeqCst);
                            }
                        } else {
                            let task = pool.submit_with_priority((i % 3) as i32 - 1, body);
                            tasks.lock().unwrap().push(task);
                        }
                    }
                })
            })
            .collect();
        go.wait();
        thread::sleep(Duration::from_micros(round % 7 * 50));
        let shutdown = round % 2 == 0;
        let closed = if shutdown {
            pool.shutdown(LONG)
        } else {
            pool.join(LONG)
        };
        assert!(
            closed,
            "round {round}: {} timed out: {:?}",
            if shutdown { "shutdown" } else { "join" },
            pool.stats()
        );
        for t in threads {
            join_thread(t);
        }
        wait_for_at_most("late pushes settle", ms(3000), || {
            let s = pool.stats();
            settled(&s) && s.workers == 0
        });
        for t in tasks.lock().unwrap().iter() {
            assert!(t.wait_timeout(LONG), "round {round}: a task never ended");
            let r = t.result();
            assert!(
                r.is_ok() || r == Err(TaskError::Cancelled) || r == Err(TaskError::Rejected),
                "{r:?}"
            );
        }
        let s = pool.stats();
        assert_eq!(s.completed, ran.load(SeqCst), "round {round}: {s:?}");
        if !shutdown {
            // A join finishes its queue: nothing it accepted is cancelled.
            assert_eq!(s.cancelled, 0, "round {round}: {s:?}");
        }
    }
}

/// Was a defect (aa7a4ed), now fixed: a live `stats()` snapshot can show a job in neither
/// `completed` nor `queued`/`active`. `snapshot` reads the tallies (under
/// the lock) first and the occupancy after: a job whose body ends between
/// the two reads, and whose worker then ends its streak or passes it on to
/// the next entry, is missing from both. Before aa7a4ed the occupancy was
/// read first and `completed` second, so the sum never undercounted (a job
/// could only be counted twice, briefly). With every submission made
/// before the sampling starts, `completed + cancelled + panicked + queued +
/// active` must never be below the number submitted. The window is not
/// small: a reader preempted between its two reads can report
/// `completed: 0, queued: 0, active: 0` after 20001 jobs ran, which is
/// exactly the snapshot a "poll until settled, then read `completed`"
/// monitor (as in `regress_counts_settle_after_a_mix`) acts on.
///
/// Likely fix: in `Executor::snapshot`, read `self.occupancy()` before
/// taking the lock for the tallies: a job gone from the occupancy left
/// through a SeqCst read-modify-write of `load` made after its tally store,
/// so the tally read after it (and the retirement of that tally, under the
/// lock) includes it.
#[test]
fn a_live_snapshot_never_loses_a_job() {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut worst: Option<(usize, PoolStats)> = None;
    let mut round = 0;
    while Instant::now() < deadline && worst.is_none() && round < 50 {
        round += 1;
        let pool = Pool::builder().max_workers(2).build().unwrap();
        let (gate, blocker) = occupy(&pool);
        let n = 20_000;
        for _ in 0..n {
            pool.execute(|| spin_ns(50)).unwrap();
        }
        let n = n + 1; // the blocker
        gate.open();
        let end = Instant::now() + LONG;
        loop {
            assert!(Instant::now() < end, "the backlog never drained");
            let s = pool.stats();
            let sum = s.completed + s.cancelled + s.panicked + s.queued + s.active;
            if sum < n {
                worst = Some((sum, s));
                break;
            }
            if s.queued == 0 && s.active == 0 {
                break;
            }
        }
        assert!(join(blocker).unwrap());
        assert!(pool.join(LONG));
    }
    if let Some((sum, s)) = worst {
        panic!("a snapshot lost a job: {s:?} sums to {sum} (round {round})");
    }
}
