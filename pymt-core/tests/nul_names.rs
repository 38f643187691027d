//! Names that cannot name a thread (an interior NUL byte).
//!
//! Pool names become thread names (`<pool>-<n>`), and std refuses a thread
//! name containing `\0` by panicking. The contract says a bad builder value is
//! an error, never a panic, and that no handle waits forever: such a name must
//! be refused by `build()` (or be made harmless), never give a pool whose
//! first submission panics and whose tasks never run.
//!
//! These tests live in a file of their own because a broken registered pool
//! would make every `join_pools` of the process time out.

use pymt_core as pymt;

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{join, ms, within, LONG};
use pymt::{Pool, TaskBuilder, TaskError, Worker};

/// Submits through `pool` on a watchdog thread; the submission must neither
/// panic nor hang, and the task must run.
fn assert_pool_runs_tasks(pool: Pool) {
    let outcome = within("submit to a pool with an odd name", move || {
        let submitted = catch_unwind(AssertUnwindSafe(|| pool.submit(|| 1)));
        let result = submitted.map(|t| t.result_timeout(LONG));
        // Do not leave a half-started pool registered behind us.
        let _ = pool.shutdown(ms(50));
        result
    });
    match outcome {
        Ok(result) => assert_eq!(result, Ok(1), "the task never ran"),
        Err(_) => panic!("submit panicked: the pool could not start a worker thread"),
    }
}

#[test]
fn builder_name_with_a_nul_byte_is_an_error_or_harmless() {
    match Pool::builder().name("nul\0pool").max_workers(1).build() {
        Err(err) => assert!(!err.to_string().is_empty()),
        Ok(pool) => assert_pool_runs_tasks(pool),
    }
}

#[test]
fn named_with_a_nul_byte_gives_a_working_pool() {
    // `Pool::named` has no error path: the pool it returns must work.
    let pool = within("Pool::named", || catch_unwind(|| Pool::named("nul\0named")));
    match pool {
        Ok(pool) => assert_pool_runs_tasks(pool),
        Err(_) => panic!("Pool::named panicked"),
    }
}

#[test]
fn min_workers_with_a_nul_name_do_not_panic_at_build() {
    let built = catch_unwind(|| {
        Pool::builder()
            .name("nul\0min")
            .min_workers(1)
            .build()
            .map(|pool| {
                let _ = pool.shutdown(ms(50));
            })
    });
    assert!(
        built.is_ok(),
        "build() panicked instead of returning an error"
    );
}

#[test]
fn a_spawned_task_with_a_nul_name_is_not_a_panic() {
    let task = catch_unwind(|| TaskBuilder::new().name("nul\0task").spawn(|| 1));
    let task = task.unwrap_or_else(|_| panic!("TaskBuilder::spawn panicked"));
    let result = join(task);
    assert!(
        result == Ok(1) || result == Err(TaskError::Rejected),
        "{result:?}"
    );
}

#[test]
fn a_worker_with_a_nul_name_is_not_a_panic() {
    let worker = catch_unwind(|| Worker::builder().name("nul\0worker").build());
    let worker = worker.unwrap_or_else(|_| panic!("WorkerBuilder::build panicked"));
    let result = join(worker.submit(|| 1));
    assert!(
        result == Ok(1) || result == Err(TaskError::Rejected),
        "{result:?}"
    );
}
