//! `#[threaded(daemon)]`: one long-lived worker per function, stopped by
//! `pymt::join_daemons` and started afresh by the next call.
//!
//! `join_daemons` stops every daemon of the process, so the tests take turns.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};
use std::time::Duration;

use pymt::threaded;

const TIMEOUT: Duration = Duration::from_secs(10);

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Appends to the log from the daemon worker.
#[threaded(daemon)]
fn log_line(line: String) -> (String, ThreadId, Option<String>) {
    let current = thread::current();
    (line, current.id(), current.name().map(str::to_owned))
}

static SEEN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

#[threaded(daemon, priority = 1, name = "record")]
fn record(n: u32) {
    SEEN.lock().unwrap().push(n);
}

#[test]
fn daemon_worker_lives_across_calls_and_restarts_after_join_daemons() {
    let _serial = serial();
    let (line, first, name) = log_line("a".into()).join().unwrap();
    assert_eq!(line, "a");
    assert_ne!(first, thread::current().id());
    let name = name.expect("daemon workers are named");
    assert!(name.contains("log_line"), "{name}");

    // The same worker serves the next call.
    let (_, second, _) = log_line("b".into()).join().unwrap();
    assert_eq!(first, second);

    assert!(pymt::join_daemons(TIMEOUT));

    // A later call starts a fresh worker.
    let (line, third, _) = log_line("c".into()).join().unwrap();
    assert_eq!(line, "c");
    assert_ne!(third, first);
    let (_, fourth, _) = log_line("d".into()).join().unwrap();
    assert_eq!(third, fourth);

    // And again: each join retires the worker, each next call starts one.
    let mut seen = vec![first, third];
    for round in 0..4 {
        assert!(pymt::join_daemons(TIMEOUT));
        let (_, worker, _) = log_line(format!("round {round}")).join().unwrap();
        assert!(!seen.contains(&worker), "round {round}: a fresh worker");
        let (_, again, _) = log_line("again".into()).join().unwrap();
        assert_eq!(
            worker, again,
            "round {round}: the same worker serves the next call"
        );
        seen.push(worker);
    }
}

#[test]
fn one_worker_runs_calls_in_order() {
    let _serial = serial();
    let tasks: Vec<_> = (0..20).map(record).collect();
    for task in &tasks {
        assert_eq!(task.name(), Some("record"));
        assert_eq!(task.priority(), 1);
    }
    for task in tasks {
        assert_eq!(task.result_timeout(TIMEOUT), Ok(()));
    }
    assert_eq!(*SEEN.lock().unwrap(), (0..20).collect::<Vec<_>>());
}
