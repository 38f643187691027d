//! `Worker`: one dedicated thread with its own priority queue.

use pymt_core as pymt;

mod common;

use std::sync::Arc;
use std::thread;

use common::{join, occupy_worker, wait_for_threads, within, OpenOnDrop, Record, LONG};
use pymt::{TaskError, TaskState, Worker};

fn assert_send_sync_debug<T: Send + Sync + std::fmt::Debug>() {}

#[test]
fn worker_is_send_and_sync() {
    assert_send_sync_debug::<Worker>();
}

#[test]
fn new_worker_is_alive_and_runs_tasks() {
    let worker = Worker::new();
    assert!(worker.is_alive());
    assert_eq!(worker.name(), None);
    assert_eq!(join(worker.submit(|| 6 * 7)), Ok(42));
    assert!(worker.is_alive());
    assert!(Worker::default().is_alive());
    assert!(worker.join(LONG));
}

#[test]
fn builder_name_names_the_worker_and_its_thread() {
    let worker = Worker::builder().name("dedicated-io").build();
    assert_eq!(worker.name(), Some("dedicated-io"));
    let t = worker.submit(|| thread::current().name().map(str::to_owned));
    assert_eq!(join(t), Ok(Some("dedicated-io".to_owned())));
    assert!(format!("{worker:?}").contains("dedicated-io"));
    assert!(worker.join(LONG));
}

#[test]
fn every_task_runs_on_the_same_thread() {
    let worker = Worker::new();
    let ids: Vec<_> = (0..10)
        .map(|_| worker.submit(|| thread::current().id()))
        .collect();
    let ids: Vec<_> = ids.into_iter().map(|t| join(t).unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    assert_ne!(ids[0], thread::current().id());
}

#[test]
fn submit_is_fifo_and_priorities_run_higher_first() {
    let worker = Worker::new();
    let (gate, blocker) = occupy_worker(&worker);
    let _open = OpenOnDrop(gate.clone());
    let order = Record::new();
    let priorities = [0, 3, 0, -1, 3, 7, 0];
    let tasks: Vec<_> = priorities
        .iter()
        .enumerate()
        .map(|(seq, &p)| {
            let o = order.clone();
            if p == 0 {
                worker.submit(move || o.push((p, seq)))
            } else {
                worker.submit_with_priority(p, move || o.push((p, seq)))
            }
        })
        .collect();
    assert_eq!(tasks[1].priority(), 3);
    gate.open();
    for t in tasks {
        assert_eq!(join(t), Ok(()));
    }
    let mut expected: Vec<_> = priorities
        .iter()
        .enumerate()
        .map(|(seq, &p)| (p, seq))
        .collect();
    expected.sort_by_key(|&(p, _)| std::cmp::Reverse(p));
    assert_eq!(order.get(), expected);
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn stop_returns_at_once_lets_the_running_task_finish_and_cancels_the_queue() {
    let worker = Arc::new(Worker::new());
    let (gate, running) = occupy_worker(&worker);
    let _open = OpenOnDrop(gate.clone());
    let queued: Vec<_> = (0..3).map(|i| worker.submit(move || i)).collect();
    let w = Arc::clone(&worker);
    // The running task is blocked until after stop() returned: stop must not
    // wait for it.
    within("Worker::stop", move || w.stop());
    assert!(!worker.is_alive());
    for t in &queued {
        assert_eq!(t.state(), TaskState::Cancelled);
    }
    let late = worker.submit(|| 9);
    assert_eq!(join(late), Err(TaskError::Rejected));
    assert!(!running.is_done());
    gate.open();
    assert_eq!(join(running), Ok(true), "the running task finishes");
    for t in queued {
        assert_eq!(join(t), Err(TaskError::Cancelled));
    }
    assert!(!worker.is_alive());
    assert!(
        worker.join(LONG),
        "the thread exited after its running task"
    );
}

#[test]
fn stop_and_join_end_the_thread() {
    let stopped = Worker::builder().name("w-stop-exit").build();
    wait_for_threads("w-stop-exit", 1);
    stopped.stop();
    wait_for_threads("w-stop-exit", 0);
    let joined = Worker::builder().name("w-join-exit").build();
    assert_eq!(join(joined.submit(|| 1)), Ok(1));
    assert!(joined.join(LONG));
    wait_for_threads("w-join-exit", 0);
    let dropped = Worker::builder().name("w-drop-exit").build();
    drop(dropped);
    wait_for_threads("w-drop-exit", 0);
}

#[test]
fn join_finishes_everything_queued_then_exits() {
    let worker = Worker::new();
    let (gate, blocker) = occupy_worker(&worker);
    let queued: Vec<_> = (0..5).map(|i| worker.submit(move || i)).collect();
    gate.open();
    assert!(worker.join(LONG));
    assert!(!worker.is_alive());
    assert_eq!(join(blocker), Ok(true));
    for (i, t) in queued.into_iter().enumerate() {
        assert_eq!(t.try_result(), Some(Ok(i)), "done when join returned");
    }
    assert_eq!(join(worker.submit(|| 0)), Err(TaskError::Rejected));
    assert!(worker.join(LONG), "joining again is harmless");
}

#[test]
fn join_timeout_cancels_what_is_still_queued() {
    let worker = Worker::new();
    let (gate, blocker) = occupy_worker(&worker);
    let _open = OpenOnDrop(gate.clone());
    let queued = worker.submit(|| 1);
    assert!(!worker.join(common::ms(30)));
    assert_eq!(queued.state(), TaskState::Cancelled);
    gate.open();
    assert_eq!(join(blocker), Ok(true));
    assert_eq!(join(queued), Err(TaskError::Cancelled));
    assert_eq!(join(worker.submit(|| 2)), Err(TaskError::Rejected));
}

#[test]
fn a_panicking_task_does_not_kill_the_worker() {
    let worker = Worker::builder().name("survivor").build();
    let before = join(worker.submit(|| thread::current().id())).unwrap();
    let bad = worker.submit(|| -> u8 { panic!("worker-task-panic") });
    assert_eq!(
        join(bad),
        Err(TaskError::Panicked {
            message: "worker-task-panic".into()
        })
    );
    assert!(worker.is_alive());
    let after = worker.submit(|| (thread::current().id(), 5));
    assert_eq!(join(after), Ok((before, 5)), "same thread, still serving");
    assert!(worker.join(LONG));
}

#[test]
fn dropping_a_worker_lets_its_queue_finish() {
    let worker = Worker::new();
    let (gate, blocker) = occupy_worker(&worker);
    let _open = OpenOnDrop(gate.clone());
    let queued: Vec<_> = (0..3).map(|i| worker.submit(move || i)).collect();
    within("dropping a busy worker", move || drop(worker));
    gate.open();
    assert_eq!(join(blocker), Ok(true));
    for (i, t) in queued.into_iter().enumerate() {
        assert_eq!(join(t), Ok(i));
    }
}

#[test]
fn stop_on_an_idle_worker() {
    let worker = Worker::new();
    assert_eq!(join(worker.submit(|| 1)), Ok(1));
    worker.stop();
    assert!(!worker.is_alive());
    assert_eq!(join(worker.submit(|| 2)), Err(TaskError::Rejected));
    worker.stop(); // harmless twice
}
