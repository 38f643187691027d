//! `#[threaded(pool)]` and `#[threaded(pool_name = "..")]`: the registered pools
//! behind them, `max_workers`, priorities, and a fresh pool after
//! `Pool::join_pools`.
//!
//! Every test here touches the process-wide registry, so they take turns.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use pymt::{threaded, Pool, TaskError};

const TIMEOUT: Duration = Duration::from_secs(10);

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn thread_name() -> String {
    thread::current().name().unwrap_or_default().to_owned()
}

// ===== a pool shared by name =====

#[threaded(pool_name = "shared-io", max_workers = 2)]
fn read_a() -> String {
    thread_name()
}

#[threaded(pool_name = "shared-io")]
fn read_b() -> String {
    thread_name()
}

#[test]
fn pool_name_is_shared_and_fresh_after_join_pools() {
    let _serial = serial();
    assert!(Pool::join_pools(TIMEOUT));
    assert!(Pool::get_pool_by_name("shared-io").is_none());

    // The first call creates the pool, with its `max_workers`.
    let a = read_a().join().unwrap();
    let b = read_b().join().unwrap();
    assert!(a.starts_with("shared-io"), "{a}");
    assert!(b.starts_with("shared-io"), "{b}");
    let pool = Pool::get_pool_by_name("shared-io").expect("registered by the first call");
    assert_eq!(pool.name(), "shared-io");
    assert_eq!(pool.max_workers(), 2);

    assert!(Pool::join_pools(TIMEOUT));
    assert!(pool.is_closed());
    assert!(Pool::get_pool_by_name("shared-io").is_none());

    // The next call resolves the name again and gets a fresh pool.
    let b = read_b().join().unwrap();
    assert!(b.starts_with("shared-io"), "{b}");
    let fresh = Pool::get_pool_by_name("shared-io").expect("created afresh");
    assert!(!fresh.is_closed());
    assert_eq!(a.len(), b.len());
    assert!(fresh.join(TIMEOUT));
}

// ===== a pool private to one function =====

#[threaded(pool, max_workers = 3)]
fn crunch(n: u64) -> (u64, String) {
    (n * 2, thread_name())
}

#[test]
fn pool_is_named_after_the_function() {
    let _serial = serial();
    let name = concat!(module_path!(), "::crunch");
    let (value, worker) = crunch(21).join().unwrap();
    assert_eq!(value, 42);
    assert!(worker.starts_with(name), "{worker}");
    let pool = Pool::get_pool_by_name(name).expect("registered by the first call");
    assert_eq!(pool.max_workers(), 3);

    // Joined with the others, and back on the next call.
    assert!(Pool::join_pools(TIMEOUT));
    assert!(Pool::get_pool_by_name(name).is_none());
    assert_eq!(crunch(1).join().unwrap().0, 2);
    assert!(Pool::get_pool_by_name(name).is_some());
}

// ===== priorities on a one-worker pool =====

#[threaded(pool_name = "prio", max_workers = 1)]
fn occupy(started: Sender<()>, release: Receiver<()>) {
    started.send(()).unwrap();
    release.recv_timeout(TIMEOUT).unwrap();
}

static ORDER: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

#[threaded(pool_name = "prio", priority = -1)]
fn low() {
    ORDER.lock().unwrap().push("low");
}

#[threaded(pool_name = "prio", priority = 5)]
fn high() {
    ORDER.lock().unwrap().push("high");
}

#[threaded(pool_name = "prio")]
fn normal() {
    ORDER.lock().unwrap().push("normal");
}

#[test]
fn higher_priority_runs_first() {
    let _serial = serial();
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let busy = occupy(started_tx, release_rx);
    started_rx.recv_timeout(TIMEOUT).unwrap();

    // The only worker is busy: these three queue up.
    let tasks = [low(), normal(), high()];
    assert_eq!(
        tasks.iter().map(pymt::Task::priority).collect::<Vec<_>>(),
        [-1, 0, 5]
    );
    release_tx.send(()).unwrap();
    assert_eq!(busy.join(), Ok(()));
    for task in tasks {
        assert_eq!(task.result_timeout(TIMEOUT), Ok(()));
    }
    assert_eq!(*ORDER.lock().unwrap(), ["high", "normal", "low"]);
}

// ===== on_error is not called for a cancellation =====

static HOOK_CALLS: Mutex<Option<Sender<String>>> = Mutex::new(None);

fn report(event: String) {
    if let Some(tx) = &*HOOK_CALLS.lock().unwrap() {
        tx.send(event).unwrap();
    }
}

fn on_done(value: &String) {
    report(format!("ok {value}"));
}

fn on_failure(error: &TaskError) {
    report(format!("error {error}"));
}

#[threaded(pool_name = "cancel", max_workers = 1)]
fn block_cancel_pool(started: Sender<()>, release: Receiver<()>) {
    started.send(()).unwrap();
    release.recv_timeout(TIMEOUT).unwrap();
}

#[threaded(pool_name = "cancel", callback = on_done, on_error = on_failure)]
fn hooked(text: String) -> String {
    text
}

#[test]
fn hooks_do_not_run_for_a_cancelled_task() {
    let _serial = serial();
    let (hook_tx, hook_rx) = mpsc::channel();
    *HOOK_CALLS.lock().unwrap() = Some(hook_tx);
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let busy = block_cancel_pool(started_tx, release_rx);
    started_rx.recv_timeout(TIMEOUT).unwrap();

    let cancelled = hooked("never".into());
    assert!(cancelled.cancel());
    let runs = hooked("runs".into());
    release_tx.send(()).unwrap();
    assert_eq!(busy.join(), Ok(()));
    assert_eq!(runs.result_timeout(TIMEOUT), Ok("runs".to_owned()));
    assert_eq!(cancelled.join(), Err(TaskError::Cancelled));
    assert_eq!(hook_rx.recv_timeout(TIMEOUT).unwrap(), "ok runs");
    // Nothing for the cancelled task: no callback, no on_error.
    assert!(hook_rx.try_recv().is_err());
}

// ===== joined again and again, called from several threads =====

#[threaded(pool_name = "rejoined")]
fn on_rejoined(i: u64) -> u64 {
    i
}

/// The slot reads its newest pool lock-free, one generation per join:
/// every round after a join must land on one fresh pool, whichever thread
/// calls first, and no call may hit the closed one. Five rounds cross the
/// slot's generation segments (1, 2, then 4 places).
#[test]
fn calls_after_each_join_land_on_one_fresh_pool() {
    const THREADS: usize = 4;
    const CALLS: u64 = 25;
    let _serial = serial();
    let mut previous: Option<Pool> = None;
    for round in 0..5 {
        let start = std::sync::Barrier::new(THREADS);
        let sums: Vec<u64> = thread::scope(|s| {
            let callers: Vec<_> = (0..THREADS)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        let tasks: Vec<_> = (0..CALLS).map(on_rejoined).collect();
                        tasks
                            .into_iter()
                            .map(|t| t.join().expect("not rejected"))
                            .sum()
                    })
                })
                .collect();
            callers.into_iter().map(|c| c.join().unwrap()).collect()
        });
        assert_eq!(sums, [CALLS * (CALLS - 1) / 2; THREADS], "round {round}");
        let pool = Pool::get_pool_by_name("rejoined").expect("resolved by the calls");
        assert!(!pool.is_closed(), "round {round}");
        assert_eq!(
            pool.stats().completed,
            THREADS * CALLS as usize,
            "round {round}: every call ran on the pool now registered"
        );
        if let Some(previous) = &previous {
            assert!(previous.is_closed());
        }
        assert!(pool.join(TIMEOUT));
        assert!(Pool::get_pool_by_name("rejoined").is_none());
        previous = Some(pool);
    }
}
