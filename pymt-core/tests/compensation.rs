//! Attack: timed waits made on a worker (compensation through
//! `Executor::while_blocked`): deadlines, thread counts, surplus
//! retirement, and dedicated `Worker`s.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Pool, Worker};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

/// A dedicated `Worker` is "one dedicated thread": its tasks all run on
/// that thread. A timed wait made by one of its tasks on another of its
/// tasks makes the executor start a second thread (capacity = max +
/// blocked), which runs the awaited task concurrently, on another thread.
#[test]
fn dedicated_worker_tasks_stay_on_its_one_thread_during_a_timed_wait() {
    let worker = Arc::new(Worker::new());
    let w = Arc::clone(&worker);
    let outer = worker.submit(move || {
        let me = thread::current().id();
        let inner = w.submit(|| thread::current().id());
        let ended_in_time = inner.wait_timeout(ms(300));
        (me, ended_in_time, inner.join())
    });
    let (outer_thread, ended_in_time, inner_thread) =
        outer.result_timeout(LONG).expect("outer ended");
    let inner_thread = inner_thread.expect("inner ran");
    eprintln!(
        "outer on {outer_thread:?}, inner on {inner_thread:?}, ended in time: {ended_in_time}"
    );
    assert_eq!(
        outer_thread, inner_thread,
        "a dedicated Worker ran a task on a second thread (during a timed wait of another of its tasks)"
    );
    assert!(worker.join(LONG));
}

/// A timed wait on a worker returns by its deadline even when the awaited
/// task never ends (and a compensating worker is started for the queue).
#[test]
fn timed_wait_on_a_worker_returns_by_its_deadline() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let p = pool.clone();
    let outer = pool.submit(move || {
        let stuck = p.submit(move || {
            let _ = gate_rx.recv_timeout(LONG);
        });
        let start = Instant::now();
        let done = stuck.wait_timeout(ms(200));
        let r = stuck.result_timeout(ms(200));
        (done, r, start.elapsed())
    });
    let (done, r, took) = outer.result_timeout(LONG).expect("outer ended");
    gate_tx.send(()).unwrap();
    assert!(!done);
    assert_eq!(r, Err(pymt::TaskError::Timeout));
    assert!(took < ms(400) + ms(1500), "two 200 ms waits took {took:?}");
    assert!(pool.join(LONG));
}

/// After a timed wait that was compensated ends, the surplus worker
/// retires: the pool settles back to at most `max_workers` threads.
#[test]
fn surplus_worker_retires_after_the_wait() {
    let pool = Pool::builder()
        .max_workers(1)
        .idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let p = pool.clone();
    let outer = pool.submit(move || {
        let inner = p.submit(|| thread::sleep(ms(50)));
        inner.wait_timeout(LONG)
    });
    assert_eq!(outer.result_timeout(LONG), Ok(true));
    let start = Instant::now();
    while (pool.stats().workers > 1 || pool.stats().active > 0) && start.elapsed() < ms(2000) {
        thread::sleep(ms(10));
    }
    let s = pool.stats();
    assert!(
        s.workers <= 1,
        "workers stayed above max after the wait: {s:?}"
    );
    assert_eq!((s.queued, s.active), (0, 0), "{s:?}");
    assert!(pool.join(LONG));
}

/// Many workers repeatedly polling with short timed waits must not make
/// the pool grow past max + (number of waiters at once).
#[test]
fn polling_timed_waits_keep_thread_count_bounded() {
    let max = 2;
    let pool = Pool::builder()
        .max_workers(max)
        .idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
    // A backlog that keeps compensation busy.
    let backlog: Vec<_> = (0..50)
        .map(|_| pool.submit(|| thread::sleep(ms(5))))
        .collect();
    let p = pool.clone();
    let poller = pool.submit(move || {
        let far = p.submit(move || {
            let _ = gate_rx.recv_timeout(LONG);
        });
        let mut peak = 0;
        for _ in 0..100 {
            let _ = far.wait_timeout(ms(1));
            peak = peak.max(p.stats().workers);
        }
        peak
    });
    let peak = poller.result_timeout(LONG).expect("poller ended");
    drop(gate_tx);
    for t in backlog {
        assert!(t.wait_timeout(LONG));
    }
    eprintln!("peak workers {peak}");
    assert!(
        peak <= max + 1,
        "peak workers {peak} with max {max} and one waiter"
    );
    assert!(pool.join(LONG));
}
