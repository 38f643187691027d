//! Every task ends in exactly one of Succeeded, Panicked, Cancelled or
//! Rejected, and no handle waits forever: one test per path into each state.

use pymt_core as pymt;

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use common::{join, join_thread, ms, occupy, occupy_worker, spawn_blocked, OpenOnDrop, LONG};
use pymt::{Pool, Task, TaskError, TaskSet, TaskState, Worker};

fn one_worker() -> Pool {
    Pool::builder().max_workers(1).build().unwrap()
}

/// Checks a finished task's state, its outcome, and that both stay put.
#[track_caller]
fn assert_ends<T: Clone + std::fmt::Debug + PartialEq>(
    task: &Task<T>,
    state: TaskState,
    outcome: Result<T, TaskError>,
) {
    assert!(task.wait_timeout(LONG), "{task:?} never ended");
    assert!(task.is_done());
    assert_eq!(task.state(), state);
    assert_eq!(task.result_timeout(LONG), outcome);
    assert_eq!(task.state(), state, "a final state never changes");
    assert!(!task.cancel(), "a finished task cannot be cancelled");
    assert_eq!(task.state(), state);
}

/// A closure that counts its runs and whether it was dropped.
struct Probe {
    runs: Arc<AtomicUsize>,
    alive: Arc<()>,
}

impl Probe {
    fn new() -> Self {
        Probe {
            runs: Arc::new(AtomicUsize::new(0)),
            alive: Arc::new(()),
        }
    }

    fn job(&self) -> impl FnOnce() -> u32 + Send + 'static {
        let (runs, alive) = (Arc::clone(&self.runs), Arc::clone(&self.alive));
        move || {
            let _keep = alive;
            runs.fetch_add(1, Ordering::SeqCst);
            1
        }
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    /// True once every copy of the closure was dropped.
    fn dropped(&self) -> bool {
        Arc::strong_count(&self.alive) == 1
    }
}

// ===== Succeeded =====

#[test]
fn succeeded_on_a_pool_a_worker_and_a_thread() {
    let pool = Pool::new();
    assert_ends(&pool.submit(|| 1), TaskState::Succeeded, Ok(1));
    let worker = Worker::new();
    assert_ends(&worker.submit(|| 2), TaskState::Succeeded, Ok(2));
    assert_ends(&pymt::spawn(|| 3), TaskState::Succeeded, Ok(3));
    assert!(worker.join(LONG));
}

#[test]
fn succeeded_after_the_last_pool_handle_was_dropped() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let queued: Vec<_> = (0..3).map(|i| pool.submit(move || i)).collect();
    drop(pool);
    gate.open();
    assert_ends(&blocker, TaskState::Succeeded, Ok(true));
    for (i, t) in queued.iter().enumerate() {
        assert_ends(t, TaskState::Succeeded, Ok(i));
    }
}

// ===== Panicked =====

#[test]
fn panicked_on_a_pool_a_worker_and_a_thread() {
    let expected = |m: &str| {
        Err(TaskError::Panicked {
            message: m.to_owned(),
        })
    };
    let pool = Pool::new();
    let t = pool.submit(|| -> u8 { panic!("pool-body") });
    assert_ends(&t, TaskState::Panicked, expected("pool-body"));
    let worker = Worker::new();
    let t = worker.submit(|| -> u8 { panic!("worker-body") });
    assert_ends(&t, TaskState::Panicked, expected("worker-body"));
    let t = pymt::spawn(|| -> u8 { panic!("thread-body") });
    assert_ends(&t, TaskState::Panicked, expected("thread-body"));
    assert!(worker.join(LONG));
}

#[test]
fn panicked_when_run_inline() {
    let pool = one_worker();
    let p = pool.clone();
    let outer = pool.submit(move || {
        let inner = p.submit(|| -> u8 { panic!("inline-body") });
        assert!(inner.wait_timeout(LONG));
        inner
    });
    let inner = join(outer).unwrap();
    assert_ends(
        &inner,
        TaskState::Panicked,
        Err(TaskError::Panicked {
            message: "inline-body".into(),
        }),
    );
}

// ===== Cancelled =====

#[test]
fn cancelled_while_queued_in_a_pool() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let probe = Probe::new();
    let t = pool.submit(probe.job());
    assert!(t.cancel());
    assert_ends(&t, TaskState::Cancelled, Err(TaskError::Cancelled));
    assert!(probe.dropped(), "a cancelled task's closure is dropped");
    gate.open();
    assert!(pool.wait_completion(LONG));
    assert_eq!(probe.runs(), 0);
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn cancelled_while_queued_in_a_worker() {
    let worker = Worker::new();
    let (gate, blocker) = occupy_worker(&worker);
    let probe = Probe::new();
    let t = worker.submit(probe.job());
    assert!(t.cancel());
    assert_ends(&t, TaskState::Cancelled, Err(TaskError::Cancelled));
    gate.open();
    assert!(worker.join(LONG));
    assert_eq!(probe.runs(), 0);
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn cancelled_by_request_stop_while_queued() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let probe = Probe::new();
    let t = pool.submit(probe.job());
    t.request_stop();
    assert_ends(&t, TaskState::Cancelled, Err(TaskError::Cancelled));
    gate.open();
    assert!(pool.wait_completion(LONG));
    assert_eq!(probe.runs(), 0);
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn cancelled_by_a_join_timeout() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let probe = Probe::new();
    let t = pool.submit(probe.job());
    assert!(!pool.join(ms(20)));
    assert_ends(&t, TaskState::Cancelled, Err(TaskError::Cancelled));
    assert!(probe.dropped());
    gate.open();
    assert_eq!(join(blocker), Ok(true));
    assert_eq!(probe.runs(), 0);
}

#[test]
fn cancelled_by_shutdown() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let probe = Probe::new();
    let t = pool.submit(probe.job());
    let p = pool.clone();
    let shutdown = thread::spawn(move || p.shutdown(LONG));
    assert_ends(&t, TaskState::Cancelled, Err(TaskError::Cancelled));
    gate.open();
    assert!(join_thread(shutdown));
    assert_eq!(join(blocker), Ok(true));
    assert_eq!(probe.runs(), 0);
    assert!(probe.dropped());
}

#[test]
fn cancelled_by_worker_stop() {
    let worker = Worker::new();
    let (gate, blocker) = occupy_worker(&worker);
    let _open = OpenOnDrop(gate.clone());
    let probe = Probe::new();
    let t = worker.submit(probe.job());
    worker.stop();
    assert_ends(&t, TaskState::Cancelled, Err(TaskError::Cancelled));
    gate.open();
    assert_ends(&blocker, TaskState::Succeeded, Ok(true));
    assert_eq!(probe.runs(), 0);
}

#[test]
fn cancelled_by_a_worker_join_timeout() {
    let worker = Worker::new();
    let (gate, blocker) = occupy_worker(&worker);
    let _open = OpenOnDrop(gate.clone());
    let t = worker.submit(|| 1);
    assert!(!worker.join(ms(20)));
    assert_ends(&t, TaskState::Cancelled, Err(TaskError::Cancelled));
    gate.open();
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn cancelled_by_task_set_cancel_all() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let t = pool.submit(|| 1);
    let mut set = TaskSet::new();
    set.push(t.clone());
    set.cancel_all();
    assert_ends(&t, TaskState::Cancelled, Err(TaskError::Cancelled));
    gate.open();
    assert_eq!(join(blocker), Ok(true));
}

// ===== Rejected =====

#[test]
fn rejected_after_pool_join() {
    let pool = Pool::new();
    assert!(pool.join(LONG));
    let probe = Probe::new();
    let t = pool.submit(probe.job());
    assert_ends(&t, TaskState::Rejected, Err(TaskError::Rejected));
    let t = pool.submit_with_priority(3, probe.job());
    assert_ends(&t, TaskState::Rejected, Err(TaskError::Rejected));
    let t = pymt::TaskBuilder::new().submit(&pool, probe.job());
    assert_ends(&t, TaskState::Rejected, Err(TaskError::Rejected));
    let mapped = pool.map(|x: u32| x, 0..3);
    for t in &mapped {
        assert_ends(t, TaskState::Rejected, Err(TaskError::Rejected));
    }
    assert_eq!(probe.runs(), 0);
    assert!(probe.dropped(), "a rejected closure is dropped");
}

#[test]
fn rejected_while_a_join_is_in_progress() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let p = pool.clone();
    let joiner = spawn_blocked("joiner", move || p.join(LONG));
    let t = pool.submit(|| 1);
    assert_ends(&t, TaskState::Rejected, Err(TaskError::Rejected));
    gate.open();
    assert!(join_thread(joiner));
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn rejected_after_a_join_timeout() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    assert!(!pool.join(ms(10)));
    assert_ends(
        &pool.submit(|| 1),
        TaskState::Rejected,
        Err(TaskError::Rejected),
    );
    gate.open();
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn rejected_after_pool_shutdown() {
    let pool = Pool::new();
    assert!(pool.shutdown(LONG));
    assert_ends(
        &pool.submit(|| 1),
        TaskState::Rejected,
        Err(TaskError::Rejected),
    );
    let chunks = pool.map_chunked(|x: u32| x, 0..4, 2);
    assert_eq!(chunks.len(), 2);
    for t in &chunks {
        assert_ends(t, TaskState::Rejected, Err(TaskError::Rejected));
    }
}

#[test]
fn rejected_after_worker_stop_and_worker_join() {
    let stopped = Worker::new();
    stopped.stop();
    assert_ends(
        &stopped.submit(|| 1),
        TaskState::Rejected,
        Err(TaskError::Rejected),
    );
    assert_ends(
        &stopped.submit_with_priority(9, || 1),
        TaskState::Rejected,
        Err(TaskError::Rejected),
    );
    let joined = Worker::new();
    assert!(joined.join(LONG));
    assert_ends(
        &joined.submit(|| 2),
        TaskState::Rejected,
        Err(TaskError::Rejected),
    );
    let t = pymt::TaskBuilder::new().submit_to_worker(&joined, || 3);
    assert_ends(&t, TaskState::Rejected, Err(TaskError::Rejected));
}

#[test]
fn rejected_when_held_back_by_drain_then_shut_down() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let p = pool.clone();
    let drainer = spawn_blocked("drainer", move || p.drain(LONG));
    let p = pool.clone();
    let submitter = spawn_blocked("held-back", move || p.submit(|| 1));
    let p = pool.clone();
    let shutdown = thread::spawn(move || p.shutdown(LONG));
    let held_back = join_thread(submitter);
    assert_ends(&held_back, TaskState::Rejected, Err(TaskError::Rejected));
    gate.open();
    assert!(join_thread(drainer));
    assert!(join_thread(shutdown));
    assert_eq!(join(blocker), Ok(true));
}

// ===== exactly one end, under concurrency =====

#[test]
fn every_task_ends_exactly_once_under_concurrent_cancel_and_shutdown() {
    let pool = Pool::builder()
        .max_workers(2)
        .queue_capacity(50)
        .build()
        .unwrap();
    let callbacks = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..300u32 {
        let t = pool.submit(move || {
            if i % 7 == 0 {
                panic!("churn {i}");
            }
            thread::yield_now();
            i
        });
        let c = Arc::clone(&callbacks);
        t.on_done(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        });
        if i % 3 == 0 {
            t.cancel();
        }
        if i == 200 {
            let p = pool.clone();
            let _ = thread::spawn(move || p.shutdown(LONG));
        }
        tasks.push(t);
    }
    let mut counts = [0usize; 4];
    for t in &tasks {
        assert!(t.wait_timeout(LONG), "{t:?} never ended");
        let (slot, consistent) = match (t.state(), t.try_result().expect("done")) {
            (TaskState::Succeeded, Ok(_)) => (0, true),
            (TaskState::Panicked, Err(e)) => (1, e.is_panic()),
            (TaskState::Cancelled, Err(e)) => (2, e == TaskError::Cancelled),
            (TaskState::Rejected, Err(e)) => (3, e == TaskError::Rejected),
            (state, result) => panic!("{t:?}: state {state:?} but result {result:?}"),
        };
        assert!(consistent, "{t:?}");
        counts[slot] += 1;
    }
    assert_eq!(counts.iter().sum::<usize>(), 300);
    common::wait_for("every on_done", || callbacks.load(Ordering::SeqCst) >= 300);
    assert_eq!(
        callbacks.load(Ordering::SeqCst),
        300,
        "each on_done ran once"
    );
    common::wait_for("the pool to stop", || pool.stats().workers == 0);
    let stats = pool.stats();
    assert_eq!(stats.completed, counts[0], "{stats:?} vs {counts:?}");
    assert_eq!(stats.panicked, counts[1], "{stats:?} vs {counts:?}");
    assert_eq!(stats.cancelled, counts[2], "{stats:?} vs {counts:?}");
}

// ===== a value that panics when dropped =====

/// A result whose destructor panics. When nobody holds a handle any more,
/// the runtime itself drops it, on the thread that finished the task.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("result-drop-panic");
    }
}

#[test]
fn an_unread_result_that_panics_when_dropped_does_not_wedge_the_pool() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    // Detached before it runs: its value is dropped on the worker.
    drop(pool.submit(|| PanicsOnDrop));
    gate.open();
    assert_eq!(join(blocker), Ok(true));
    let next = pool.submit(|| 1);
    assert_eq!(
        next.result_timeout(LONG),
        Ok(1),
        "the pool's only worker died: {:?}",
        pool.stats()
    );
    assert!(pool.wait_completion(LONG), "{:?}", pool.stats());
}

#[test]
fn an_unread_result_that_panics_when_dropped_does_not_kill_a_worker() {
    let worker = Worker::new();
    let (gate, blocker) = occupy_worker(&worker);
    let _open = OpenOnDrop(gate.clone());
    drop(worker.submit(|| PanicsOnDrop));
    gate.open();
    assert_eq!(join(blocker), Ok(true));
    let next = worker.submit(|| 1);
    assert_eq!(next.result_timeout(LONG), Ok(1), "the worker thread died");
    assert!(worker.is_alive());
}
