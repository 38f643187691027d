//! `Duration::MAX` as a timeout means "no limit", as it does for std's
//! `Condvar::wait_timeout` and `Receiver::recv_timeout`: every bounded wait
//! must accept it without panicking.
//!
//! Each test uses work that is already finished (or a free permit), so a
//! correct implementation returns at once; the watchdog only guards against
//! a hang.

use pymt_core as pymt;

mod common;

use std::time::Duration;

use common::{join, within, LONG};
use pymt::{Limiter, Pool, ReturnWhen, TaskSet, Worker};

const FOREVER: Duration = Duration::MAX;

#[test]
fn task_wait_timeout_accepts_duration_max() {
    let t = pymt::spawn(|| 1);
    assert!(t.wait_timeout(LONG));
    assert!(within("wait_timeout(MAX)", move || t.wait_timeout(FOREVER)));
}

#[test]
fn task_result_timeout_accepts_duration_max() {
    let t = pymt::spawn(|| 1);
    assert!(t.wait_timeout(LONG));
    assert_eq!(
        within("result_timeout(MAX)", move || t.result_timeout(FOREVER)),
        Ok(1)
    );
}

#[test]
fn pymt_wait_accepts_duration_max() {
    let tasks = vec![pymt::spawn(|| 1)];
    assert!(tasks[0].wait_timeout(LONG));
    let (done, pending) = within("wait(MAX)", move || {
        let (d, p) = pymt::wait(&tasks, ReturnWhen::AllCompleted, FOREVER);
        (d.len(), p.len())
    });
    assert_eq!((done, pending), (1, 0));
}

#[test]
fn task_set_join_next_timeout_accepts_duration_max() {
    let t = pymt::spawn(|| 1);
    assert!(t.wait_timeout(LONG));
    let mut set = TaskSet::new();
    set.push(t);
    assert_eq!(
        within("join_next_timeout(MAX)", move || set
            .join_next_timeout(FOREVER)),
        Some(Ok(1))
    );
}

#[test]
fn pool_wait_completion_accepts_duration_max() {
    let pool = Pool::new();
    assert_eq!(join(pool.submit(|| 1)), Ok(1));
    assert!(within("wait_completion(MAX)", move || pool
        .wait_completion(FOREVER)));
}

#[test]
fn pool_drain_accepts_duration_max() {
    let pool = Pool::new();
    assert!(within("drain(MAX)", move || pool.drain(FOREVER)));
}

#[test]
fn pool_join_accepts_duration_max() {
    let pool = Pool::new();
    assert_eq!(join(pool.submit(|| 1)), Ok(1));
    assert!(within("join(MAX)", move || pool.join(FOREVER)));
}

#[test]
fn pool_shutdown_accepts_duration_max() {
    let pool = Pool::new();
    assert!(within("shutdown(MAX)", move || pool.shutdown(FOREVER)));
}

#[test]
fn worker_join_accepts_duration_max() {
    let worker = Worker::new();
    assert_eq!(join(worker.submit(|| 1)), Ok(1));
    assert!(within("Worker::join(MAX)", move || worker.join(FOREVER)));
}

#[test]
fn limiter_acquire_timeout_accepts_duration_max() {
    let limiter = Limiter::new(1);
    let got = within("acquire_timeout(MAX)", move || {
        limiter.acquire_timeout(FOREVER).is_some()
    });
    assert!(got);
}

#[test]
fn idle_timeout_accepts_duration_max() {
    let pool = Pool::builder()
        .max_workers(1)
        .idle_timeout(FOREVER)
        .build()
        .unwrap();
    assert_eq!(join(pool.submit(|| 1)), Ok(1));
    assert_eq!(join(pool.submit(|| 2)), Ok(2));
    assert!(pool.join(LONG));
}

#[test]
fn join_pools_accepts_duration_max() {
    // No other test in this file registers a pool.
    let pool = Pool::named("duration-max-registered");
    assert_eq!(join(pool.submit(|| 1)), Ok(1));
    assert!(within("join_pools(MAX)", || Pool::join_pools(FOREVER)));
    assert!(pool.is_closed());
}

#[test]
fn join_daemons_accepts_duration_max() {
    assert!(within("join_daemons(MAX)", || pymt::join_daemons(FOREVER)));
}
