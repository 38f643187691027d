//! Review of the leave-idle ordering (8797a1d, 678c932: a worker that takes
//! an entry while counted idle counts the entry as taken first, then leaves
//! `idle` in `Executor::left_idle_for_entry`, which re-checks for a missing
//! worker and may grow a joining or detached pool) and of the main lane's
//! retry changes (f51ef42, 8e01c16).
//!
//! Suspicions attacked: a worker counted idle while it starts a body makes
//! submitters, `Blocked::enter` or `wake_one_for_entry` skip a worker or a
//! wake-up and strands an entry; a joining or detached pool grows past
//! `max_workers` or leaves threads behind after its queue is done; `join`
//! returns while a worker grown for the leave-idle check still runs a body;
//! bounded queues, dedicated `Worker`s and nested timed waits racing a
//! join; a panicking `Drop` on the cancel and stale-entry paths (which now
//! leave `idle` themselves) leaves the counts unsettled. And the fix's own
//! purpose: sequential work on a settled pool starts no second worker.
//!
//! Each test is a bounded stress: every wait is bounded (`LONG`, `bounded`,
//! `wait_timeout`). Tests that pass are checks (the suspicion turned out
//! fine); a failing one reproduces a defect (see its comment).

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Pool, Task, TaskError, Worker};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A burst's bound: far beyond any run, short enough that a stranded entry
/// fails quickly.
const BURST_BOUND: Duration = Duration::from_secs(4);

fn budget() -> Instant {
    Instant::now() + Duration::from_millis(env_knob("ATTACK_MS", 700u64))
}

/// Bodies running at once, and the most seen.
#[derive(Default)]
struct Concurrency {
    now: AtomicUsize,
    most: AtomicUsize,
}

impl Concurrency {
    fn enter(&self) {
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, SeqCst);
    }
}

/// Worker threads that ran a body of ours, and those of them that have
/// exited (a thread-local guard counts the exit).
#[derive(Default)]
struct Threads {
    seen: AtomicUsize,
    exited: AtomicUsize,
}

struct ExitGuard(Arc<Threads>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        self.0.exited.fetch_add(1, SeqCst);
    }
}

thread_local! {
    static GUARDS: RefCell<Vec<ExitGuard>> = const { RefCell::new(Vec::new()) };
}

impl Threads {
    /// Called in a body: registers this thread once per `Threads`.
    fn register(self: &Arc<Self>) {
        GUARDS.with(|guards| {
            let mut guards = guards.borrow_mut();
            if !guards.iter().any(|g| Arc::ptr_eq(&g.0, self)) {
                self.seen.fetch_add(1, SeqCst);
                guards.push(ExitGuard(Arc::clone(self)));
            }
        });
    }

    #[track_caller]
    fn wait_all_exited(&self) {
        wait_for("every worker thread to exit", || {
            self.exited.load(SeqCst) == self.seen.load(SeqCst)
        });
    }
}

/// The purpose of the change: a pool that has settled (its worker counted
/// idle) and then gets one entry at a time starts no second worker, however
/// the worker's pop and the submitter's grow check interleave (the worker
/// counts the entry as taken before it leaves `idle`, so the submitter
/// never sees the entry queued and its taker gone).
#[test]
fn settled_sequential_work_keeps_one_worker() {
    let pool = Pool::builder().max_workers(4).build().unwrap();
    for i in 0..400 {
        let task = pool.submit(move || i);
        assert_eq!(join(task), Ok(i));
        assert!(pool.wait_completion(LONG));
        let s = pool.stats();
        assert!(s.workers <= 1, "round {i}: {s:?}");
        if i % 2 == 0 {
            pool.execute(|| {}).unwrap();
            assert!(pool.wait_completion(LONG));
            let s = pool.stats();
            assert!(s.workers <= 1, "round {i} (execute): {s:?}");
        }
    }
    assert!(pool.join(LONG));
}

/// Submitters race `join` on pools of 1..3 workers: `LeftIdle` growth in a
/// joining pool never passes `max_workers` (no body here blocks, so nothing
/// compensates), every accepted entry runs, `join` returns with the counts
/// settled and no worker, and every worker thread exits.
#[test]
fn join_racing_submitters_never_passes_max_and_leaves_no_thread() {
    let deadline = budget();
    let mut round = 0u64;
    while round < 8 || Instant::now() < deadline {
        round += 1;
        let max = 1 + (round % 3) as usize;
        let pool = Pool::builder()
            .max_workers(max)
            .idle_timeout(ms(1 + round % 3))
            .build()
            .unwrap();
        let conc = Arc::new(Concurrency::default());
        let threads = Arc::new(Threads::default());
        let accepted = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        let submitters: Vec<_> = (0..2u64)
            .map(|t| {
                let (pool, conc, threads, accepted, ran) = (
                    pool.clone(),
                    Arc::clone(&conc),
                    Arc::clone(&threads),
                    Arc::clone(&accepted),
                    Arc::clone(&ran),
                );
                thread::spawn(move || {
                    let mut rng = Rng::new(round * 7 + t);
                    for i in 0..300u64 {
                        let (conc, threads, ran) =
                            (Arc::clone(&conc), Arc::clone(&threads), Arc::clone(&ran));
                        let spin = rng.below(200);
                        let body = move || {
                            conc.enter();
                            threads.register();
                            let mut x = 0u64;
                            for k in 0..spin {
                                x = std::hint::black_box(x + k);
                            }
                            ran.fetch_add(1, SeqCst);
                            conc.leave();
                        };
                        let prio = [0, 0, 0, 2][(i % 4) as usize];
                        let ok = if prio == 0 && i % 2 == 0 {
                            pool.execute(body).is_ok()
                        } else {
                            let task = pool.submit_with_priority(prio, body);
                            task.wait_timeout(Duration::ZERO);
                            !matches!(task.error(), Some(TaskError::Rejected))
                        };
                        if ok {
                            accepted.fetch_add(1, SeqCst);
                        } else {
                            break;
                        }
                        if rng.below(8) == 0 {
                            thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        thread::sleep(Duration::from_micros(round % 5 * 100));
        let joined = bounded(BURST_BOUND, {
            let pool = pool.clone();
            move || pool.join(LONG)
        });
        assert_eq!(joined, Some(true), "round {round}: join did not finish");
        for s in submitters {
            s.join().unwrap();
        }
        // Submissions refused after the close are not counted; every
        // accepted one ran (a join finishes the queue).
        assert_eq!(
            ran.load(SeqCst),
            accepted.load(SeqCst),
            "round {round}: {:?}",
            pool.stats()
        );
        let s = pool.stats();
        assert_eq!((s.workers, s.queued, s.active), (0, 0, 0), "round {round}");
        let most = conc.most.load(SeqCst);
        assert!(
            most <= max,
            "round {round}: {most} bodies at once, max {max}"
        );
        threads.wait_all_exited();
    }
}

/// The last handle of an unnamed pool goes while entries are queued and
/// idle workers are taking them (`LeftIdle` may grow the detached pool):
/// the queue finishes, never more than `max_workers` run at once, and every
/// worker thread exits (a detached pool must not keep or start threads once
/// its queue is done).
#[test]
fn detached_pool_finishes_within_max_and_its_threads_exit() {
    let deadline = budget();
    let mut round = 0u64;
    while round < 8 || Instant::now() < deadline {
        round += 1;
        let max = 1 + (round % 3) as usize;
        let pool = Pool::builder().max_workers(max).build().unwrap();
        let conc = Arc::new(Concurrency::default());
        let threads = Arc::new(Threads::default());
        let ran = Arc::new(AtomicUsize::new(0));
        let n = 200;
        for i in 0..n {
            let (conc, threads, ran) = (Arc::clone(&conc), Arc::clone(&threads), Arc::clone(&ran));
            let body = move || {
                conc.enter();
                threads.register();
                ran.fetch_add(1, SeqCst);
                conc.leave();
            };
            if i % 3 == 0 {
                // Detached at once: the pool runs it all the same.
                drop(pool.submit_with_priority(-1, body));
            } else {
                pool.execute(body).unwrap();
            }
            if i == n / 2 {
                // Let workers go idle and take the rest as it comes.
                thread::yield_now();
            }
        }
        drop(pool); // detached: nobody waits
        wait_for("the detached pool's queue to finish", || {
            ran.load(SeqCst) == n
        });
        threads.wait_all_exited();
        let most = conc.most.load(SeqCst);
        assert!(
            most <= max,
            "round {round}: {most} bodies at once, max {max}"
        );
    }
}

/// Tasks on the pool submit to it and wait with a timeout (compensation,
/// `Blocked::enter` reading `idle` while other workers may be counted idle
/// with an entry in hand), while the pool is joined: every wait ends long
/// before its timeout, and the join finishes.
#[test]
fn nested_timed_waits_during_join_never_strand() {
    let deadline = budget();
    let mut round = 0u64;
    while round < 6 || Instant::now() < deadline {
        round += 1;
        let pool = Pool::builder()
            .max_workers(1 + (round % 2) as usize)
            .build()
            .unwrap();
        let outers: Vec<Task<bool>> = (0..12)
            .map(|i| {
                let p = pool.clone();
                pool.submit(move || {
                    let inner = p.submit_with_priority(i % 3 - 1, move || i);
                    // Refused (closed) or run: either way it ends at once.
                    inner.wait_timeout(BURST_BOUND)
                })
            })
            .collect();
        if round % 2 == 0 {
            thread::yield_now();
        }
        let joined = bounded(BURST_BOUND * 2, {
            let pool = pool.clone();
            move || pool.join(LONG)
        });
        assert_eq!(joined, Some(true), "round {round}: join did not finish");
        for (i, outer) in outers.into_iter().enumerate() {
            match join(outer) {
                Ok(ended) => assert!(ended, "round {round}: inner wait {i} timed out"),
                Err(e) => panic!("round {round}: outer {i}: {e:?}"),
            }
        }
    }
}

/// A pool-level wait (`join`) made from one of its own workers while idle
/// workers take entries: it returns, and no other worker is left.
#[test]
fn join_from_own_worker_with_queued_work() {
    for round in 0..40u64 {
        let pool = Pool::builder()
            .max_workers(1 + (round % 3) as usize)
            .build()
            .unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let p = pool.clone();
        let r = Arc::clone(&ran);
        let outer = pool.submit(move || {
            for _ in 0..50 {
                let r = Arc::clone(&r);
                p.execute(move || {
                    r.fetch_add(1, SeqCst);
                })
                .unwrap();
            }
            let done = p.join(LONG);
            (done, p.stats())
        });
        let (done, stats) = join(outer).unwrap();
        assert!(done, "round {round}");
        assert_eq!(ran.load(SeqCst), 50, "round {round}");
        // Only the joining worker itself is left.
        assert!(
            stats.workers <= 1 && stats.queued == 0,
            "round {round}: {stats:?}"
        );
        wait_for("the last worker to leave", || pool.stats().workers == 0);
    }
}

/// Bounded queues (every take counted SeqCst, `left_queue` wakes room
/// waiters): producers that wait for room race `join`; every accepted
/// entry runs, blocked producers are released, and the join finishes.
#[test]
fn bounded_queue_producers_vs_join() {
    let deadline = budget();
    let mut round = 0u64;
    while round < 6 || Instant::now() < deadline {
        round += 1;
        let pool = Pool::builder()
            .max_workers(1 + (round % 2) as usize)
            .queue_capacity(1 + (round % 3) as usize)
            .build()
            .unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        let producers: Vec<_> = (0..3)
            .map(|t| {
                let (pool, accepted, ran) = (pool.clone(), Arc::clone(&accepted), Arc::clone(&ran));
                thread::spawn(move || {
                    for i in 0..200 {
                        let ran = Arc::clone(&ran);
                        let task = pool.submit_with_priority((i + t) % 2, move || {
                            ran.fetch_add(1, SeqCst);
                        });
                        task.wait_timeout(Duration::ZERO);
                        if matches!(task.error(), Some(TaskError::Rejected)) {
                            return;
                        }
                        accepted.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        thread::sleep(Duration::from_micros(200 + round % 4 * 300));
        let joined = bounded(BURST_BOUND, {
            let pool = pool.clone();
            move || pool.join(LONG)
        });
        assert_eq!(joined, Some(true), "round {round}");
        for p in producers {
            assert!(
                bounded(BURST_BOUND, move || p.join().is_ok()) == Some(true),
                "round {round}: a producer stayed blocked"
            );
        }
        assert_eq!(ran.load(SeqCst), accepted.load(SeqCst), "round {round}");
    }
}

/// A dedicated `Worker` (one thread, no growth, no compensation) fed by
/// racing submitters, then joined or stopped: every task ends (ran, or
/// cancelled/rejected), and the thread is gone.
#[test]
fn dedicated_worker_submitters_vs_join_or_stop() {
    let deadline = budget();
    let mut round = 0u64;
    while round < 8 || Instant::now() < deadline {
        round += 1;
        let worker = Arc::new(Worker::new());
        let tasks: Arc<Mutex<Vec<Task<u64>>>> = Arc::default();
        let submitters: Vec<_> = (0..2u64)
            .map(|t| {
                let (worker, tasks) = (Arc::clone(&worker), Arc::clone(&tasks));
                thread::spawn(move || {
                    for i in 0..200u64 {
                        let task = worker.submit_with_priority((i % 3) as i32 - 1, move || i + t);
                        tasks.lock().unwrap().push(task);
                    }
                })
            })
            .collect();
        thread::sleep(Duration::from_micros(round % 4 * 150));
        let w = Arc::clone(&worker);
        let stopped = bounded(BURST_BOUND, move || {
            if round % 2 == 0 {
                w.join(LONG)
            } else {
                w.stop();
                true
            }
        });
        assert_eq!(stopped, Some(true), "round {round}");
        for s in submitters {
            s.join().unwrap();
        }
        for task in tasks.lock().unwrap().drain(..) {
            assert!(
                task.wait_timeout(BURST_BOUND),
                "round {round}: {task} stranded"
            );
            if round % 2 == 0 {
                // A join runs everything it accepted.
                assert!(
                    !task.is_cancelled(),
                    "round {round}: joined worker cancelled {task}"
                );
            }
        }
        wait_for("the worker's thread to exit", || !worker.is_alive());
    }
}

const DELIBERATE: &str = "deliberate drop panic (regress_review_idle)";

/// Panics when dropped.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !thread::panicking() {
            panic!("{}", DELIBERATE);
        }
    }
}

/// The cancel and stale-entry paths, which now leave `idle` themselves
/// before user code runs, with user code that panics there: closures that
/// panic when dropped, dropped by a worker as stale entries (cancelled
/// tasks) and as cancelled jobs (a shutdown), taken by an idle worker. The
/// counts settle, the pool still runs work, and the shutdown finishes.
#[test]
fn panicking_drops_on_cancel_and_stale_paths_leave_counts_settled() {
    quiet_deliberate_panics(DELIBERATE);
    for round in 0..20u64 {
        let pool = Pool::builder()
            .max_workers(1 + (round % 2) as usize)
            .build()
            .unwrap();
        // Stale entries: queued behind a busy worker, cancelled, then popped
        // by a worker (idle or not) that drops them.
        let (gate, running) = occupy(&pool);
        let stale: Vec<Task<()>> = (0..10)
            .map(|i| {
                let bomb = PanicOnDrop;
                pool.submit_with_priority(i % 2, move || {
                    let _bomb = &bomb;
                })
            })
            .collect();
        for task in &stale {
            task.cancel();
        }
        gate.open();
        assert_eq!(join(running), Ok(true));
        assert!(
            pool.wait_completion(LONG),
            "round {round}: {:?}",
            pool.stats()
        );
        let s = pool.stats();
        assert_eq!((s.queued, s.active), (0, 0), "round {round}: {s:?}");
        // The pool still works, through its idle workers.
        for i in 0..20 {
            assert_eq!(join(pool.submit(move || i)), Ok(i));
        }
        // Cancelled jobs: queued behind busy workers, cancelled by a
        // shutdown that lets the running bodies finish.
        let (gate, running) = occupy(&pool);
        for _ in 0..10 {
            let bomb = PanicOnDrop;
            pool.execute(move || {
                let _bomb = &bomb;
            })
            .unwrap();
        }
        let p = pool.clone();
        let shut = thread::spawn(move || p.shutdown(LONG));
        thread::sleep(ms(1));
        gate.open();
        assert!(shut.join().unwrap(), "round {round}: {:?}", pool.stats());
        assert_eq!(join(running), Ok(true));
        let s = pool.stats();
        assert_eq!(
            (s.queued, s.active, s.workers),
            (0, 0, 0),
            "round {round}: {s:?}"
        );
    }
}
