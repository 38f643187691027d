//! Regression, the realistic shape of the rejection cascade (see
//! regress_deferred_reject_recursion.rs): a `#[limiter(1, blocking = false)]`
//! function with a backlog of a few thousand calls, and the program shuts
//! its pools down with `Pool::join_pools` while the first call still runs.
//!
//! Defect: when that call ended, its worker dropped the permit and rejected
//! the whole backlog recursively on its 2 MiB stack, overflowing it (the
//! process aborts).

mod common;
use common::*;

use pymt::TaskState;
use std::sync::mpsc::{self, Receiver};
use std::sync::Mutex;
use std::time::Duration;

static GATE: Mutex<Option<Receiver<()>>> = Mutex::new(None);

#[pymt::limiter(1, blocking = false)]
#[pymt::threaded(pool_name = "regress-backlog")]
fn work(first: bool) -> u32 {
    if first {
        let gate = GATE.lock().unwrap().take().unwrap();
        gate.recv_timeout(LONG).unwrap();
    }
    1
}

/// The child's body: `REPRO_BACKLOG` calls wait behind the first one while
/// the pools are joined.
fn backlog_then_join_pools() {
    let backlog = env_knob("REPRO_BACKLOG", 5_000usize);
    let (tx, rx) = mpsc::channel();
    *GATE.lock().unwrap() = Some(rx);
    let first = work(true);
    let pool = pymt::Pool::get_pool_by_name("regress-backlog").expect("made by the first call");
    let rest: Vec<_> = (0..backlog).map(|_| work(false)).collect();
    // The first call ends once `join_pools` has closed its pool.
    let opener = std::thread::spawn(move || {
        let start = std::time::Instant::now();
        while !pool.is_closed() && start.elapsed() < LONG {
            std::thread::sleep(ms(1));
        }
        tx.send(()).unwrap();
    });
    let all_joined = pymt::Pool::join_pools(LONG);
    opener.join().unwrap();
    assert_eq!(first.result_timeout(LONG), Ok(1));
    assert!(
        rest.iter().all(|t| t.wait_timeout(LONG)),
        "a backlog task never ended"
    );
    let rejected = rest
        .iter()
        .filter(|t| t.state() == TaskState::Rejected)
        .count();
    eprintln!("child: joined {all_joined}; {rejected}/{backlog} of the backlog rejected");
    assert!(all_joined);
    assert_eq!(rejected, backlog);
}

#[test]
fn join_pools_with_a_limiter_backlog_aborts_the_process() {
    if is_child() {
        backlog_then_join_pools();
        return;
    }
    for backlog in ["1000", "5000"] {
        let outcome = run_child_with(
            "join_pools_with_a_limiter_backlog_aborts_the_process",
            &[("REPRO_BACKLOG", backlog)],
            Duration::from_secs(60),
        );
        eprintln!("backlog {backlog}: {outcome:?}");
        assert!(
            matches!(outcome, ChildOutcome::Passed),
            "backlog {backlog}: child crashed: {outcome:?}"
        );
    }
}
