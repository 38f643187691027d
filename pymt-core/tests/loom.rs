//! `loom` models of the races pymt's guarantees rest on: the task state
//! machine (complete vs cancel vs wait, listeners, permits), the limiter
//! (acquire, release, timeout, FIFO handoff, the last handle and the last
//! permit racing to recycle its shared part), the handoff from a submitter
//! to an idle worker (through the lock-free lane, and through the ranked
//! queue with its wake token), the order of a ranked and a plain
//! submission racing a live worker, and around it a nested wait, a submit
//! racing `Pool::join` and a handle-less job racing `Pool::shutdown`; and
//! three races of the correctness review: two ranked pushes reaching both
//! idle workers (defect 7), a deferred launch racing a cancel (defect 6), a
//! completion submitting to its own full queue (defect 5). Each of these
//! three fails with its bug put back: the launch counted after it becomes
//! queued, a wake token put back where no blocked worker looks, a worker
//! waiting for room in its own queue.
//! The split queued count (`pushed` by submitters, `popped` by workers) has
//! a model of its own, a wait racing a push and a pop; it fails with the
//! two counts read in the wrong order. `join` racing the last job of three
//! workers fails (deadlocks) if a worker that leaves does not pass on the
//! wake-ups it may have taken. A worker that takes the next entry of its
//! streak with a plain store on its own stripe of the counts races a
//! waiter on another thread (`streak_plain_store_vs_wait_completion`).
//!
//! Each model runs the real types (built with `--cfg loom`, their mutexes,
//! condvars, atomics, threads and parking are loom's; see `src/sync.rs`) in
//! a small scenario, and loom runs it under every interleaving up to the
//! preemption bound. A lost wake-up shows up as loom's deadlock report, a
//! broken invariant as a failed assertion. Each model also checks that its
//! race went every way it can (`Coverage`), so none passes vacuously.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p pymt-core --release --test loom
//! ```
//!
//! Without `LOOM_MAX_PREEMPTIONS` the bound is 2 here too; a larger one
//! explores more and takes much longer.
//!
//! The pool's main lane (its own lock-free FIFO) has models of its own
//! (`fifo_*`, `lane_*`); the engine's models use a simple stand-in lane.
//! Adding `--cfg pymt_loom_fifo` to `RUSTFLAGS` runs them on the real lane
//! (see `docs/architecture.md`, "The main lane").
#![cfg(loom)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::thread;

use pymt::__private::Launch;
use pymt::{Limiter, Pool, TaskError, TaskState, Worker};
use pymt_core as pymt;

/// Runs `f` under loom, bounded to 2 preemptions unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise, and prints how many interleavings
/// it explored (seen with `--nocapture`).
fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    model_bounded(usize::MAX, f)
}

/// As [`model`], with at most `most` preemptions whatever the environment
/// asks: for models where two threads can spin at once (a consumer about
/// to block waiting for a claimed head, under the lane's lock, and a
/// producer waiting for the link of the next segment), whose executions
/// loom extends without end at a bound of 2 (each yields to the other and
/// the thread both wait for is never picked).
fn model_bounded<F>(most: usize, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.preemption_bound = builder.preemption_bound.map(|bound| bound.min(most));
    // The real main lane (`--cfg pymt_loom_fifo`) takes many more atomic
    // steps per push and pop than the stand-in: an execution of the
    // engine's larger models outgrows loom's default of 1000.
    builder.max_branches = builder.max_branches.max(20_000);
    let executions = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&executions);
    builder.check(move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    println!(
        "{} interleavings explored (preemption bound {:?})",
        executions.load(std::sync::atomic::Ordering::Relaxed),
        builder.preemption_bound
    );
}

/// The outcomes a model reached over all its interleavings, so a model
/// whose race never goes both ways fails instead of passing vacuously.
#[derive(Clone, Default)]
struct Coverage(Arc<std::sync::Mutex<BTreeSet<&'static str>>>);

impl Coverage {
    fn saw(&self, outcome: &'static str) {
        self.0.lock().unwrap().insert(outcome);
    }

    #[track_caller]
    fn assert_saw(&self, expected: &[&'static str]) {
        let seen = self.0.lock().unwrap();
        for outcome in expected {
            assert!(
                seen.contains(outcome),
                "no interleaving reached '{outcome}' (saw {seen:?})"
            );
        }
    }
}

/// A pool of exactly one worker, started up front (so it is idle, or going
/// idle, when the model's first submission arrives).
fn one_worker_pool() -> Pool {
    Pool::builder()
        .min_workers(1)
        .max_workers(1)
        .build()
        .unwrap()
}

/// A limiter that lives for the rest of the process, as `#[limiter]`'s do
/// (deferred launches need `&'static`). One small leak per execution.
fn leaked_limiter(permits: usize) -> &'static Limiter {
    Box::leak(Box::new(Limiter::new(permits)))
}

// ===== the task state machine =====

/// A task on its own thread (which claims and completes it) races a
/// canceller and a waiter: the task ends in exactly one final state that
/// every observer agrees on, the body runs iff it `Succeeded`, `cancel`
/// returns true iff it is `Cancelled`, and the waiter always wakes.
#[test]
fn task_complete_vs_cancel_vs_wait() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let runs = Arc::new(AtomicUsize::new(0));
        let task = {
            let runs = Arc::clone(&runs);
            pymt::spawn(move || {
                runs.fetch_add(1, SeqCst);
                7
            })
        };
        let canceller = {
            let task = task.clone();
            thread::spawn(move || task.cancel())
        };
        let waiter = {
            let task = task.clone();
            thread::spawn(move || {
                task.wait();
                assert!(task.is_done(), "wait returned before the task ended");
                task.state()
            })
        };
        let cancelled = canceller.join().unwrap();
        let seen_by_waiter = waiter.join().unwrap();
        let state = task.state();
        assert_eq!(
            state, seen_by_waiter,
            "observers disagree on the final state"
        );
        match state {
            TaskState::Succeeded => {
                seen.saw("succeeded");
                assert!(!cancelled, "cancel claimed a task that ran");
                assert_eq!(runs.load(SeqCst), 1);
                assert_eq!(task.join(), Ok(7));
            }
            TaskState::Cancelled => {
                seen.saw("cancelled");
                assert!(cancelled, "Cancelled, but no canceller won the claim");
                assert_eq!(runs.load(SeqCst), 0, "a cancelled body ran");
                assert_eq!(task.join(), Err(TaskError::Cancelled));
            }
            other => panic!("unexpected final state {other:?}"),
        }
    });
    coverage.assert_saw(&["succeeded", "cancelled"]);
}

/// An `on_done` callback registered while the task completes or is
/// cancelled runs exactly once, with the final result, before `join`
/// returns.
#[test]
fn task_listener_vs_complete_vs_cancel() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let calls = Arc::new(AtomicUsize::new(0));
        let saw_success = Arc::new(AtomicBool::new(false));
        let task = pymt::spawn(|| 7);
        let listener = {
            let task = task.clone();
            let (calls, saw_success) = (Arc::clone(&calls), Arc::clone(&saw_success));
            let seen = seen.clone();
            thread::spawn(move || {
                let registering = thread::current().id();
                task.on_done(move |result| {
                    calls.fetch_add(1, SeqCst);
                    saw_success.store(result == &Ok(7), SeqCst);
                    seen.saw(if thread::current().id() == registering {
                        "called at registration"
                    } else {
                        "called by the finishing thread"
                    });
                });
            })
        };
        let cancelled = task.cancel();
        listener.join().unwrap();
        let outcome = task.join();
        assert_eq!(calls.load(SeqCst), 1, "on_done did not run exactly once");
        assert_eq!(saw_success.load(SeqCst), outcome.is_ok());
        assert_eq!(cancelled, outcome == Err(TaskError::Cancelled));
        seen.saw(if cancelled { "cancelled" } else { "succeeded" });
    });
    coverage.assert_saw(&[
        "called at registration",
        "called by the finishing thread",
        "cancelled",
        "succeeded",
    ]);
}

/// A task holding a limiter permit races a canceller: however it ends, the
/// permit is back in the limiter by the time `join` returns.
#[test]
fn task_permit_released_exactly_once() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let limiter = Limiter::new(1);
        let permit = limiter.acquire();
        let task = Launch::new().permit(permit).thread(|| 1);
        let canceller = {
            let task = task.clone();
            thread::spawn(move || task.cancel())
        };
        let outcome = task.join();
        let cancelled = canceller.join().unwrap();
        assert_eq!(cancelled, outcome == Err(TaskError::Cancelled));
        assert_eq!(
            limiter.available(),
            1,
            "the task's permit was lost or doubled"
        );
        seen.saw(if cancelled { "cancelled" } else { "succeeded" });
    });
    coverage.assert_saw(&["cancelled", "succeeded"]);
}

/// A deferred task (waiting in a limiter, as `#[limiter]` launches them)
/// races its permit's arrival (the release runs the launch on the
/// releasing thread) against a canceller: the permit is never lost,
/// whether the canceller wins before the permit arrives, between its
/// arrival and the dispatch, or not at all.
#[test]
fn deferred_task_permit_vs_cancel() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let limiter = leaked_limiter(1);
        let held = limiter.acquire();
        let task = Launch::new().deferred(limiter).thread(|| 1);
        assert_eq!(task.state(), TaskState::Pending);
        let releaser = thread::spawn(move || drop(held));
        let canceller = {
            let task = task.clone();
            thread::spawn(move || task.cancel())
        };
        let cancelled = canceller.join().unwrap();
        let outcome = task.join();
        releaser.join().unwrap();
        assert_eq!(cancelled, outcome == Err(TaskError::Cancelled));
        if !cancelled {
            assert_eq!(outcome, Ok(1));
        }
        assert_eq!(limiter.available(), 1, "a permit was lost or doubled");
        seen.saw(if cancelled { "cancelled" } else { "succeeded" });
    });
    coverage.assert_saw(&["cancelled", "succeeded"]);
}

// ===== the limiter =====

/// Three threads share one permit: never two holders at once, and every
/// permit is back at the end.
#[test]
fn limiter_acquire_release_three_threads() {
    model(|| {
        let limiter = Limiter::new(1);
        let holders = Arc::new(AtomicUsize::new(0));
        let contend = |limiter: Limiter, holders: Arc<AtomicUsize>| {
            move || {
                let permit = limiter.acquire();
                assert_eq!(holders.fetch_add(1, SeqCst), 0, "two holders of one permit");
                holders.fetch_sub(1, SeqCst);
                drop(permit);
            }
        };
        let a = thread::spawn(contend(limiter.clone(), Arc::clone(&holders)));
        let b = thread::spawn(contend(limiter.clone(), Arc::clone(&holders)));
        contend(limiter.clone(), holders)();
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(limiter.available(), 1);
    });
}

/// A timed waiter and an untimed one queue for a held permit; the release
/// races the timeout. The timed waiter may or may not get the permit (if it
/// was granted while timing out it must take it), the untimed one always
/// gets it after, and no permit is left behind or lost.
#[test]
fn limiter_timeout_vs_release() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let limiter = Limiter::new(1);
        let held = limiter.acquire();
        let timed = {
            let limiter = limiter.clone();
            // Logical time (src/sync.rs): a few rounds, then it times out.
            thread::spawn(move || limiter.acquire_timeout(Duration::from_millis(2)).is_some())
        };
        let untimed = {
            let limiter = limiter.clone();
            thread::spawn(move || drop(limiter.acquire()))
        };
        drop(held);
        seen.saw(if timed.join().unwrap() {
            "timed waiter got the permit"
        } else {
            "timed waiter timed out"
        });
        untimed.join().unwrap();
        assert_eq!(
            limiter.available(),
            1,
            "a timed-out waiter kept or lost a permit"
        );
    });
    coverage.assert_saw(&["timed waiter got the permit", "timed waiter timed out"]);
}

/// Waiters are served in arrival order: a deferred launch queued before a
/// blocked thread gets the released permit first, and the thread gets it
/// only when that task ends and releases it (a handoff, no barging).
#[test]
fn limiter_fifo_handoff() {
    model(|| {
        let limiter = leaked_limiter(1);
        let held = limiter.acquire();
        let first_done = Arc::new(AtomicBool::new(false));
        // Queued synchronously: it is the first waiter.
        let first = {
            let first_done = Arc::clone(&first_done);
            Launch::new()
                .deferred(limiter)
                .thread(move || first_done.store(true, SeqCst))
        };
        let second = {
            let first_done = Arc::clone(&first_done);
            thread::spawn(move || {
                let _permit = limiter.acquire();
                assert!(first_done.load(SeqCst), "the later waiter was served first");
            })
        };
        drop(held);
        second.join().unwrap();
        assert_eq!(first.join(), Ok(()));
        assert_eq!(limiter.available(), 1);
    });
}

/// The last `Limiter` handle and the last permit go on two threads. The
/// permit is one pointer without a reference count: the word that counts
/// held permits also counts handles, and the one read-modify-write that
/// takes it to 0 recycles the shared part. Exactly one thread does (never
/// both: a part on the free list twice would be given to two limiters;
/// never neither: a leak), and a permit released after its limiter is gone
/// still finds it.
#[test]
fn limiter_last_handle_vs_last_permit() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let before = pymt::loom_limiters_reclaimed();
        let limiter = Limiter::new(1);
        let permit = limiter.acquire();
        let permit_gone = Arc::new(AtomicBool::new(false));
        let limiter_gone = Arc::new(AtomicBool::new(false));
        // Each side notes whether the other was gone before it started: if
        // so, its own drop is the last reference.
        let releaser = {
            let (mine, other) = (Arc::clone(&permit_gone), Arc::clone(&limiter_gone));
            let seen = seen.clone();
            thread::spawn(move || {
                let last = other.load(SeqCst);
                drop(permit);
                mine.store(true, SeqCst);
                if last {
                    seen.saw("the permit went last");
                }
            })
        };
        let dropper = {
            let (mine, other) = (Arc::clone(&limiter_gone), Arc::clone(&permit_gone));
            let seen = seen.clone();
            thread::spawn(move || {
                let last = other.load(SeqCst);
                drop(limiter);
                mine.store(true, SeqCst);
                if last {
                    seen.saw("the limiter went last");
                }
            })
        };
        releaser.join().unwrap();
        dropper.join().unwrap();
        assert_eq!(
            pymt::loom_limiters_reclaimed() - before,
            1,
            "the shared part was recycled twice or never"
        );
    });
    coverage.assert_saw(&["the limiter went last", "the permit went last"]);
}

/// The last `Limiter` handle goes while the permit it guards is handed
/// over through the waiters' queue (`QUEUED`) to a thread whose timeout
/// races the grant (attack review): the shared part is recycled exactly
/// once, by the last use, whichever order the grant, the timeout, the
/// handle drops and the permit drops take. (A recycle while the releaser
/// still held the waiters' lock, or while the waiter's permit was out,
/// would count twice or not at all.)
#[test]
fn limiter_handoff_vs_timeout_vs_last_handle() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let before = pymt::loom_limiters_reclaimed();
        let limiter = Limiter::new(1);
        let permit = limiter.acquire();
        let waiter = {
            let limiter = limiter.clone();
            thread::spawn(move || {
                let got = limiter.acquire_timeout(Duration::from_millis(2));
                drop(limiter);
                got.is_some()
            })
        };
        drop(limiter);
        drop(permit);
        seen.saw(if waiter.join().unwrap() {
            "the waiter got the permit"
        } else {
            "the waiter timed out"
        });
        assert_eq!(
            pymt::loom_limiters_reclaimed() - before,
            1,
            "the shared part was recycled twice or never"
        );
    });
    coverage.assert_saw(&["the waiter got the permit", "the waiter timed out"]);
}

// ===== queue handoff to an idle worker =====

/// A dedicated worker starts and goes idle while a task is submitted: the
/// task runs exactly once (no lost wake-up: a missed notification would
/// leave `join` asleep, which loom reports as a deadlock), then the worker
/// exits on `join`.
#[test]
fn worker_handoff_to_idle_worker() {
    model(|| {
        let worker = Worker::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let task = {
            let runs = Arc::clone(&runs);
            worker.submit(move || runs.fetch_add(1, SeqCst))
        };
        assert_eq!(task.join(), Ok(0));
        assert_eq!(runs.load(SeqCst), 1);
        assert!(worker.join(Duration::MAX));
        assert!(!worker.is_alive());
    });
}

/// Two submitters feed a 1-worker pool whose worker starts idle: both tasks
/// run exactly once and the pool's counts settle.
#[test]
fn pool_two_submitters_one_worker() {
    model(|| {
        let pool = one_worker_pool();
        let runs = Arc::new(AtomicUsize::new(0));
        let submit = |pool: &Pool, runs: &Arc<AtomicUsize>| {
            let runs = Arc::clone(runs);
            pool.submit(move || {
                runs.fetch_add(1, SeqCst);
            })
        };
        let other = {
            let (pool, runs) = (pool.clone(), Arc::clone(&runs));
            thread::spawn(move || submit(&pool, &runs).join())
        };
        let mine = submit(&pool, &runs).join();
        assert_eq!(other.join().unwrap(), Ok(()));
        assert_eq!(mine, Ok(()));
        assert_eq!(runs.load(SeqCst), 2);
        assert!(pool.join(Duration::MAX));
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.active, stats.completed), (0, 0, 2));
    });
}

/// A cancel races the idle worker's pickup of the only task: exactly one of
/// them claims it, the queue count stays right (`join` would hang on a
/// miscount), and the statistics add up.
#[test]
fn pool_handoff_vs_cancel() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let pool = one_worker_pool();
        let task = pool.submit(|| 5);
        let canceller = {
            let task = task.clone();
            thread::spawn(move || task.cancel())
        };
        let outcome = task.join();
        let cancelled = canceller.join().unwrap();
        assert_eq!(cancelled, outcome == Err(TaskError::Cancelled));
        if !cancelled {
            assert_eq!(outcome, Ok(5));
        }
        assert!(pool.join(Duration::MAX));
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.active), (0, 0));
        assert_eq!(stats.completed + stats.cancelled, 1);
        assert_eq!(stats.cancelled, usize::from(cancelled));
        seen.saw(if cancelled { "cancelled" } else { "ran" });
    });
    coverage.assert_saw(&["cancelled", "ran"]);
}

/// A task on a 2-worker pool submits a sub-task and joins it, while the
/// sub-task's submission starts a second worker: the waiting worker (which
/// runs a still-queued task of its own pool inline) and the new worker race
/// for it. It runs exactly once, the wait never deadlocks, and the counts
/// settle.
#[test]
fn nested_wait_helper_vs_second_worker() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let pool = Pool::builder().max_workers(2).build().unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        let outer = {
            let (inner_pool, runs) = (pool.clone(), Arc::clone(&runs));
            pool.submit(move || {
                let waiting = thread::current().id();
                let inner = inner_pool.submit(move || {
                    runs.fetch_add(1, SeqCst);
                    thread::current().id() == waiting
                });
                inner.join()
            })
        };
        let inline = outer.join().unwrap().unwrap();
        seen.saw(if inline {
            "run inline by the waiting worker"
        } else {
            "run by the other worker"
        });
        assert_eq!(runs.load(SeqCst), 1);
        assert!(pool.join(Duration::MAX));
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.active, stats.workers), (0, 0, 0));
        assert_eq!(stats.completed, 2);
    });
    coverage.assert_saw(&[
        "run inline by the waiting worker",
        "run by the other worker",
    ]);
}

/// A submission races `Pool::join` from another thread: the task is either
/// accepted and run or comes back `Rejected`, never lost, and `join`
/// returns once it is done.
#[test]
fn pool_submit_vs_join() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let pool = one_worker_pool();
        let joiner = {
            let pool = pool.clone();
            thread::spawn(move || pool.join(Duration::MAX))
        };
        let outcome = pool.submit(|| 3).join();
        assert!(joiner.join().unwrap(), "join gave up");
        match outcome {
            Ok(3) => seen.saw("accepted"),
            Err(TaskError::Rejected) => seen.saw("rejected"),
            other => panic!("unexpected outcome {other:?}"),
        }
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.active, stats.workers), (0, 0, 0));
        assert_eq!(stats.completed, usize::from(outcome.is_ok()));
    });
    coverage.assert_saw(&["accepted", "rejected"]);
}

/// A ranked submission (priority ≠ 0 does not go through the main lane,
/// which idle workers block on) reaches a worker that is going idle: the
/// worker either sees the level's bit or the outlier count after announcing
/// itself idle, or the submitter sees it idle and pushes a wake token. A
/// lost wake-up leaves `join` asleep (a loom deadlock).
#[test]
fn pool_ranked_push_to_idle_worker() {
    model(|| {
        let pool = one_worker_pool();
        // Under loom, priorities -8..=8 have lock-free levels; 50 is an
        // outlier that goes through the inbox and the locked queue.
        for priority in [5, -5, 50] {
            assert_eq!(
                pool.submit_with_priority(priority, move || priority).join(),
                Ok(priority)
            );
        }
        assert!(pool.join(Duration::MAX));
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.active, stats.completed), (0, 0, 3));
    });
}

/// A handle-less job races `Pool::shutdown`: it either runs or is dropped
/// as cancelled (or is refused and handed back), exactly one of these;
/// `shutdown` returns and the counts settle.
#[test]
fn pool_execute_vs_shutdown() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let pool = one_worker_pool();
        let stopper = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown(Duration::MAX))
        };
        let ran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        let refused = pool.execute(move || flag.store(true, SeqCst)).is_err();
        assert!(stopper.join().unwrap(), "shutdown gave up");
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.active, stats.workers), (0, 0, 0));
        let ran = ran.load(SeqCst);
        assert_eq!(
            usize::from(ran) + stats.cancelled + usize::from(refused),
            1,
            "ran {ran}, cancelled {}, refused {refused}",
            stats.cancelled
        );
        assert_eq!(stats.completed, usize::from(ran));
        seen.saw(if refused {
            "refused"
        } else if ran {
            "ran"
        } else {
            "cancelled"
        });
    });
    coverage.assert_saw(&["refused", "ran", "cancelled"]);
}

/// One submitter queues a ranked task, then a priority-0 one, while the
/// only worker is live: the two go to different lock-free queues, so the
/// worker may find the ranked side empty, and then pop the priority-0
/// entry pushed meanwhile. It must still start the ranked task first: it
/// re-checks the ranked side after every pop from the main lane and holds
/// the entry it took. (Without that re-check this model fails.)
#[test]
fn pool_ranked_then_plain_keep_their_order() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let pool = one_worker_pool();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (high, plain) = (Arc::clone(&order), Arc::clone(&order));
        let first = pool.submit_with_priority(5, move || high.lock().unwrap().push(5));
        let second = pool.submit(move || plain.lock().unwrap().push(0));
        assert_eq!(second.join(), Ok(()));
        assert_eq!(first.join(), Ok(()));
        assert_eq!(*order.lock().unwrap(), [5, 0]);
        assert!(pool.join(Duration::MAX));
        seen.saw("ordered");
    });
    coverage.assert_saw(&["ordered"]);
}

/// Defect 7 of the correctness review: a ranked push wakes a blocked worker
/// only if more workers are idle than wake tokens are on their way. A
/// woken worker must give up its token before it stops counting as idle,
/// or a push in between sees one idle worker and one token, and wakes
/// nobody although a worker is still blocked. Here `first` waits for
/// `second` to start, so `second` must reach the other worker: a lost
/// wake-up is a loom deadlock.
#[test]
fn ranked_pushes_wake_both_idle_workers() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let pool = Pool::builder()
            .min_workers(2)
            .max_workers(2)
            .build()
            .unwrap();
        let started = Arc::new(AtomicBool::new(false));
        let first = {
            let started = Arc::clone(&started);
            let gate = Arc::new((loom::sync::Mutex::new(false), loom::sync::Condvar::new()));
            let opener = Arc::clone(&gate);
            let task = pool.submit_with_priority(5, move || {
                started.store(true, SeqCst);
                let (open, cv) = &*gate;
                let mut open = open.lock().unwrap();
                while !*open {
                    open = cv.wait(open).unwrap();
                }
            });
            (task, opener)
        };
        seen.saw(if started.load(SeqCst) {
            "second pushed after the first started"
        } else {
            "second pushed while the first was queued"
        });
        let (first, opener) = first;
        let second = pool.submit_with_priority(5, move || {
            let (open, cv) = &*opener;
            *open.lock().unwrap() = true;
            cv.notify_one();
        });
        assert_eq!(second.join(), Ok(()));
        assert_eq!(first.join(), Ok(()));
        assert!(pool.join(Duration::MAX));
    });
    coverage.assert_saw(&[
        "second pushed while the first was queued",
        "second pushed after the first started",
    ]);
}

/// Defect 6: a task waiting in a limiter is queued when a permit frees,
/// while a canceller races it. It is counted in the pool's queue before it
/// can be claimed from the queued state, so the count never drifts (a
/// miscount would leave `join` waiting forever, or `queued` at 2^32-1).
#[test]
fn deferred_launch_vs_cancel_keeps_the_count() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let limiter = leaked_limiter(1);
        let pool = one_worker_pool();
        let permit = limiter.acquire();
        let task = Launch::new().deferred(limiter).on(&pool, || 1);
        let released = Arc::new(AtomicBool::new(false));
        let canceller = {
            let (task, released, pool) = (task.clone(), Arc::clone(&released), pool.clone());
            thread::spawn(move || {
                let after = released.load(SeqCst);
                let cancelled = task.cancel();
                // Never counted below zero, even for a moment (a task
                // claimed from the queued state before it was counted).
                assert!(pool.stats().queued <= 1);
                (cancelled, after)
            })
        };
        drop(permit);
        released.store(true, SeqCst);
        let (cancelled, after_release) = canceller.join().unwrap();
        let outcome = task.join();
        assert_eq!(cancelled, outcome == Err(TaskError::Cancelled));
        if !cancelled {
            assert_eq!(outcome, Ok(1));
        }
        assert!(pool.join(Duration::MAX));
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.active), (0, 0));
        assert_eq!(limiter.available(), 1);
        seen.saw(match (cancelled, after_release) {
            (true, false) => "cancelled before the release",
            (true, true) => "cancelled after the release",
            (false, _) => "ran",
        });
    });
    coverage.assert_saw(&[
        "cancelled before the release",
        "cancelled after the release",
        "ran",
    ]);
}

/// Defect 5: a task's completion (its callback) submits to its own pool's
/// full bounded queue. The submission is queued past the capacity: it
/// neither blocks the finishing worker nor runs the queued task inside the
/// unfinished completion (where that task, waiting on the finishing one,
/// deadlocked). Everything ends, and the counts settle.
#[test]
fn completion_submits_to_its_own_full_queue() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let pool = Pool::builder()
            .min_workers(1)
            .max_workers(1)
            .queue_capacity(1)
            .build()
            .unwrap();
        let first = pool.submit(|| 1);
        let from_callback = Arc::new(loom::sync::Mutex::new(None));
        {
            let (pool, slot, seen) = (pool.clone(), Arc::clone(&from_callback), seen.clone());
            let worker = thread::current().id();
            first.on_done(move |_| {
                let full = pool.stats().queued >= 1;
                let on_worker = thread::current().id() != worker;
                seen.saw(match (on_worker, full) {
                    (true, true) => "callback on the worker, queue full",
                    (true, false) => "callback on the worker, room left",
                    (false, _) => "callback on the registering thread",
                });
                *slot.lock().unwrap() = Some(pool.submit(|| 2));
            });
        }
        let waiter = {
            let first = first.clone();
            pool.submit(move || first.join())
        };
        assert_eq!(waiter.join(), Ok(Ok(1)));
        let second = from_callback.lock().unwrap().take().expect("callback ran");
        assert_eq!(second.join(), Ok(2));
        assert!(pool.join(Duration::MAX));
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.active, stats.completed), (0, 0, 3));
    });
    coverage.assert_saw(&[
        "callback on the worker, queue full",
        "callback on the registering thread",
    ]);
}

// ===== the split queued count =====

/// The queued count is `pushed` (written by submitters) less `popped`
/// (written by workers), read in that order's reverse: `load` first,
/// `pushed` last. A job and `wait_completion` on the main thread race a
/// second submitter's job and the worker, which checks for sleepers before
/// it reads the submitters' count. The wait never returns before the first
/// job ran (an undercount would let it), is never left asleep (a lost
/// wake-up is a loom deadlock), and a snapshot taken meanwhile never shows
/// more than was submitted (a `pushed` read before `load` could show a
/// wrapped, huge count).
#[test]
fn wait_completion_vs_racing_push_and_pop() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let pool = one_worker_pool();
        let (first, second) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let other = {
            let (pool, second) = (pool.clone(), Arc::clone(&second));
            thread::spawn(move || {
                pool.execute(move || second.store(true, SeqCst)).unwrap();
                let stats = pool.stats();
                assert!(stats.queued <= 2 && stats.active <= 1, "{stats:?}");
            })
        };
        let flag = Arc::clone(&first);
        pool.execute(move || flag.store(true, SeqCst)).unwrap();
        assert!(pool.wait_completion(Duration::MAX));
        assert!(first.load(SeqCst), "the wait returned before its job ran");
        seen.saw(if second.load(SeqCst) {
            "the racing job had run"
        } else {
            "the racing job had not run"
        });
        other.join().unwrap();
        assert!(pool.join(Duration::MAX));
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.active, stats.completed), (0, 0, 2));
        assert!(second.load(SeqCst));
    });
    coverage.assert_saw(&["the racing job had run", "the racing job had not run"]);
}

/// A snapshot taken while a job runs counts it somewhere: queued, active
/// or completed (the worker's tally). Fails while `snapshot` reads the
/// tallies before the occupancy: the job can end between the two reads
/// and show up in neither (regress_review_counts:
/// a_live_snapshot_never_loses_a_job).
#[test]
fn snapshot_vs_finishing_job_counts_it_somewhere() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let pool = one_worker_pool();
        pool.execute(|| ()).unwrap();
        let s = pool.stats();
        assert!(
            s.queued + s.active + s.completed >= 1,
            "a snapshot lost the job: {s:?}"
        );
        seen.saw(if s.completed == 1 {
            "completed"
        } else if s.active == 1 {
            "active"
        } else {
            "queued"
        });
        assert!(pool.join(Duration::MAX));
        let s = pool.stats();
        assert_eq!((s.queued, s.active, s.completed), (0, 0, 1), "{s:?}");
    });
    coverage.assert_saw(&["queued", "active", "completed"]);
}

/// A worker of a closing pool that takes a wake token it does not need,
/// and then leaves, must pass the wake on. Three workers: one (A) finds
/// the last job taken by another (B) but not yet started, so it still
/// sees it queued and blocks; B's start empties the queue and pushes a
/// token for each idle worker (A); a third (C), between two pops of its
/// busy phase, takes that token and then exits, seeing the pool closed
/// and done. Without the wake passed on, A stays blocked and `join` waits
/// forever (a loom deadlock; regress_review_counts:
/// pushes_racing_close_leave_counts_settled).
#[test]
fn join_vs_last_job_wakes_every_idle_worker() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let pool = Pool::builder()
            .min_workers(3)
            .max_workers(3)
            .build()
            .unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        pool.execute(move || flag.store(true, SeqCst)).unwrap();
        seen.saw(if ran.load(SeqCst) {
            "the job had run before join"
        } else {
            "the job had not run before join"
        });
        assert!(pool.join(Duration::MAX));
        let s = pool.stats();
        assert_eq!(
            (s.workers, s.queued, s.active, s.completed),
            (0, 0, 0, 1),
            "{s:?}"
        );
    });
    coverage.assert_saw(&[
        "the job had run before join",
        "the job had not run before join",
    ]);
}

/// Review (30d803d, `pass_wakes_on` in an open executor): a surplus worker
/// retires (a shrink pushes a token for it, which either worker may take)
/// while a ranked push looks at `idle` and `tokens` to decide whether to
/// wake a blocked worker. A token taken by the worker that then retires,
/// counted by the push as on its way, must be passed on, or the ranked
/// task strands with the other worker blocked on the lane (a loom
/// deadlock: nothing else would wake it).
#[test]
fn shrink_vs_ranked_push_to_idle_workers() {
    model(|| {
        let pool = Pool::builder()
            .min_workers(2)
            .max_workers(2)
            .build()
            .unwrap();
        let shrinker = {
            let pool = pool.clone();
            thread::spawn(move || pool.set_max_workers(1))
        };
        assert_eq!(pool.submit_with_priority(5, || 5).join(), Ok(5));
        shrinker.join().unwrap();
        assert!(pool.join(Duration::MAX));
        let s = pool.stats();
        assert_eq!((s.workers, s.queued, s.active), (0, 0, 0), "{s:?}");
    });
}

/// A worker that owns its stripe of the counts takes the next entry of a
/// streak with a plain (release) store, not a SeqCst read-modify-write
/// (`counts.rs`). Nothing may depend on seeing that store at once: here a
/// waiter on another thread calls `wait_completion` while the worker runs
/// job A and takes job B in A's streak, or goes idle between them. The
/// wait returns only once both ran (an undercount would let it return
/// early), is never left asleep (a lost wake-up is a loom deadlock), a
/// snapshot never shows more than was submitted, and `join` ends with the
/// counts settled. Fails (a loom deadlock: the waiter sleeps on) if a
/// body's end is counted with a plain store too, without the handshake.
#[test]
fn streak_plain_store_vs_wait_completion() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let pool = one_worker_pool();
        let (ran, b_submitted) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let (r, b) = (Arc::clone(&ran), Arc::clone(&b_submitted));
        let streak = seen.clone();
        pool.execute(move || {
            r.fetch_add(1, SeqCst);
            // B already queued when A ends: the worker takes it in A's
            // streak (nobody else pops).
            streak.saw(if b.load(SeqCst) {
                "B taken in A's streak"
            } else {
                "the worker looked for B before it was queued"
            });
        })
        .unwrap();
        let waiter = {
            let (pool, ran) = (pool.clone(), Arc::clone(&ran));
            thread::spawn(move || {
                let stats = pool.stats();
                assert!(stats.queued + stats.active <= 2, "{stats:?}");
                assert!(pool.wait_completion(Duration::MAX));
                // Both were submitted before the waiter could see the pool
                // settled with B counted: the wait covers A at least.
                assert!(ran.load(SeqCst) >= 1, "the wait returned before A ran");
            })
        };
        let r = Arc::clone(&ran);
        pool.execute(move || {
            r.fetch_add(1, SeqCst);
        })
        .unwrap();
        b_submitted.store(true, SeqCst);
        assert!(pool.wait_completion(Duration::MAX));
        assert_eq!(ran.load(SeqCst), 2, "the wait returned before B ran");
        waiter.join().unwrap();
        assert!(pool.join(Duration::MAX));
        let s = pool.stats();
        assert_eq!((s.queued, s.active, s.completed), (0, 0, 2), "{s:?}");
    });
    coverage.assert_saw(&[
        "B taken in A's streak",
        "the worker looked for B before it was queued",
    ]);
}

/// Review of the striped counts (regress_review_stripes): both workers of
/// a two-worker pool own a stripe and take entries with plain stores,
/// skipping `left_queue`'s wake-ups. `join` races the last two jobs: an
/// idle worker that blocked having seen an entry still queued (popped, not
/// yet counted, or its plain store not yet seen) must be woken when the
/// worker that took it leaves (`pass_wakes_on`), or `join` waits forever
/// (a loom deadlock). The stats end exact.
#[test]
fn join_vs_plain_store_takes_on_two_owned_stripes() {
    model(|| {
        let pool = Pool::builder()
            .min_workers(2)
            .max_workers(2)
            .build()
            .unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            let r = Arc::clone(&ran);
            pool.execute(move || {
                r.fetch_add(1, SeqCst);
            })
            .unwrap();
        }
        assert!(pool.join(Duration::MAX));
        assert_eq!(ran.load(SeqCst), 2);
        let s = pool.stats();
        assert_eq!(
            (s.workers, s.queued, s.active, s.completed),
            (0, 0, 0, 2),
            "{s:?}"
        );
    });
}

/// `n` threads that each block for one value of `lane`.
fn pop_waiters(lane: &Arc<pymt::LoomLane>, n: usize) -> Vec<thread::JoinHandle<usize>> {
    (0..n)
        .map(|_| {
            let lane = Arc::clone(lane);
            thread::spawn(move || lane.pop_wait())
        })
        .collect()
}

/// The values `waiters` got, sorted.
fn sorted_results(waiters: Vec<thread::JoinHandle<usize>>) -> Vec<usize> {
    let mut got: Vec<usize> = waiters.into_iter().map(|w| w.join().unwrap()).collect();
    got.sort_unstable();
    got
}

/// Records whether a `pop_wait` on `lane` blocked in this execution.
fn saw_blocking(seen: &Coverage, lane: &pymt::LoomLane) {
    seen.saw(if lane.blocked() {
        "blocked"
    } else {
        "never blocked"
    });
}

/// Pops `n` values off `lane`, blocking while it reads as empty.
fn pop_n(lane: &pymt::LoomLane, n: usize) -> Vec<usize> {
    (0..n).map(|_| lane.pop_wait()).collect()
}

/// The main lane's FIFO: two producers race to fill two segments (the
/// second linked by whichever claims the first one's last slot) while a
/// consumer pops. Every value comes out once, each producer's in order,
/// and nothing is left.
#[test]
fn fifo_two_producers_vs_consumer_across_segments() {
    assert_eq!(pymt::LoomLane::SEGMENT, 2);
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model_bounded(1, move || {
        let lane = Arc::new(pymt::LoomLane::new());
        let producers: Vec<_> = [[1, 2], [11, 12]]
            .into_iter()
            .map(|values| {
                let lane = Arc::clone(&lane);
                thread::spawn(move || values.into_iter().for_each(|v| lane.push(v)))
            })
            .collect();
        let got = pop_n(&lane, 4);
        for producer in producers {
            producer.join().unwrap();
        }
        let mine = |low: usize| {
            got.iter()
                .copied()
                .filter(move |v| (low..low + 10).contains(v))
        };
        assert_eq!(mine(1).collect::<Vec<_>>(), [1, 2], "{got:?}");
        assert_eq!(mine(11).collect::<Vec<_>>(), [11, 12], "{got:?}");
        assert_eq!(lane.drain_one(), None);
        if lane.blocked() {
            seen.saw("blocked for a value");
        }
        seen.saw(if got[0] == 1 {
            "first producer first"
        } else {
            "second producer first"
        });
    });
    coverage.assert_saw(&[
        "blocked for a value",
        "first producer first",
        "second producer first",
    ]);
}

/// Two consumers race through three segments' worth of values while one
/// producer pushes them: a segment both have read is reused for later
/// positions while a consumer may still hold a stale pointer to it. Every
/// value comes out once and each consumer sees them in order.
#[test]
fn fifo_consumers_race_a_reused_segment() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let lane = Arc::new(pymt::LoomLane::new());
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let lane = Arc::clone(&lane);
                thread::spawn(move || pop_n(&lane, 2))
            })
            .collect();
        for value in 0..6 {
            lane.push(value);
        }
        let mut all: Vec<usize> = Vec::new();
        for consumer in consumers {
            let got = consumer.join().unwrap();
            assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
            all.extend(got);
        }
        while let Some(value) = lane.drain_one() {
            all.push(value);
        }
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2, 3, 4, 5]);
        seen.saw(if lane.segments_allocated() < 3 {
            "a segment reused"
        } else {
            "every segment fresh"
        });
    });
    coverage.assert_saw(&["a segment reused", "every segment fresh"]);
}

/// A consumer that blocks on the lane is woken by the push that publishes
/// the head, also when a later push finished first (a lost wake-up is a
/// loom deadlock).
#[test]
fn lane_pop_wait_vs_racing_pushes() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let lane = Arc::new(pymt::LoomLane::new());
        let producers: Vec<_> = [1, 2]
            .into_iter()
            .map(|value| {
                let lane = Arc::clone(&lane);
                thread::spawn(move || lane.push(value))
            })
            .collect();
        let mut got = [lane.pop_wait(), lane.pop_wait()];
        for producer in producers {
            producer.join().unwrap();
        }
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        saw_blocking(&seen, &lane);
    });
    coverage.assert_saw(&["blocked", "never blocked"]);
}

/// A consumer about to block races one push. The push's publication is
/// a release store with nothing after it, so the push may read `sleepers`
/// before the consumer announces itself and still be publishing when the
/// consumer looks: the consumer must see the claim and wait for it rather
/// than block (blocking would be a lost wake-up: a loom deadlock).
#[test]
fn lane_waiter_vs_a_push_claimed_before_it_announced() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let lane = Arc::new(pymt::LoomLane::new());
        let producer = {
            let lane = Arc::clone(&lane);
            thread::spawn(move || lane.push(7))
        };
        assert_eq!(lane.pop_wait(), 7);
        producer.join().unwrap();
        assert_eq!(lane.try_pop(), None);
        seen.saw(if lane.waited_for_claim() {
            "waited for a claim"
        } else if lane.blocked() {
            "blocked"
        } else {
            "took it published"
        });
    });
    coverage.assert_saw(&["waited for a claim", "blocked", "took it published"]);
}

/// Two consumers block on the lane while two pushes race: each push
/// notifies only while some blocked consumer has no wake-up on its way, so
/// a busy producer skips the lock. Both consumers still get a value (a
/// wake-up counted for the wrong one is a loom deadlock).
#[test]
fn lane_two_blocked_consumers_vs_two_pushes() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let lane = Arc::new(pymt::LoomLane::new());
        let consumers = pop_waiters(&lane, 2);
        lane.push(1);
        lane.push(2);
        assert_eq!(sorted_results(consumers), [1, 2]);
        saw_blocking(&seen, &lane);
    });
    coverage.assert_saw(&["blocked", "never blocked"]);
}

/// An idle worker takes a job that waits for a second one, while its
/// submitter checks whether to start a worker for the second. The worker
/// counts its job as taken before it leaves the idle count (so nobody
/// starts a worker for nothing), then checks itself; between the two, the
/// second job always gets its worker (a miss is a loom deadlock: the first
/// job never returns).
#[test]
fn idle_worker_takes_entry_vs_submitter_grow_check() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let pool = Pool::builder()
            .min_workers(1)
            .max_workers(2)
            .build()
            .unwrap();
        let second_ran = Arc::new((loom::sync::Mutex::new(false), loom::sync::Condvar::new()));
        let before = pymt::loom_grown_leaving_idle();
        {
            let second_ran = Arc::clone(&second_ran);
            pool.execute(move || {
                let (ran, cv) = &*second_ran;
                let mut ran = ran.lock().unwrap();
                while !*ran {
                    ran = cv.wait(ran).unwrap();
                }
            })
            .ok()
            .unwrap();
        }
        {
            let second_ran = Arc::clone(&second_ran);
            pool.execute(move || {
                let (ran, cv) = &*second_ran;
                *ran.lock().unwrap() = true;
                cv.notify_all();
            })
            .ok()
            .unwrap();
        }
        assert!(pool.join(Duration::from_secs(60)));
        seen.saw(if pymt::loom_grown_leaving_idle() > before {
            "started by the worker leaving idle"
        } else {
            "started by the submitter"
        });
    });
    coverage.assert_saw(&[
        "started by the worker leaving idle",
        "started by the submitter",
    ]);
}

/// Two consumers block on the lane while two pushes race from two threads.
/// The push of position 0 can be under way (claimed, not yet published)
/// when the push of position 1 is published and notifies a consumer: that
/// consumer finds the head unpublished and blocks again, its wake-up spent
/// on nothing. The push of position 0 then notifies one consumer, which
/// takes value 0; value 1 must still reach the other consumer (a
/// notification spent on an unpublished head, with nobody passing it on,
/// is a loom deadlock: one consumer blocked forever while value 1 waits).
#[test]
fn lane_two_blocked_consumers_vs_two_racing_pushes() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let lane = Arc::new(pymt::LoomLane::new());
        let consumers = pop_waiters(&lane, 2);
        let producer = {
            let lane = Arc::clone(&lane);
            thread::spawn(move || lane.push(2))
        };
        lane.push(1);
        producer.join().unwrap();
        assert_eq!(sorted_results(consumers), [1, 2]);
        saw_blocking(&seen, &lane);
    });
    coverage.assert_saw(&["blocked", "never blocked"]);
}

/// Two producers push three segments' worth of values while a consumer
/// pops them: the consumer can empty the first segment before a producer
/// claims the second one's last position, which then links the first
/// segment again (reused at the tail) while the other producer may still
/// hold a stale pointer to it. Every value comes out once, each producer's
/// in order, and nothing is left.
#[test]
fn fifo_producers_race_a_segment_reused_at_the_tail() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model_bounded(1, move || {
        let lane = Arc::new(pymt::LoomLane::new());
        let producers: Vec<_> = [[1, 2, 3], [11, 12, 13]]
            .into_iter()
            .map(|values| {
                let lane = Arc::clone(&lane);
                thread::spawn(move || values.into_iter().for_each(|v| lane.push(v)))
            })
            .collect();
        let got = pop_n(&lane, 6);
        for producer in producers {
            producer.join().unwrap();
        }
        let mine = |low: usize| {
            got.iter()
                .copied()
                .filter(move |v| (low..low + 10).contains(v))
        };
        assert_eq!(mine(1).collect::<Vec<_>>(), [1, 2, 3], "{got:?}");
        assert_eq!(mine(11).collect::<Vec<_>>(), [11, 12, 13], "{got:?}");
        assert_eq!(lane.drain_one(), None);
        seen.saw(if lane.segments_allocated() < 3 {
            "a segment reused"
        } else {
            "every segment fresh"
        });
    });
    coverage.assert_saw(&["a segment reused", "every segment fresh"]);
}

/// Review of the read marks (4e16591): two consumers each take one of the
/// first segment's values while the producer fills the second segment and
/// needs another. It may reuse the first segment only once both its slots
/// are stamped read: a consumer still copying its value out of slot 0 while
/// the producer writes position 4 there is a loom data race (`UnsafeCell`),
/// a slot reused too early loses or doubles a value.
#[test]
fn fifo_reuse_waits_for_a_slow_reader() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let lane = Arc::new(pymt::LoomLane::new());
        for value in 0..3 {
            lane.push(value);
        }
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let lane = Arc::clone(&lane);
                thread::spawn(move || lane.try_pop())
            })
            .collect();
        // Position 3 is the second segment's last: its push takes the
        // segment for positions 4 and 5, and writes position 4.
        for value in 3..5 {
            lane.push(value);
        }
        let mut all: Vec<usize> = Vec::new();
        for consumer in consumers {
            all.extend(consumer.join().unwrap());
        }
        while let Some(value) = lane.try_pop() {
            all.push(value);
        }
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2, 3, 4]);
        seen.saw(if lane.segments_allocated() < 3 {
            "first segment reused"
        } else {
            "a fresh segment"
        });
    });
    coverage.assert_saw(&["first segment reused", "a fresh segment"]);
}

/// Review of 4e16591: a consumer about to block races the push of a
/// segment's last position (claim, link, then publish, the release store
/// with nothing after it) into a segment reused from an earlier range,
/// whose slots still hold that range's read marks. The consumer must not
/// take a stale read mark for anything, must see the claim and wait for
/// it (or be woken), and must find the value (a loom deadlock otherwise).
#[test]
fn lane_waiter_vs_a_claim_of_a_reused_segments_last_slot() {
    let coverage = Coverage::default();
    let seen = coverage.clone();
    model(move || {
        let lane = Arc::new(pymt::LoomLane::new());
        // Positions 0..4 pushed and read: the first segment is reused for
        // positions 4 and 5, its slots stamped read for positions 0 and 1.
        for value in 0..5 {
            lane.push(value);
            assert_eq!(lane.try_pop(), Some(value));
        }
        assert_eq!(lane.segments_allocated(), 2);
        let producer = {
            let lane = Arc::clone(&lane);
            thread::spawn(move || lane.push(5))
        };
        assert_eq!(lane.pop_wait(), 5);
        producer.join().unwrap();
        assert_eq!(lane.try_pop(), None);
        seen.saw(if lane.waited_for_claim() {
            "waited for the claim"
        } else if lane.blocked() {
            "blocked"
        } else {
            "took it published"
        });
    });
    coverage.assert_saw(&["waited for the claim", "blocked", "took it published"]);
}
