//! Review of the striped counts (e09b905, 2a72022): `popped`/`active` in one
//! padded word per worker stripe (stripe 0 shared, SeqCst), a worker that
//! owns its stripe in an unbounded pool counting what it takes with a plain
//! release store and skipping `left_queue`'s wake-up checks.
//!
//! Every test is a bounded stress through the public API: each blocking
//! wait is bounded (by `LONG`, a deadline or the `bounded` watchdog), so a
//! lost wake-up fails instead of hanging. All of them passed during the
//! review: they stay as regression tests.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Pool, PoolStats, SubmitError, Task};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const DELIBERATE: &str = "deliberate panic (regress_review_stripes)";

struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        if !thread::panicking() {
            panic!("{}", DELIBERATE);
        }
    }
}

/// What the bodies of one round did, counted by the bodies themselves.
#[derive(Default)]
struct Tally {
    submitted: AtomicUsize,
    ok: AtomicUsize,
    panicked: AtomicUsize,
    cancelled: AtomicUsize,
}

fn exact(s: &PoolStats, t: &Tally) {
    assert_eq!(
        (s.queued, s.active, s.completed, s.panicked, s.cancelled),
        (
            0,
            0,
            t.ok.load(SeqCst),
            t.panicked.load(SeqCst),
            t.cancelled.load(SeqCst)
        ),
        "stats not exact after wait_completion: {s:?}"
    );
}

/// One submission of a random kind: a job or a task, normal or panicking
/// (a plain panic, or a payload whose `Drop` panics), some cancelled, some
/// with a ranked priority, some with an `on_done` callback that panics.
fn submit_one(pool: &Pool, rng: &mut Rng, t: &Arc<Tally>, keep: &Mutex<Vec<Task<()>>>) {
    let kind = rng.below(10);
    let tally = Arc::clone(t);
    let panics = rng.below(8) == 0;
    let bomb = rng.below(2) == 0;
    let body = move || {
        if panics {
            tally.panicked.fetch_add(1, SeqCst);
            if bomb {
                std::panic::panic_any(Bomb);
            }
            panic!("{}", DELIBERATE);
        }
        tally.ok.fetch_add(1, SeqCst);
    };
    if kind < 4 {
        pool.execute(body).unwrap_or_else(|_| panic!("refused"));
        t.submitted.fetch_add(1, SeqCst);
        return;
    }
    let priority = if kind < 7 { 0 } else { rng.below(5) as i32 - 2 };
    let task = pool.submit_with_priority(priority, body);
    t.submitted.fetch_add(1, SeqCst);
    if rng.below(4) == 0 {
        task.on_done(|_| panic!("{}", DELIBERATE));
    }
    if rng.below(5) == 0 && task.cancel() {
        t.cancelled.fetch_add(1, SeqCst);
    }
    keep.lock().unwrap().push(task);
}

/// A pool counted exactly is `queued + active + completed + panicked +
/// cancelled >= submissions made before the snapshot` (an entry is queued,
/// running or done; the occupancy may overcount, never undercount).
fn no_undercount(pool: &Pool, t: &Tally) {
    let before = t.submitted.load(SeqCst);
    let s = pool.stats();
    let seen = s.queued + s.active + s.completed + s.panicked + s.cancelled;
    assert!(seen >= before, "undercount: {seen} < {before} ({s:?})");
    let after = t.submitted.load(SeqCst);
    // Two submitters: each may have one submission made, not yet tallied.
    assert!(
        s.queued <= after + 2 && s.active <= 64,
        "absurd counts {s:?}"
    );
}

/// Suspicions 2, 4, 5, 6: stats are exact after `wait_completion` returns
/// true, with jobs, tasks, ranked tasks, cancels, panicking bodies and
/// payload drops, panicking callbacks, from several submitters, while a
/// resizer moves `max_workers` up and down (so workers outnumber the owned
/// stripes, surplus ones retire and others take their stripes) and a short
/// idle timeout reaps workers between bursts; a monitor checks meanwhile
/// that the counts never undercount what was submitted.
#[test]
fn stats_exact_after_churn_with_resizes_reaping_and_panics() {
    quiet_deliberate_panics(DELIBERATE);
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut round = 0u64;
    while Instant::now() < deadline && round < 40 {
        round += 1;
        let pool = Pool::builder()
            .max_workers(8)
            .min_workers(0)
            .idle_timeout(Duration::from_micros(300 + 200 * (round % 4)))
            .build()
            .unwrap();
        let t = Arc::new(Tally::default());
        let keep = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let monitor = {
            let (pool, t, stop) = (pool.clone(), Arc::clone(&t), Arc::clone(&stop));
            thread::spawn(move || {
                while !stop.load(SeqCst) {
                    no_undercount(&pool, &t);
                    thread::yield_now();
                }
            })
        };
        let resizer = {
            let (pool, stop) = (pool.clone(), Arc::clone(&stop));
            thread::spawn(move || {
                let mut rng = Rng::new(round * 7 + 1);
                while !stop.load(SeqCst) {
                    pool.set_max_workers([1, 2, 3, 6, 8][rng.below(5) as usize]);
                    thread::sleep(Duration::from_micros(rng.below(400)));
                }
            })
        };
        let submitters: Vec<_> = (0..2u64)
            .map(|s| {
                let (pool, t, keep) = (pool.clone(), Arc::clone(&t), Arc::clone(&keep));
                thread::spawn(move || {
                    let mut rng = Rng::new(round * 31 + s);
                    for i in 0..400 {
                        submit_one(&pool, &mut rng, &t, &keep);
                        if i % 97 == 0 {
                            // Let the pool go idle: workers reap, stripes free.
                            thread::sleep(Duration::from_micros(rng.below(2000)));
                        }
                    }
                })
            })
            .collect();
        for s in submitters {
            join_thread(s);
        }
        assert!(pool.wait_completion(LONG), "wait_completion timed out");
        exact(&pool.stats(), &t);
        stop.store(true, SeqCst);
        join_thread(resizer);
        join_thread(monitor);
        // A second settle after the resizes stopped: still exact.
        assert!(pool.wait_completion(LONG));
        exact(&pool.stats(), &t);
        assert!(pool.join(LONG), "join timed out");
        exact(&pool.stats(), &t);
        assert_eq!(pool.stats().workers, 0);
    }
}

/// Suspicion 2 (exactness without waiting for idleness first): every round
/// waits with `wait_completion` right after a burst, while workers are in
/// the middle of streaks on their own stripes; the stats must be exact each
/// time (a tally published by a plain store, a streak's active count, a
/// body seen in neither count would show).
#[test]
fn stats_exact_after_each_burst() {
    quiet_deliberate_panics(DELIBERATE);
    let pool = Pool::builder().max_workers(4).build().unwrap();
    let t = Arc::new(Tally::default());
    let keep = Mutex::new(Vec::new());
    let mut rng = Rng::new(99);
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        for _ in 0..rng.below(64) + 1 {
            submit_one(&pool, &mut rng, &t, &keep);
        }
        assert!(pool.wait_completion(LONG));
        exact(&pool.stats(), &t);
        keep.lock().unwrap().clear();
    }
    assert!(pool.join(LONG));
}

/// Suspicion 3: a bounded queue (every stripe SeqCst, `left_queue` kept)
/// never strands a blocked submitter, and after `wait_completion` there is
/// room: `try_submit` succeeds `capacity` times in a row.
#[test]
fn bounded_queue_submitters_never_strand_and_room_after_settle() {
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut round = 0;
    while Instant::now() < deadline && round < 30 {
        round += 1;
        let cap = 1 + round % 3;
        let pool = Pool::builder()
            .max_workers(1 + round % 4)
            .queue_capacity(cap)
            .idle_timeout(Duration::from_micros(500))
            .build()
            .unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let submitters: Vec<_> = (0..3)
            .map(|_| {
                let (pool, ran) = (pool.clone(), Arc::clone(&ran));
                thread::spawn(move || {
                    for _ in 0..300 {
                        let r = Arc::clone(&ran);
                        pool.execute(move || {
                            r.fetch_add(1, SeqCst);
                        })
                        .unwrap_or_else(|_| panic!("refused"));
                    }
                })
            })
            .collect();
        let all = bounded(LONG, move || {
            for s in submitters {
                s.join().unwrap();
            }
        });
        assert!(all.is_some(), "a submitter blocked on a full queue forever");
        assert!(pool.wait_completion(LONG));
        assert_eq!(ran.load(SeqCst), 900);
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        // Occupy every worker, so the queue fills exactly to capacity.
        let workers = pool.max_workers();
        let holds: Vec<_> = (0..workers)
            .map(|_| {
                let g = gate.clone();
                pool.submit(move || {
                    g.wait();
                })
            })
            .collect();
        wait_for("workers busy", || pool.stats().active == workers);
        for i in 0..cap {
            match pool.try_submit(|| {}) {
                Ok(_) => {}
                Err(SubmitError::Full(_)) => panic!("Full at {i} of {cap}: {:?}", pool.stats()),
                Err(_) => panic!("refused"),
            }
        }
        assert!(matches!(pool.try_submit(|| {}), Err(SubmitError::Full(_))));
        gate.open();
        for h in holds {
            assert_eq!(join(h), Ok(()));
        }
        assert!(pool.join(LONG));
        let s = pool.stats();
        assert_eq!((s.queued, s.active, s.workers), (0, 0, 0), "{s:?}");
    }
}

/// Suspicion 1: `join` of a pool whose idle workers may block having seen
/// the last entry still queued (taken, not yet counted, by a worker that
/// counts with a plain store and no longer wakes them): each must be woken
/// when the taker leaves, so `join` returns (true) well within its bound.
/// Variants: the join from outside, and from the last job itself (own
/// worker) racing an outside join.
#[test]
fn join_with_idle_workers_is_never_stranded() {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut round = 0u64;
    while Instant::now() < deadline && round < 400 {
        round += 1;
        let workers = 2 + (round % 3) as usize;
        let pool = Pool::builder()
            .min_workers(workers)
            .max_workers(workers)
            .build()
            .unwrap();
        let jobs = 1 + (round % 4) as usize;
        let ran = Arc::new(AtomicUsize::new(0));
        let joined_inside = Arc::new(Mutex::new(None));
        for j in 0..jobs {
            let (r, p, inside) = (Arc::clone(&ran), pool.clone(), Arc::clone(&joined_inside));
            let last = j + 1 == jobs;
            pool.execute(move || {
                spin_ns(2_000);
                r.fetch_add(1, SeqCst);
                if last && round % 4 == 1 {
                    // The last job joins its own pool.
                    *inside.lock().unwrap() = Some(p.join(LONG));
                }
            })
            .unwrap();
        }
        let started = Instant::now();
        let done = if round % 4 == 1 {
            // The last job joins; this thread waits for it through join too.
            pool.join(LONG)
        } else {
            bounded(LONG + LONG, move || pool.join(LONG)).unwrap_or(false)
        };
        assert!(done, "join timed out (round {round})");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "join took {:?}",
            started.elapsed()
        );
        assert_eq!(ran.load(SeqCst), jobs);
        if round % 4 == 1 {
            wait_for("the inner join", || joined_inside.lock().unwrap().is_some());
            assert_eq!(*joined_inside.lock().unwrap(), Some(true));
        }
    }
}

/// Suspicion 1: pool-level waits made on the pool's own worker
/// (`wait_completion`, `drain`) while the other workers stream entries with
/// plain stores: the wait returns true, and stats are exact afterwards.
#[test]
fn waits_from_own_worker_amid_streaming_peers() {
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut round = 0u64;
    while Instant::now() < deadline && round < 60 {
        round += 1;
        let pool = Pool::builder().max_workers(3).build().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..200 {
            let r = Arc::clone(&ran);
            pool.execute(move || {
                r.fetch_add(1, SeqCst);
            })
            .unwrap();
        }
        let p = pool.clone();
        let drain = round % 2 == 0;
        let waiter = pool.submit(move || {
            if drain {
                p.drain(LONG)
            } else {
                p.wait_completion(LONG)
            }
        });
        for _ in 0..200 {
            let r = Arc::clone(&ran);
            pool.execute(move || {
                r.fetch_add(1, SeqCst);
            })
            .unwrap();
        }
        assert_eq!(join(waiter), Ok(true));
        assert!(pool.wait_completion(LONG));
        let s = pool.stats();
        assert_eq!(ran.load(SeqCst), 400);
        assert_eq!((s.queued, s.active, s.completed), (0, 0, 401), "{s:?}");
        assert!(pool.join(LONG));
    }
}

/// Suspicion 1 (`drain`): a drain from outside while the pool's own jobs
/// keep submitting more (they pass the drain) returns true, with nothing
/// queued or running, and outside submitters held during the drain get in
/// after it.
#[test]
fn drain_with_self_feeding_jobs() {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let pool = Pool::builder().max_workers(4).build().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        fn feed(pool: Pool, ran: Arc<AtomicUsize>, depth: u32) {
            ran.fetch_add(1, SeqCst);
            if depth > 0 {
                for _ in 0..2 {
                    let (p, r) = (pool.clone(), Arc::clone(&ran));
                    pool.execute(move || feed(p, r, depth - 1)).unwrap();
                }
            }
        }
        let (p, r) = (pool.clone(), Arc::clone(&ran));
        pool.execute(move || feed(p, r, 7)).unwrap();
        let outside = {
            let (pool, ran) = (pool.clone(), Arc::clone(&ran));
            thread::spawn(move || {
                thread::sleep(Duration::from_micros(50));
                pool.execute(move || {
                    ran.fetch_add(1, SeqCst);
                })
                .unwrap();
            })
        };
        assert!(pool.drain(LONG), "drain timed out");
        assert!(bounded(LONG, move || outside.join().unwrap()).is_some());
        assert!(pool.wait_completion(LONG));
        let s = pool.stats();
        assert_eq!((s.queued, s.active), (0, 0), "{s:?}");
        assert_eq!(ran.load(SeqCst), 255 + 1);
        assert_eq!(s.completed, 256, "{s:?}");
        assert!(pool.join(LONG));
    }
}

/// Suspicion 4: inline runs (a worker joining a queued task of its own
/// pool runs it on the shared stripe) mixed with bodies on owned stripes,
/// and a shutdown with a backlog: the counts settle at zero each time.
#[test]
fn inline_runs_and_shutdown_settle_the_counts() {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let pool = Pool::builder().max_workers(3).build().unwrap();
        let outer: Vec<_> = (0..30)
            .map(|i| {
                let p = pool.clone();
                pool.submit(move || {
                    let inner: Vec<_> = (0..4).map(|k| p.submit(move || i * k)).collect();
                    inner.into_iter().map(|t| t.join().unwrap()).sum::<usize>()
                })
            })
            .collect();
        for (i, t) in outer.into_iter().enumerate() {
            assert_eq!(join(t), Ok(i * 6));
        }
        assert!(pool.wait_completion(LONG));
        let s = pool.stats();
        assert_eq!((s.queued, s.active, s.completed), (0, 0, 150), "{s:?}");
        for _ in 0..200 {
            pool.execute(|| spin_ns(1_000)).unwrap();
        }
        assert!(pool.shutdown(LONG), "shutdown timed out");
        let s = pool.stats();
        assert_eq!((s.queued, s.active, s.workers), (0, 0, 0), "{s:?}");
        assert_eq!(s.completed + s.cancelled, 350, "{s:?}");
    }
}
