//! Review of 4e16591 (the main lane's FIFO publishes with a release store
//! and marks slots read with a plain store; a worker about to block waits
//! for a push it sees claimed; a level's pop waits for a push under way;
//! retired segments are reused once every slot reads as read).
//!
//! Suspicions attacked through the public API:
//!
//! - a lost wake-up: the push reads `sleepers` before the worker announces
//!   itself and is still publishing when the worker looks (the worker must
//!   see the claim and wait for it): a lone idle worker, jittered
//!   submissions landing in its spin / asleep / announce window, for the
//!   main lane and for the levels (whose bit handshake now relies on
//!   `Level::take` waiting for claims);
//! - values lost, duplicated or reordered for one submitter across
//!   segments, their retirement and reuse, in the main lane and in a level,
//!   including the cross-lane order a submitter's priorities promise;
//! - slots reused while a slow consumer is still reading them (four
//!   workers on two cores, bursts, then a trickle over the retired list);
//! - `join` / `shutdown` racing pushes on every lane (`take_all` waits for
//!   pushes under way), and `Drop` of a pool with values left: every value
//!   dropped exactly once, nothing hangs.
//!
//! Every wait is bounded, so a stranded entry fails the test instead of
//! hanging it. No timing assertions. Each test runs rounds for
//! `RELEASE_FIFO_MS` (default well under a second).
#![cfg(not(loom))]

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Pool, SubmitError, Task, TaskError};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// How long a job that should run may take to run: far beyond any run.
const BOUND: Duration = Duration::from_secs(5);

fn budget() -> Instant {
    Instant::now() + Duration::from_millis(env_knob("RELEASE_FIFO_MS", 800u64))
}

/// Spins (rather than sleeps) for a jittered moment, so a submission can
/// land anywhere in an idle worker's spin, yield, asleep and announce.
fn jitter(rng: &mut Rng) {
    match rng.below(8) {
        0 => {}
        1 => thread::yield_now(),
        2 => thread::sleep(Duration::from_micros(rng.below(300))),
        _ => spin_ns(rng.below(60_000)),
    }
}

/// A lone idle worker and a submitter playing ping-pong: each job is
/// submitted (at a jittered moment after the previous one ran, so some
/// land while the worker spins, some as it announces itself, some while it
/// is blocked) and must run. The push's publication is a release store:
/// if the worker does not see a push it finds claimed but unpublished,
/// it blocks with the job queued and nobody to wake it, and the
/// `recv_timeout` fails.
#[test]
fn lone_idle_worker_takes_each_job_submitted_as_it_blocks() {
    let deadline = budget();
    let pool = fixed_pool(1);
    let (tx, rx) = mpsc::channel::<u64>();
    let mut rng = Rng::new(7);
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let tx = tx.clone();
        pool.execute(move || tx.send(round).unwrap())
            .unwrap_or_else(|_| panic!("refused"));
        assert_eq!(
            rx.recv_timeout(BOUND),
            Ok(round),
            "round {round}: the job never ran (lost wake-up)"
        );
        jitter(&mut rng);
    }
    assert!(pool.join(LONG));
}

/// As above on the levels: ranked jobs (both sides) submitted at jittered
/// moments to idle workers. A level push reads the bit after its claim
/// only; the worker's pop that clears the bit must see the claim (it waits
/// for it in `Level::take`), or the job waits for a token nobody sends.
/// Two workers, so one is usually asleep while the other spins.
#[test]
fn idle_workers_take_each_ranked_job_submitted_as_they_block() {
    let deadline = budget();
    let pool = fixed_pool(2);
    let (tx, rx) = mpsc::channel::<u64>();
    let mut rng = Rng::new(11);
    let mut round = 0u64;
    const PRIORITIES: [i32; 6] = [3, -3, 1, -1, 40, -40];
    while Instant::now() < deadline {
        round += 1;
        let n = 1 + rng.below(3);
        for k in 0..n {
            let tx = tx.clone();
            let p = PRIORITIES[rng.below(PRIORITIES.len() as u64) as usize];
            drop(pool.submit_with_priority(p, move || tx.send(round * 10 + k).unwrap()));
        }
        let mut got: Vec<u64> = (0..n)
            .map(|_| {
                rx.recv_timeout(BOUND)
                    .unwrap_or_else(|_| panic!("round {round}: a ranked job never ran"))
            })
            .collect();
        got.sort_unstable();
        assert_eq!(got, (0..n).map(|k| round * 10 + k).collect::<Vec<_>>());
        jitter(&mut rng);
    }
    assert!(pool.join(LONG));
}

/// Two submitters released at once onto two idle workers, each pushing a
/// job that must meet the other: both workers must be woken. One push may
/// claim the head, read `sleepers` before either worker announced itself,
/// and publish late; the other push's notification may be spent on a
/// worker that finds that head claimed. Every job must still run.
#[test]
fn two_racing_submitters_reach_both_idle_workers() {
    let deadline = budget();
    let pool = fixed_pool(2);
    let mut rng = Rng::new(3);
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let meet = Arc::new(Barrier::new(2));
        let (tx, rx) = mpsc::channel::<usize>();
        let go = Arc::new(Barrier::new(3));
        let submitters: Vec<_> = (0..2)
            .map(|s| {
                let (pool, meet, tx, go) = (pool.clone(), meet.clone(), tx.clone(), go.clone());
                thread::spawn(move || {
                    go.wait();
                    pool.execute(move || {
                        // Bounded: a lost wake-up leaves one side alone.
                        let (btx, brx) = mpsc::channel();
                        let meet2 = Arc::clone(&meet);
                        thread::spawn(move || {
                            meet2.wait();
                            let _ = btx.send(());
                        });
                        if brx.recv_timeout(BOUND).is_ok() {
                            tx.send(s).unwrap();
                        }
                    })
                    .unwrap_or_else(|_| panic!("refused"));
                })
            })
            .collect();
        jitter(&mut rng);
        go.wait();
        for s in submitters {
            s.join().unwrap();
        }
        let mut met = Vec::new();
        for _ in 0..2 {
            met.push(
                rx.recv_timeout(BOUND + BOUND)
                    .unwrap_or_else(|_| panic!("round {round}: a job never ran with the other")),
            );
        }
        met.sort_unstable();
        assert_eq!(met, [0, 1]);
    }
    assert!(pool.join(LONG));
}

/// What a submitter queued, in order: (submitter, index, priority).
type Logged = (usize, usize, i32);

/// One worker, three submitters, each pushing a pattern of priorities
/// (main lane, a level each side, an outlier) thousands of times (many
/// segments in every lane, retired and reused as the worker catches up).
/// Every job runs exactly once, and for each submitter, a job runs after
/// every job that submitter queued before it at the same or a higher
/// priority (equal priorities in submission order, higher first).
#[test]
fn one_worker_keeps_each_submitters_order_across_lanes() {
    const SUBMITTERS: usize = 3;
    const PATTERN: [i32; 8] = [0, -2, 0, 5, 0, 0, -2, 5];
    let deadline = budget();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let pool = fixed_pool(1);
        let each = 300 + 500 * (round as usize % 3);
        let log: Record<Logged> = Record::new();
        let go = Arc::new(Barrier::new(SUBMITTERS));
        let submitters: Vec<_> = (0..SUBMITTERS)
            .map(|s| {
                let (pool, log, go) = (pool.clone(), log.clone(), go.clone());
                thread::spawn(move || {
                    go.wait();
                    let mut rng = Rng::new(round * 7 + s as u64);
                    for i in 0..each {
                        let p = PATTERN[i % PATTERN.len()];
                        let log = log.clone();
                        drop(pool.submit_with_priority(p, move || log.push((s, i, p))));
                        if rng.below(50) == 0 {
                            thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        for s in submitters {
            s.join().unwrap();
        }
        assert!(pool.wait_completion(LONG), "round {round}: not settled");
        let ran = log.get();
        assert_eq!(ran.len(), SUBMITTERS * each, "round {round}: lost or extra");
        let mut seen = vec![vec![false; each]; SUBMITTERS];
        // Per submitter: the index ran last at each priority; a job must
        // not run while an earlier one of the same or a higher priority
        // from its submitter has not run yet.
        for (pos, &(s, i, p)) in ran.iter().enumerate() {
            assert!(
                !std::mem::replace(&mut seen[s][i], true),
                "round {round}: ({s},{i}) twice"
            );
            for j in 0..i {
                let q = PATTERN[j % PATTERN.len()];
                if q >= p && !seen[s][j] {
                    panic!(
                        "round {round}: submitter {s}'s job {i} (priority {p}) ran at {pos} \
                         before its job {j} (priority {q}), queued earlier"
                    );
                }
            }
        }
        assert!(pool.join(LONG));
    }
}

/// Four workers on two cores and four submitters, bursts of tiny jobs on
/// the main lane and a level, then a trickle: consumers race through
/// segments, a slow one may still be copying a value out of a segment when
/// its last slot's reader retires it, and producers reuse retired segments
/// only once every slot reads as read. Every job runs exactly once (a slot
/// reused early loses or doubles a value, or runs a half-written one).
#[test]
fn racing_consumers_never_lose_or_double_a_job_across_reuse() {
    let deadline = budget();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let pool = fixed_pool(4);
        const PER: usize = 3_000;
        let runs: Arc<Vec<AtomicUsize>> =
            Arc::new((0..4 * PER).map(|_| AtomicUsize::new(0)).collect());
        let submitters: Vec<_> = (0..4)
            .map(|s| {
                let (pool, runs) = (pool.clone(), runs.clone());
                thread::spawn(move || {
                    let mut rng = Rng::new(round * 13 + s as u64);
                    let p = if s % 2 == 0 { 0 } else { -4 };
                    for i in 0..PER {
                        let runs = runs.clone();
                        let id = s * PER + i;
                        let spin = if rng.below(64) == 0 {
                            rng.below(20_000)
                        } else {
                            0
                        };
                        drop(pool.submit_with_priority(p, move || {
                            runs[id].fetch_add(1, SeqCst);
                            spin_ns(spin);
                        }));
                        // A backlog, then a trickle.
                        if i > PER / 2 && rng.below(8) == 0 {
                            spin_ns(rng.below(5_000));
                        }
                    }
                })
            })
            .collect();
        for s in submitters {
            s.join().unwrap();
        }
        assert!(pool.wait_completion(LONG), "round {round}: not settled");
        for (id, r) in runs.iter().enumerate() {
            assert_eq!(
                r.load(SeqCst),
                1,
                "round {round}: job {id} ran {} times",
                r.load(SeqCst)
            );
        }
        assert!(pool.join(LONG));
    }
}

/// Counts its drops.
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// `shutdown` while three submitters push on every lane as fast as they
/// can and the workers run: `take_all` waits for pushes under way (a
/// claimed, unpublished head), late pushes are cancelled. Shutdown
/// returns, every task ends, every captured value is dropped exactly once
/// and the counts settle.
#[test]
fn shutdown_races_pushes_on_every_lane() {
    const MIX: [i32; 6] = [0, 0, 2, -2, 90, -90];
    let deadline = budget();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let pool = Pool::builder()
            .min_workers(1)
            .max_workers(2)
            .build()
            .unwrap();
        let drops = Arc::new(AtomicUsize::new(0));
        let made = Arc::new(AtomicUsize::new(0));
        let go = Arc::new(Barrier::new(4));
        let submitters: Vec<_> = (0..3)
            .map(|t| {
                let (pool, drops, made, go) =
                    (pool.clone(), drops.clone(), made.clone(), go.clone());
                thread::spawn(move || {
                    go.wait();
                    let mut rng = Rng::new(round * 17 + t);
                    let mut tasks: Vec<Task<()>> = Vec::new();
                    while !pool.is_closed() && tasks.len() < 4_000 {
                        made.fetch_add(1, SeqCst);
                        let value = Tracked(drops.clone());
                        let p = MIX[rng.below(MIX.len() as u64) as usize];
                        tasks.push(pool.submit_with_priority(p, move || drop(value)));
                    }
                    tasks
                })
            })
            .collect();
        go.wait();
        thread::sleep(Duration::from_micros(30 + 70 * (round % 6)));
        let stopped = bounded(LONG, {
            let pool = pool.clone();
            move || pool.shutdown(LONG)
        });
        assert_eq!(
            stopped,
            Some(true),
            "round {round}: shutdown failed or hung"
        );
        for s in submitters {
            let tasks = s.join().unwrap();
            let start = Instant::now();
            for task in tasks {
                assert!(
                    task.wait_timeout(BOUND.saturating_sub(start.elapsed())),
                    "round {round}: a task never ended"
                );
                match task.join() {
                    Ok(()) | Err(TaskError::Cancelled) | Err(TaskError::Rejected) => {}
                    Err(other) => panic!("round {round}: {other:?}"),
                }
            }
        }
        wait_for_at_most("every value dropped", BOUND, || {
            drops.load(SeqCst) == made.load(SeqCst)
        });
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.active), (0, 0), "round {round}");
    }
}

/// A pool dropped (detached, unnamed) and one shut down with a backlog of
/// several segments per lane behind a held worker, some of it already
/// read (segments retired): every captured value is dropped exactly once,
/// none twice (a retired slot's value read again) and none leaked.
#[test]
fn a_backlog_left_in_every_lane_is_dropped_once() {
    const MIX: [i32; 4] = [0, 6, -6, 0];
    let deadline = budget();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let pool = fixed_pool(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        // Run (and retire) a few segments' worth first.
        let warm = 100 + 40 * (round as usize % 4);
        for i in 0..warm {
            let value = Tracked(drops.clone());
            let ran = ran.clone();
            drop(pool.submit_with_priority(MIX[i % 4], move || {
                ran.fetch_add(1, SeqCst);
                drop(value);
            }));
        }
        assert!(pool.wait_completion(LONG));
        let (gate, held) = occupy(&pool);
        let _open = OpenOnDrop(gate.clone());
        let backlog = 150 + 37 * (round as usize % 5);
        for i in 0..backlog {
            let value = Tracked(drops.clone());
            let ran1 = ran.clone();
            match pool.execute(move || {
                ran1.fetch_add(1, SeqCst);
                drop(value);
            }) {
                Ok(()) => {}
                Err(SubmitError::Shutdown(f) | SubmitError::Full(f)) => drop(f),
            }
            let value = Tracked(drops.clone());
            let ran2 = ran.clone();
            drop(pool.submit_with_priority(MIX[i % 4], move || {
                ran2.fetch_add(1, SeqCst);
                drop(value);
            }));
        }
        let total = warm + 2 * backlog;
        let stopper = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown(LONG))
        };
        wait_for_at_most("the pool closed", BOUND, || pool.is_closed());
        gate.open();
        assert_eq!(
            bounded(LONG, move || stopper.join().unwrap()),
            Some(true),
            "round {round}: shutdown failed or hung"
        );
        assert!(held.wait_timeout(BOUND));
        drop(pool);
        wait_for_at_most("every value dropped", BOUND, || drops.load(SeqCst) >= total);
        assert_eq!(
            drops.load(SeqCst),
            total,
            "round {round}: a value dropped twice"
        );
        assert_eq!(ran.load(SeqCst), warm, "round {round}: a cancelled job ran");
    }
}

/// Reaped workers (tiny idle timeout: timed waits end while pushes
/// notify, and a worker may wait for a claim right at its deadline) under
/// jittered single submissions on the main lane and levels: every job
/// runs, and the pool ends with nothing queued.
#[test]
fn reaped_workers_take_each_jittered_submission() {
    let deadline = budget();
    let pool = Pool::builder()
        .min_workers(0)
        .max_workers(3)
        .idle_timeout(Duration::from_micros(200))
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel::<u64>();
    let mut rng = Rng::new(23);
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let n = 1 + rng.below(4);
        for k in 0..n {
            let tx = tx.clone();
            let p = [0, 0, 2, -2][rng.below(4) as usize];
            drop(pool.submit_with_priority(p, move || tx.send(round * 10 + k).unwrap()));
            if rng.below(2) == 0 {
                jitter(&mut rng);
            }
        }
        for _ in 0..n {
            assert!(
                rx.recv_timeout(BOUND).is_ok(),
                "round {round}: a job never ran (stranded)"
            );
        }
        jitter(&mut rng);
    }
    assert!(pool.join(LONG));
}
