//! Reliability under load, faults and races: no task is ever lost or hung.
//!
//! Sizes scale with the `PYMT_STRESS` environment variable. Unset, every test
//! runs its default size, meant for CI (a few seconds in a debug build on two
//! cores). `PYMT_STRESS=full` selects the full size (1,000,000 tasks, 20,000
//! join cycles, ...), meant to be run on demand in release mode:
//!
//! ```text
//! PYMT_STRESS=full cargo test --release --test stress -- --nocapture
//! ```
//!
//! `PYMT_STRESS_SEED=<u64>` replays a run's random choices (each test prints
//! the seed it used).
//!
//! The tests share the process-wide pool registry (`Pool::join_pools` joins
//! every registered pool), so each one holds [`SERIAL`] while it runs.
//!
//! Every blocking call is bounded: a hang fails with a message naming the
//! stuck task and its state, never with a CI timeout. Nothing sleeps to
//! synchronise: threads wait on the events themselves (channels, condvars,
//! task completion).

use pymt_core as pymt;

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use pymt::{Pool, PoolStats, ReturnWhen, Task, TaskError, TaskSet, TaskState};

// ===== sizes =====

/// How much work each test does.
#[derive(Clone, Copy, Debug)]
struct Size {
    /// Tasks of `many_tasks_over_named_pools_are_all_accounted_for`.
    tasks: usize,
    /// Cycles of `join_never_returns_before_the_jobs_ran`.
    join_cycles: usize,
    /// Rounds of `nested_waits_on_small_pools_finish`.
    nested_rounds: usize,
    /// Depth of the task trees in `nested_waits_on_small_pools_finish`.
    nested_depth: u32,
    /// Tasks submitted during `resize_storm_loses_nothing`.
    resize_tasks: usize,
    /// Rounds of `shutdown_join_and_drop_racing_submit`.
    shutdown_rounds: usize,
}

const DEFAULT_SIZE: Size = Size {
    tasks: 100_000,
    join_cycles: 2_000,
    nested_rounds: 25,
    nested_depth: 4,
    resize_tasks: 10_000,
    shutdown_rounds: 200,
};

const FULL_SIZE: Size = Size {
    tasks: 1_000_000,
    join_cycles: 20_000,
    nested_rounds: 100,
    nested_depth: 6,
    resize_tasks: 200_000,
    shutdown_rounds: 2_000,
};

fn size() -> Size {
    match std::env::var("PYMT_STRESS").as_deref() {
        Ok("full") => FULL_SIZE,
        _ => DEFAULT_SIZE,
    }
}

/// Longest any single wait may take before the test fails (generous: a
/// debug build on a loaded two-core CI machine).
const BOUND: Duration = Duration::from_secs(60);

// ===== helpers =====

/// Serialises the tests of this file (they share the pool registry).
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    quiet_deliberate_panics();
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Prefix of every panic this file provokes on purpose.
const DELIBERATE: &str = "stress: deliberate panic";

fn quiet_deliberate_panics() {
    common::quiet_deliberate_panics(DELIBERATE);
}

/// A tiny xorshift64 generator: reproducible, no dependency.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        // Spread small seeds; xorshift must not start at 0.
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The run's seed: `PYMT_STRESS_SEED`, or fixed.
fn seed() -> u64 {
    std::env::var("PYMT_STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_B1A5)
}

/// A helper thread whose end the test waits for with a bound.
struct Driver<T> {
    name: String,
    done: Receiver<thread::Result<T>>,
    handle: JoinHandle<()>,
}

fn drive<T, F>(name: impl Into<String>, f: F) -> Driver<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let name = name.into();
    let (tx, done) = mpsc::channel();
    let handle = thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let _ = tx.send(panic::catch_unwind(AssertUnwindSafe(f)));
        })
        .expect("could not start a driver thread");
    Driver { name, done, handle }
}

impl<T> Driver<T> {
    /// The thread's result; re-raises its panic; fails if it runs past `within`.
    fn finish(self, within: Duration) -> T {
        match self.done.recv_timeout(within) {
            Ok(Ok(value)) => {
                self.handle.join().expect("driver thread ended cleanly");
                value
            }
            Ok(Err(payload)) => panic::resume_unwind(payload),
            Err(_) => panic!(
                "driver thread '{}' was still running after {within:?}",
                self.name
            ),
        }
    }
}

/// A count that threads wait on reaching a target (bounded).
#[derive(Default)]
struct Latch {
    count: Mutex<usize>,
    cv: Condvar,
}

impl Latch {
    fn arrive(&self) {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.cv.notify_all();
    }

    /// True once the count reached `target` within `timeout`.
    fn wait_for(&self, target: usize, timeout: Duration) -> bool {
        let count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        let (count, _) = self
            .cv
            .wait_timeout_while(count, timeout, |c| *c < target)
            .unwrap_or_else(PoisonError::into_inner);
        *count >= target
    }
}

/// Burns a little CPU so bodies overlap and windows between events widen.
fn spin(rounds: u64) -> u64 {
    let mut acc = 0u64;
    for i in 0..rounds {
        acc = std::hint::black_box(acc.wrapping_mul(31).wrapping_add(i));
    }
    acc
}

/// Waits for `task` until `deadline`; on failure names it and its state.
fn resolve<T>(task: &Task<T>, deadline: Instant, what: impl FnOnce() -> String) {
    let left = deadline.saturating_duration_since(Instant::now());
    if !task.wait_timeout(left) {
        panic!(
            "{} never resolved: still {:?} after the bound ({})",
            task.id(),
            task.state(),
            what()
        );
    }
}

fn stats_total(pools: &[Pool]) -> PoolStats {
    let mut total = PoolStats::default();
    for pool in pools {
        let s = pool.stats();
        total.workers += s.workers;
        total.active += s.active;
        total.queued += s.queued;
        total.completed += s.completed;
        total.panicked += s.panicked;
        total.cancelled += s.cancelled;
    }
    total
}

// ===== 1. many tasks over four named pools, joined by join_pools =====

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Returns its value.
    Value,
    /// Panics.
    Panic,
    /// `cancel()` is called right after submission.
    Cancel,
}

struct Submitted {
    task: Task<u64>,
    kind: Kind,
    pool: usize,
    /// What `cancel()` returned (false if never called).
    cancel_won: bool,
    value: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Tally {
    submitted: usize,
    succeeded: usize,
    panicked: usize,
    cancelled: usize,
    rejected: usize,
}

const LOAD_POOLS: usize = 4;
const LOAD_SUBMITTERS: usize = 4;

#[test]
fn many_tasks_over_named_pools_are_all_accounted_for() {
    let _serial = serial();
    let size = size();
    let seed = seed();
    let started = Instant::now();
    let names: Vec<String> = (0..LOAD_POOLS)
        .map(|i| format!("stress-load-{i}"))
        .collect();
    let pools: Arc<Vec<Pool>> = Arc::new(
        names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                Pool::builder()
                    .name(name)
                    .max_workers(i + 1)
                    .build()
                    .expect("fresh pool name")
            })
            .collect(),
    );

    // Joiners start once every submitter is 90% through, so the end of the
    // submissions races the joins.
    let near_end = Arc::new(Latch::default());
    let per_submitter = size.tasks / LOAD_SUBMITTERS;
    let submitters: Vec<Driver<Vec<Submitted>>> = (0..LOAD_SUBMITTERS)
        .map(|s| {
            let pools = Arc::clone(&pools);
            let near_end = Arc::clone(&near_end);
            drive(format!("stress-submitter-{s}"), move || {
                let mut rng = XorShift::new(seed ^ (s as u64 + 1));
                let mut out = Vec::with_capacity(per_submitter);
                for n in 0..per_submitter {
                    if n == per_submitter * 9 / 10 {
                        near_end.arrive();
                    }
                    let roll = rng.below(100);
                    let kind = match roll {
                        0 => Kind::Panic,
                        1..=5 => Kind::Cancel,
                        _ => Kind::Value,
                    };
                    let pool = rng.below(LOAD_POOLS as u64) as usize;
                    let priority = rng.below(17) as i32 - 8;
                    let value = ((s as u64) << 32) | n as u64;
                    let work = rng.below(64);
                    let task = pools[pool].submit_with_priority(priority, move || {
                        spin(work);
                        if kind == Kind::Panic {
                            panic!("stress: deliberate panic");
                        }
                        value
                    });
                    let cancel_won = kind == Kind::Cancel && task.cancel();
                    out.push(Submitted {
                        task,
                        kind,
                        pool,
                        cancel_won,
                        value,
                    });
                }
                out
            })
        })
        .collect();
    let joiners: Vec<Driver<bool>> = (0..2)
        .map(|j| {
            let near_end = Arc::clone(&near_end);
            drive(format!("stress-joiner-{j}"), move || {
                assert!(
                    near_end.wait_for(LOAD_SUBMITTERS, BOUND),
                    "submitters never got 90% through"
                );
                Pool::join_pools(BOUND)
            })
        })
        .collect();

    let per_thread: Vec<Vec<Submitted>> = submitters
        .into_iter()
        .map(|d| d.finish(BOUND * 5))
        .collect();
    for (j, joiner) in joiners.into_iter().enumerate() {
        assert!(
            joiner.finish(BOUND * 2),
            "join_pools on joiner {j} timed out; stats {:?}",
            stats_total(&pools)
        );
    }

    // Every handle resolves, in the state its history allows.
    let deadline = Instant::now() + BOUND;
    let mut tally = Tally::default();
    let mut per_pool = vec![Tally::default(); LOAD_POOLS];
    let mut cancel_wins = 0;
    for (s, submitted) in per_thread.iter().enumerate() {
        // Once a pool refused a submission, it refuses every later one.
        let mut refused = [false; LOAD_POOLS];
        for (n, sub) in submitted.iter().enumerate() {
            let task = &sub.task;
            resolve(task, deadline, || {
                format!(
                    "submitter {s} task {n}, kind {:?}, pool {}, cancel() won: {}",
                    sub.kind, names[sub.pool], sub.cancel_won
                )
            });
            let state = task.state();
            let outcome = task.clone().join();
            let ctx = || {
                format!(
                    "{} (submitter {s} #{n}, kind {:?}, pool {}, cancel() won: {}) ended {state:?} with {outcome:?}",
                    task.id(), sub.kind, names[sub.pool], sub.cancel_won
                )
            };
            cancel_wins += usize::from(sub.cancel_won);
            if state != TaskState::Rejected {
                assert!(
                    !refused[sub.pool],
                    "accepted after the pool had refused: {}",
                    ctx()
                );
            }
            let slot = &mut per_pool[sub.pool];
            slot.submitted += 1;
            match (state, &outcome) {
                (TaskState::Cancelled, Err(TaskError::Cancelled)) if sub.cancel_won => {
                    slot.cancelled += 1;
                }
                (TaskState::Rejected, Err(TaskError::Rejected)) if !sub.cancel_won => {
                    refused[sub.pool] = true;
                    slot.rejected += 1;
                }
                (TaskState::Panicked, Err(TaskError::Panicked { message }))
                    if sub.kind == Kind::Panic && !sub.cancel_won && message == DELIBERATE =>
                {
                    slot.panicked += 1;
                }
                (TaskState::Succeeded, Ok(value))
                    if sub.kind != Kind::Panic && !sub.cancel_won && *value == sub.value =>
                {
                    slot.succeeded += 1;
                }
                _ => panic!("impossible outcome: {}", ctx()),
            }
        }
    }
    for t in &per_pool {
        tally.submitted += t.submitted;
        tally.succeeded += t.succeeded;
        tally.panicked += t.panicked;
        tally.cancelled += t.cancelled;
        tally.rejected += t.rejected;
    }
    let elapsed = started.elapsed();
    println!(
        "stress load (seed {seed:#x}): submitted {} = succeeded {} + panicked {} + cancelled {} + rejected {} in {elapsed:.2?}",
        tally.submitted, tally.succeeded, tally.panicked, tally.cancelled, tally.rejected
    );

    assert_eq!(tally.submitted, per_submitter * LOAD_SUBMITTERS);
    assert_eq!(
        tally.succeeded + tally.panicked + tally.cancelled + tally.rejected,
        tally.submitted,
        "{tally:?}"
    );
    assert_eq!(tally.cancelled, cancel_wins, "{tally:?}");
    // The pools' own counters agree with what the handles say.
    for (i, pool) in pools.iter().enumerate() {
        let stats = pool.stats();
        let t = &per_pool[i];
        assert_eq!(
            (stats.completed, stats.panicked, stats.cancelled),
            (t.succeeded, t.panicked, t.cancelled),
            "pool {}: stats {stats:?} vs handles {t:?}",
            names[i]
        );
        assert_eq!(
            (stats.workers, stats.active, stats.queued),
            (0, 0, 0),
            "pool {} after join: {stats:?}",
            names[i]
        );
        assert!(pool.is_closed(), "pool {} still open after join", names[i]);
        assert!(
            Pool::get_pool_by_name(&names[i]).is_none(),
            "pool {} still registered after join_pools",
            names[i]
        );
    }
}

// ===== 2. join never returns before the jobs ran =====

#[test]
fn join_never_returns_before_the_jobs_ran() {
    let _serial = serial();
    let size = size();
    let started = Instant::now();
    for cycle in 0..size.join_cycles {
        let mut builder = Pool::builder()
            .max_workers(1 + cycle % 4)
            .min_workers(cycle % 2);
        if cycle % 3 == 0 {
            builder = builder.name(&format!("stress-join-{cycle}"));
        }
        let pool = builder.build().expect("valid settings");
        let ran = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<Task<()>> = (0..8)
            .map(|j| {
                let ran = Arc::clone(&ran);
                pool.submit_with_priority(j % 3, move || {
                    spin(u64::from(j as u32) * 40);
                    ran.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        let describe = |tasks: &[Task<()>]| {
            tasks
                .iter()
                .map(|t| format!("{}={:?}", t.id(), t.state()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        assert!(
            pool.join(BOUND),
            "cycle {cycle}: join timed out; stats {:?}; tasks {}",
            pool.stats(),
            describe(&tasks)
        );
        let seen = ran.load(Ordering::SeqCst);
        assert_eq!(
            seen,
            8,
            "cycle {cycle}: join returned true after only {seen} of 8 jobs ran; tasks {}",
            describe(&tasks)
        );
        for task in &tasks {
            assert_eq!(
                task.state(),
                TaskState::Succeeded,
                "cycle {cycle}: {} not final right after join",
                task.id()
            );
        }
        let stats = pool.stats();
        assert_eq!(
            (
                stats.completed,
                stats.workers,
                stats.active,
                stats.queued,
                stats.panicked,
                stats.cancelled
            ),
            (8, 0, 0, 0, 0, 0),
            "cycle {cycle}: {stats:?}"
        );
    }
    println!(
        "stress join: {} cycles of submit 8 + join in {:.2?}",
        size.join_cycles,
        started.elapsed()
    );
}

// ===== 3. nested waits on one- and two-worker pools =====

/// Every task of a tree, so a hang can name the stuck ones.
type Tracker = Arc<Mutex<Vec<(u32, Task<u64>)>>>;

/// A task that waits on `fanout` sub-tasks of the same pool, recursively;
/// returns the number of leaves. Each level waits in another way.
fn tree(pool: Pool, tracker: Tracker, depth: u32, fanout: u32, style: u32) -> u64 {
    if depth == 0 {
        return 1;
    }
    let children: Vec<Task<u64>> = (0..fanout)
        .map(|i| {
            let (p, tr) = (pool.clone(), Arc::clone(&tracker));
            let child = pool.submit_with_priority(i as i32 % 3 - 1, move || {
                tree(p, tr, depth - 1, fanout, style + i + 1)
            });
            tracker
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((depth - 1, child.clone()));
            child
        })
        .collect();
    let stuck = |task: &Task<u64>| {
        format!(
            "{} (depth {}) stuck in {:?}",
            task.id(),
            depth - 1,
            task.state()
        )
    };
    match style % 4 {
        0 => children
            .iter()
            .map(|c| {
                c.result_timeout(BOUND)
                    .unwrap_or_else(|e| panic!("{e}: {}", stuck(c)))
            })
            .sum(),
        1 => {
            for c in &children {
                assert!(c.wait_timeout(BOUND), "{}", stuck(c));
            }
            children.into_iter().map(|c| c.join().unwrap()).sum()
        }
        2 => {
            let (done, pending) = pymt::wait(&children, ReturnWhen::AllCompleted, BOUND);
            if let Some(c) = pending.first() {
                panic!("pymt::wait gave up: {}", stuck(c));
            }
            done.into_iter().map(|c| c.join().unwrap()).sum()
        }
        _ => {
            let mut set = TaskSet::new();
            let ids: Vec<String> = children.iter().map(stuck).collect();
            for c in children {
                set.push(c);
            }
            let mut leaves = 0;
            while !set.is_empty() {
                match set.join_next_timeout(BOUND) {
                    Some(Ok(n)) => leaves += n,
                    other => panic!("TaskSet gave {other:?}; children were {ids:?}"),
                }
            }
            leaves
        }
    }
}

#[test]
fn nested_waits_on_small_pools_finish() {
    let _serial = serial();
    let size = size();
    let started = Instant::now();
    let fanout = 3u32;
    let leaves = u64::from(fanout).pow(size.nested_depth);
    let mut runs = 0usize;
    for round in 0..size.nested_rounds {
        for workers in [1, 2] {
            let pool = Pool::builder()
                .max_workers(workers)
                .build()
                .expect("valid settings");
            let tracker: Tracker = Arc::default();
            // Three roots at once: waits on the two workers interleave.
            let roots: Vec<Task<u64>> = (0..3)
                .map(|r| {
                    let (p, tr) = (pool.clone(), Arc::clone(&tracker));
                    let style = round as u32 + r;
                    pool.submit(move || tree(p, tr, size.nested_depth, fanout, style))
                })
                .collect();
            // And one deep chain (fan-out 1): inline runs nest 32 deep.
            let chain = {
                let (p, tr) = (pool.clone(), Arc::clone(&tracker));
                pool.submit(move || tree(p, tr, 32, 1, round as u32))
            };
            let deadline = Instant::now() + BOUND;
            for (r, root) in roots.iter().chain([&chain]).enumerate() {
                let left = deadline.saturating_duration_since(Instant::now());
                if !root.wait_timeout(left) {
                    let stuck: Vec<String> = tracker
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .iter()
                        .filter(|(_, t)| !t.is_done())
                        .map(|(d, t)| format!("{} (depth {d}) {:?}", t.id(), t.state()))
                        .collect();
                    panic!(
                        "round {round}, {workers} worker(s): root {r} {} stuck in {:?}; unfinished sub-tasks: {stuck:?}; stats {:?}",
                        root.id(),
                        root.state(),
                        pool.stats()
                    );
                }
            }
            for root in roots {
                assert_eq!(
                    root.join(),
                    Ok(leaves),
                    "round {round}, {workers} worker(s)"
                );
            }
            assert_eq!(chain.join(), Ok(1), "round {round}, {workers} worker(s)");
            // Three trees of (fanout^(depth+1) - 1) / (fanout - 1) tasks, and the chain's 33.
            let expected_tasks =
                3 * ((leaves * u64::from(fanout) - 1) / u64::from(fanout - 1)) + 33;
            let tracked = tracker.lock().unwrap_or_else(PoisonError::into_inner).len();
            assert_eq!(tracked as u64 + 4, expected_tasks);
            assert!(pool.join(BOUND), "round {round}: join after the trees");
            let stats = pool.stats();
            assert_eq!(stats.completed as u64, expected_tasks, "{stats:?}");
            assert_eq!((stats.panicked, stats.cancelled), (0, 0), "{stats:?}");
            runs += 1;
        }
    }
    println!(
        "stress nested: {runs} pools of 3 trees (depth {}, fan-out {fanout}) + a 32-deep chain in {:.2?}",
        size.nested_depth,
        started.elapsed()
    );
}

// ===== 4. resize storms =====

/// Counts bodies running at once and keeps the peak.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Gauge {
    fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let r = f();
        self.now.fetch_sub(1, Ordering::SeqCst);
        r
    }
}

/// Tasks with the value each must return.
type Numbered = Vec<(u64, Task<u64>)>;

#[test]
fn resize_storm_loses_nothing() {
    let _serial = serial();
    let size = size();
    let seed = seed();
    let started = Instant::now();
    // A tiny idle timeout: workers also retire and restart all the time.
    let pool = Pool::builder()
        .max_workers(1)
        .idle_timeout(Duration::from_micros(200))
        .build()
        .expect("valid settings");
    let gauge = Arc::new(Gauge::default());
    let stop = Arc::new(AtomicBool::new(false));
    let resizer = {
        let (pool, stop) = (pool.clone(), Arc::clone(&stop));
        drive("stress-resizer", move || {
            let mut flips = 0u64;
            while !stop.load(Ordering::SeqCst) {
                pool.set_max_workers(if flips % 2 == 0 { 8 } else { 1 });
                flips += 1;
                thread::yield_now();
            }
            flips
        })
    };
    let per_submitter = size.resize_tasks / 2;
    let submitters: Vec<Driver<Numbered>> = (0..2)
        .map(|s| {
            let (pool, gauge) = (pool.clone(), Arc::clone(&gauge));
            drive(format!("stress-resize-submitter-{s}"), move || {
                let mut rng = XorShift::new(seed ^ (0xA0 + s));
                (0..per_submitter as u64)
                    .map(|n| {
                        let g = Arc::clone(&gauge);
                        let work = rng.below(200);
                        let value = (s << 32) | n;
                        let priority = rng.below(5) as i32 - 2;
                        let task = pool.submit_with_priority(priority, move || {
                            g.run(|| spin(work));
                            value
                        });
                        if n % 16 == 0 {
                            // The submitters flip the size too, so resizes
                            // land between submissions, not only beside them.
                            pool.set_max_workers(if (n / 16) % 2 == s { 8 } else { 1 });
                        }
                        (value, task)
                    })
                    .collect()
            })
        })
        .collect();
    let submitted: Vec<Numbered> = submitters
        .into_iter()
        .map(|d| d.finish(BOUND * 2))
        .collect();

    // The storm goes on while the queue drains.
    let deadline = Instant::now() + BOUND;
    let mut total = 0usize;
    for (value, task) in submitted.iter().flatten() {
        resolve(task, deadline, || {
            format!("value {value:#x}, pool stats {:?}", pool.stats())
        });
        assert_eq!(task.result(), Ok(*value), "{}", task.id());
        total += 1;
    }
    stop.store(true, Ordering::SeqCst);
    let flips = resizer.finish(BOUND);
    assert_eq!(total, per_submitter * 2);
    assert!(pool.wait_completion(BOUND), "{:?}", pool.stats());
    let stats = pool.stats();
    assert_eq!(
        (
            stats.completed,
            stats.panicked,
            stats.cancelled,
            stats.queued,
            stats.active
        ),
        (total, 0, 0, 0, 0),
        "{stats:?}"
    );
    assert!(stats.workers <= 8, "{stats:?}");
    let peak = gauge.peak.load(Ordering::SeqCst);
    assert!((1..=8).contains(&peak), "peak concurrency {peak}");
    assert!(pool.join(BOUND), "{:?}", pool.stats());
    assert_eq!(pool.stats().workers, 0);
    println!(
        "stress resize (seed {seed:#x}): {total} tasks, {flips} resizes, peak {peak} bodies at once, in {:.2?}",
        started.elapsed()
    );
}

/// Raising `max_workers` starts workers for tasks already queued: four
/// tasks that can only finish together, on a pool of one, finish once the
/// pool is raised to four.
#[test]
fn growing_starts_workers_for_queued_tasks() {
    let _serial = serial();
    let pool = Pool::builder().max_workers(1).build().expect("valid");
    let met = Arc::new(Latch::default());
    let tasks: Vec<Task<bool>> = (0..4)
        .map(|_| {
            let met = Arc::clone(&met);
            pool.submit(move || {
                met.arrive();
                met.wait_for(4, BOUND)
            })
        })
        .collect();
    // One body runs and waits for the other three, which stay queued.
    assert!(met.wait_for(1, BOUND), "no task started");
    assert_eq!(pool.stats().workers, 1);
    pool.set_max_workers(4);
    for task in &tasks {
        assert_eq!(
            task.result_timeout(BOUND),
            Ok(true),
            "{} ({:?}): stats {:?}",
            task.id(),
            task.state(),
            pool.stats()
        );
    }
    assert!(pool.join(BOUND));
}

// ===== 5. shutdown / join / drop racing submit =====

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closer {
    Shutdown,
    Join,
    /// Every handle dropped while submitters still submit.
    Drop,
    /// `join` and `shutdown` from two threads at once.
    JoinAndShutdown,
}

#[test]
fn shutdown_join_and_drop_racing_submit() {
    let _serial = serial();
    let size = size();
    let started = Instant::now();
    let mut seen = Tally::default();
    let mut refused_try = 0usize;
    for round in 0..size.shutdown_rounds {
        let closer = [
            Closer::Shutdown,
            Closer::Join,
            Closer::Drop,
            Closer::JoinAndShutdown,
        ][round % 4];
        let mut builder = Pool::builder().max_workers(1 + round % 3);
        if round % 5 == 0 {
            // Submitters block on a full queue when the close comes.
            builder = builder.queue_capacity(2);
        }
        if round % 2 == 1 && closer != Closer::Drop {
            builder = builder.name(&format!("stress-shutdown-{round}"));
        }
        let pool = builder.build().expect("valid settings");
        let children: Arc<Mutex<Vec<Task<u64>>>> = Arc::default();
        let going = Arc::new(Latch::default());
        let submitters: Vec<Driver<(Vec<Task<u64>>, usize)>> = (0..3u64)
            .map(|s| {
                let pool = pool.clone();
                let (children, going) = (Arc::clone(&children), Arc::clone(&going));
                drive(format!("stress-race-{round}-{s}"), move || {
                    let mut tasks = Vec::new();
                    let mut refused = 0;
                    for n in 0..48u64 {
                        if n == 8 {
                            going.arrive();
                        }
                        let (p, kids) = (pool.clone(), Arc::clone(&children));
                        let body = move || {
                            // Runs until done or asked to stop (bounded).
                            let mut rounds = 0;
                            while rounds < 2_000 && !pymt::stop_requested() {
                                spin(10);
                                rounds += 1;
                            }
                            if n % 8 == 0 {
                                // A submission from inside, racing the close.
                                let child = p.submit(move || n);
                                kids.lock()
                                    .unwrap_or_else(PoisonError::into_inner)
                                    .push(child);
                            }
                            n
                        };
                        match n % 3 {
                            0 => tasks.push(pool.submit(body)),
                            1 => tasks.push(pool.submit_with_priority(n as i32 % 5, body)),
                            _ => match pool.try_submit(body) {
                                Ok(task) => tasks.push(task),
                                Err(refusal) => {
                                    refused += 1;
                                    // The closure comes back, untouched.
                                    drop(refusal.into_inner());
                                }
                            },
                        }
                    }
                    drop(pool);
                    (tasks, refused)
                })
            })
            .collect();
        assert!(
            going.wait_for(3, BOUND),
            "round {round}: submitters stalled"
        );
        let closers: Vec<Driver<bool>> = match closer {
            Closer::Shutdown => {
                let p = pool.clone();
                vec![drive("stress-closer", move || p.shutdown(BOUND))]
            }
            Closer::Join => {
                let p = pool.clone();
                vec![drive("stress-closer", move || p.join(BOUND))]
            }
            Closer::JoinAndShutdown => {
                let (p, q) = (pool.clone(), pool.clone());
                vec![
                    drive("stress-closer-join", move || p.join(BOUND)),
                    drive("stress-closer-shutdown", move || q.shutdown(BOUND)),
                ]
            }
            Closer::Drop => Vec::new(),
        };
        let kept = if closer == Closer::Drop {
            drop(pool);
            None
        } else {
            Some(pool)
        };
        for c in closers {
            assert!(
                c.finish(BOUND * 2),
                "round {round} ({closer:?}): close timed out"
            );
        }
        let mut tasks = Vec::new();
        for d in submitters {
            let (mut t, refused) = d.finish(BOUND * 2);
            tasks.append(&mut t);
            refused_try += refused;
        }
        let deadline = Instant::now() + BOUND;
        let mut tally = Tally::default();
        // Children are pushed by bodies: read them once every parent ended.
        for task in &tasks {
            resolve(task, deadline, || {
                format!("round {round} ({closer:?}) parent")
            });
        }
        let kids = std::mem::take(&mut *children.lock().unwrap_or_else(PoisonError::into_inner));
        for task in tasks.iter().chain(&kids) {
            resolve(task, deadline, || format!("round {round} ({closer:?})"));
            tally.submitted += 1;
            match task.state() {
                TaskState::Succeeded => tally.succeeded += 1,
                TaskState::Cancelled => tally.cancelled += 1,
                TaskState::Rejected => tally.rejected += 1,
                other => panic!("round {round} ({closer:?}): {} ended {other:?}", task.id()),
            }
        }
        match closer {
            // join finishes what it accepted; dropping lets queued work finish.
            Closer::Join => assert_eq!(tally.cancelled, 0, "round {round}: {tally:?}"),
            Closer::Drop => assert_eq!(
                tally.succeeded, tally.submitted,
                "round {round}: nothing refuses work while handles live: {tally:?}"
            ),
            Closer::Shutdown | Closer::JoinAndShutdown => {}
        }
        if let Some(pool) = kept {
            let stats = pool.stats();
            assert_eq!(
                (stats.completed, stats.cancelled, stats.panicked),
                (tally.succeeded, tally.cancelled, 0),
                "round {round} ({closer:?}): stats {stats:?} vs {tally:?}"
            );
            assert_eq!(
                (stats.workers, stats.active, stats.queued),
                (0, 0, 0),
                "round {round} ({closer:?}): {stats:?}"
            );
            assert!(Pool::get_pool_by_name(&format!("stress-shutdown-{round}")).is_none());
        }
        seen.submitted += tally.submitted;
        seen.succeeded += tally.succeeded;
        seen.cancelled += tally.cancelled;
        seen.rejected += tally.rejected;
    }
    println!(
        "stress shutdown races: {} rounds, {seen:?}, {refused_try} try_submit refusals, in {:.2?}",
        size.shutdown_rounds,
        started.elapsed()
    );
    assert_eq!(
        seen.succeeded + seen.cancelled + seen.rejected,
        seen.submitted
    );
}
