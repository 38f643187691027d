//! Waiting on many tasks: `pymt::wait` with the three `ReturnWhen` modes,
//! `pymt::as_completed`, and `TaskSet`.

use pymt_core as pymt;

mod common;

use std::sync::mpsc;
use std::thread;

use common::{join, join_thread, ms, occupy, within, Gate, OpenOnDrop, Started, LONG};
use pymt::{Pool, ReturnWhen, Task, TaskError, TaskSet};

/// A task on `pool` that returns `value` once `gate` opens (reporting its start).
fn gated<T: Send + 'static>(pool: &Pool, gate: &Gate, started: &Started, value: T) -> Task<T> {
    let (g, tx) = (gate.clone(), started.sender());
    pool.submit(move || {
        tx.send(()).unwrap();
        assert!(g.wait(), "gate never opened");
        value
    })
}

fn ids<T>(tasks: &[Task<T>]) -> Vec<pymt::TaskId> {
    tasks.iter().map(Task::id).collect()
}

// ===== wait =====

#[test]
fn wait_on_nothing_returns_at_once_in_every_mode() {
    for when in [
        ReturnWhen::FirstCompleted,
        ReturnWhen::FirstException,
        ReturnWhen::AllCompleted,
    ] {
        let (done, pending) = within("wait on an empty slice", move || {
            let none: [Task<()>; 0] = [];
            let (d, p) = pymt::wait(&none, when, LONG);
            (d.len(), p.len())
        });
        assert_eq!((done, pending), (0, 0), "{when:?}");
    }
}

#[test]
fn all_completed_waits_for_every_task() {
    let pool = Pool::builder().max_workers(3).build().unwrap();
    let tasks: Vec<_> = (0..6).map(|i| pool.submit(move || i)).collect();
    let (done, pending) = pymt::wait(&tasks, ReturnWhen::AllCompleted, LONG);
    assert!(pending.is_empty());
    assert_eq!(ids(&done), ids(&tasks), "done keeps input order");
    assert!(tasks.iter().all(Task::is_done));
}

#[test]
fn all_completed_includes_failures() {
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let tasks = vec![
        pool.submit(|| 1),
        pool.submit(|| -> i32 { panic!("wait-all-failure") }),
        pool.submit(|| 3),
    ];
    let (done, pending) = pymt::wait(&tasks, ReturnWhen::AllCompleted, LONG);
    assert_eq!((done.len(), pending.len()), (3, 0));
}

#[test]
fn first_completed_returns_after_one_task() {
    let pool = Pool::builder().max_workers(3).build().unwrap();
    let (slow_gate, fast_gate) = (Gate::new(), Gate::new());
    let _open = (OpenOnDrop(slow_gate.clone()), OpenOnDrop(fast_gate.clone()));
    let started = Started::new();
    let tasks = vec![
        gated(&pool, &slow_gate, &started, 0),
        gated(&pool, &fast_gate, &started, 1),
        gated(&pool, &slow_gate, &started, 2),
    ];
    started.wait(3);
    fast_gate.open();
    let (done, pending) = pymt::wait(&tasks, ReturnWhen::FirstCompleted, LONG);
    assert_eq!(ids(&done), vec![tasks[1].id()]);
    assert_eq!(ids(&pending), vec![tasks[0].id(), tasks[2].id()]);
    slow_gate.open();
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(join(t), Ok(i));
    }
}

#[test]
fn first_completed_with_one_already_done() {
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let started = Started::new();
    let finished = pool.submit(|| 0);
    assert!(finished.wait_timeout(LONG));
    let tasks = vec![gated(&pool, &gate, &started, 1), finished];
    let (done, pending) = pymt::wait(&tasks, ReturnWhen::FirstCompleted, LONG);
    assert_eq!(ids(&done), vec![tasks[1].id()]);
    assert_eq!(ids(&pending), vec![tasks[0].id()]);
}

#[test]
fn first_exception_returns_on_a_panic() {
    let pool = Pool::builder().max_workers(3).build().unwrap();
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let started = Started::new();
    let blocked = gated(&pool, &gate, &started, 0);
    started.wait(1);
    let tasks = vec![
        blocked,
        pool.submit(|| -> i32 { panic!("first-exception") }),
    ];
    let (done, pending) = pymt::wait(&tasks, ReturnWhen::FirstException, LONG);
    assert_eq!(ids(&done), vec![tasks[1].id()]);
    assert_eq!(ids(&pending), vec![tasks[0].id()]);
    assert!(done[0].error().unwrap().is_panic());
}

#[test]
fn first_exception_without_a_panic_waits_for_all() {
    let pool = Pool::builder().max_workers(3).build().unwrap();
    let (g1, g2) = (Gate::new(), Gate::new());
    let _open = (OpenOnDrop(g1.clone()), OpenOnDrop(g2.clone()));
    let started = Started::new();
    let tasks = vec![
        gated(&pool, &g1, &started, 1),
        gated(&pool, &g2, &started, 2),
    ];
    started.wait(2);
    g1.open();
    assert!(tasks[0].wait_timeout(LONG));
    // One success is not an exception: still waiting on the other.
    let (done, pending) = pymt::wait(&tasks, ReturnWhen::FirstException, ms(30));
    assert_eq!((done.len(), pending.len()), (1, 1));
    g2.open();
    let (done, pending) = pymt::wait(&tasks, ReturnWhen::FirstException, LONG);
    assert_eq!((done.len(), pending.len()), (2, 0));
}

#[test]
fn first_exception_ignores_cancellations() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let cancelled = pool.submit(|| 0);
    let queued = pool.submit(|| 1);
    assert!(cancelled.cancel());
    let tasks = vec![cancelled, queued];
    // A cancellation is not an exception: the wait times out on the other.
    let (done, pending) = pymt::wait(&tasks, ReturnWhen::FirstException, ms(30));
    assert_eq!(ids(&done), vec![tasks[0].id()]);
    assert_eq!(ids(&pending), vec![tasks[1].id()]);
    // Once everything ended, it returns (no exception needed).
    gate.open();
    let (done, pending) = pymt::wait(&tasks, ReturnWhen::FirstException, LONG);
    assert_eq!((done.len(), pending.len()), (2, 0));
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn timeout_returns_the_pending_tasks() {
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let started = Started::new();
    let tasks = vec![
        gated(&pool, &gate, &started, 0),
        gated(&pool, &gate, &started, 1),
    ];
    for when in [
        ReturnWhen::FirstCompleted,
        ReturnWhen::FirstException,
        ReturnWhen::AllCompleted,
    ] {
        let (done, pending) = pymt::wait(&tasks, when, ms(20));
        assert!(done.is_empty(), "{when:?}");
        assert_eq!(ids(&pending), ids(&tasks), "{when:?}");
    }
    gate.open();
    let (done, pending) = pymt::wait(&tasks, ReturnWhen::AllCompleted, LONG);
    assert_eq!((done.len(), pending.len()), (2, 0));
}

#[test]
fn wait_returns_clones_and_leaves_the_values_in_place() {
    let tasks = vec![
        pymt::spawn(|| String::from("a")),
        pymt::spawn(|| String::from("b")),
    ];
    let (done, _) = pymt::wait(&tasks, ReturnWhen::AllCompleted, LONG);
    assert_eq!(done.len(), 2);
    drop(done);
    let values: Vec<String> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(values, ["a", "b"]);
}

// ===== as_completed =====

#[test]
fn as_completed_yields_in_completion_order() {
    let pool = Pool::builder().max_workers(4).build().unwrap();
    let gates: Vec<Gate> = (0..3).map(|_| Gate::new()).collect();
    let _open: Vec<_> = gates.iter().cloned().map(OpenOnDrop).collect();
    let started = Started::new();
    let mut tasks: Vec<_> = gates
        .iter()
        .enumerate()
        .map(|(i, g)| gated(&pool, g, &started, i))
        .collect();
    started.wait(3);
    let finished = pool.submit(|| 99);
    assert!(finished.wait_timeout(LONG));
    tasks.push(finished);
    let (tx, rx) = mpsc::channel();
    let consumer = thread::spawn(move || {
        for t in pymt::as_completed(tasks) {
            tx.send(t.join().unwrap()).unwrap();
        }
    });
    assert_eq!(rx.recv_timeout(LONG), Ok(99), "already finished first");
    for i in [1, 2, 0] {
        assert!(rx.recv_timeout(ms(10)).is_err(), "nothing else finished");
        gates[i].open();
        assert_eq!(rx.recv_timeout(LONG), Ok(i));
    }
    join_thread(consumer);
    assert!(rx.recv_timeout(ms(1)).is_err());
}

#[test]
fn as_completed_yields_every_outcome() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let (gate, blocker) = occupy(&pool);
    let ok = pool.submit(|| 1);
    let bad = pool.submit(|| -> i32 { panic!("as-completed-panic") });
    let cancelled = pool.submit(|| 3);
    assert!(cancelled.cancel());
    gate.open();
    let outcomes = within("as_completed", move || {
        let mut all: Vec<_> = pymt::as_completed(vec![ok, bad, cancelled])
            .map(Task::join)
            .collect();
        all.sort_by_key(|r| format!("{r:?}"));
        all
    });
    assert_eq!(outcomes.len(), 3);
    assert!(outcomes.contains(&Ok(1)));
    assert!(outcomes.contains(&Err(TaskError::Cancelled)));
    assert!(outcomes
        .iter()
        .any(|r| r.as_ref().is_err_and(TaskError::is_panic)));
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn as_completed_can_be_dropped_early() {
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let started = Started::new();
    let slow = gated(&pool, &gate, &started, 1);
    let fast = pool.submit(|| 0);
    assert!(fast.wait_timeout(LONG));
    let mut it = pymt::as_completed(vec![slow.clone(), fast]);
    assert_eq!(it.len(), 2);
    assert_eq!(join(it.next().unwrap()), Ok(0));
    assert_eq!(it.len(), 1);
    drop(it);
    gate.open();
    assert_eq!(join(slow), Ok(1), "the abandoned task still completes");
}

// ===== TaskSet =====

#[test]
fn task_set_basics() {
    let mut set: TaskSet<i32> = TaskSet::new();
    assert!(set.is_empty());
    assert_eq!(set.len(), 0);
    assert_eq!(set.join_next(), None);
    assert_eq!(set.try_join_next(), None);
    assert_eq!(set.join_next_timeout(ms(1)), None);
    set.push(pymt::spawn(|| 1));
    set.push(pymt::spawn(|| 2));
    assert_eq!(set.len(), 2);
    assert!(!set.is_empty());
    let mut got = vec![
        set.join_next_timeout(LONG).unwrap().unwrap(),
        set.join_next_timeout(LONG).unwrap().unwrap(),
    ];
    got.sort_unstable();
    assert_eq!(got, [1, 2]);
    assert!(set.is_empty());
    assert_eq!(set.join_next(), None);
    let default: TaskSet<()> = TaskSet::default();
    assert!(default.is_empty());
    assert!(format!("{set:?}").contains("TaskSet"));
}

#[test]
fn task_set_join_next_in_completion_order() {
    let pool = Pool::builder().max_workers(3).build().unwrap();
    let gates: Vec<Gate> = (0..3).map(|_| Gate::new()).collect();
    let _open: Vec<_> = gates.iter().cloned().map(OpenOnDrop).collect();
    let started = Started::new();
    let mut set: TaskSet<usize> = gates
        .iter()
        .enumerate()
        .map(|(i, g)| gated(&pool, g, &started, i))
        .collect();
    started.wait(3);
    assert_eq!(set.len(), 3);
    for i in [2, 0, 1] {
        assert_eq!(set.try_join_next(), None, "nothing finished yet");
        gates[i].open();
        assert_eq!(set.join_next_timeout(LONG), Some(Ok(i)));
    }
    assert!(set.is_empty());
}

#[test]
fn task_set_join_next_blocks_until_a_completion() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let started = Started::new();
    let mut set = TaskSet::new();
    set.push(gated(&pool, &gate, &started, 5));
    started.wait(1);
    let opener = gate.clone();
    let (tx, rx) = mpsc::channel();
    let consumer = thread::spawn(move || {
        tx.send(()).unwrap();
        set.join_next()
    });
    rx.recv_timeout(LONG).unwrap();
    opener.open();
    assert_eq!(join_thread(consumer), Some(Ok(5)));
}

#[test]
fn task_set_join_next_timeout_leaves_the_tasks_in_the_set() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let started = Started::new();
    let mut set = TaskSet::new();
    set.push(gated(&pool, &gate, &started, 7));
    assert_eq!(set.join_next_timeout(ms(20)), Some(Err(TaskError::Timeout)));
    assert_eq!(set.len(), 1);
    gate.open();
    assert_eq!(set.join_next_timeout(LONG), Some(Ok(7)));
    assert!(set.is_empty());
}

#[test]
fn task_set_try_join_next_takes_only_finished_tasks() {
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let started = Started::new();
    let mut set = TaskSet::new();
    set.push(gated(&pool, &gate, &started, 1));
    let done = pool.submit(|| 2);
    assert!(done.wait_timeout(LONG));
    set.push(done);
    assert_eq!(set.try_join_next(), Some(Ok(2)));
    assert_eq!(set.try_join_next(), None);
    assert_eq!(set.len(), 1);
    gate.open();
    assert_eq!(set.join_next_timeout(LONG), Some(Ok(1)));
}

#[test]
fn task_set_join_all_in_completion_order() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let (gate, blocker) = occupy(&pool);
    // One worker runs them by priority, so completion order is known.
    let set: TaskSet<i32> = [(0, 10), (5, 20), (9, 30), (1, 40)]
        .into_iter()
        .map(|(p, v)| pool.submit_with_priority(p, move || v))
        .collect();
    gate.open();
    let all = within("TaskSet::join_all", move || set.join_all());
    assert_eq!(all, vec![Ok(30), Ok(20), Ok(40), Ok(10)]);
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn task_set_cancel_all_keeps_cancelled_tasks_in_the_set() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let (gate, running) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let done = pool.submit(|| 0);
    let mut set: TaskSet<i32> = TaskSet::new();
    set.push(pool.submit(|| 1));
    set.push(pool.submit(|| 2));
    set.push(pool.submit(|| 3));
    set.cancel_all();
    assert_eq!(set.len(), 3, "cancelled tasks stay in the set");
    for _ in 0..3 {
        assert_eq!(set.join_next_timeout(LONG), Some(Err(TaskError::Cancelled)));
    }
    assert!(set.is_empty());
    gate.open();
    assert_eq!(join(running), Ok(true));
    assert_eq!(join(done), Ok(0), "tasks outside the set are untouched");
}

#[test]
fn task_set_cancel_all_leaves_running_and_finished_tasks() {
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let started = Started::new();
    let mut set = TaskSet::new();
    set.push(gated(&pool, &gate, &started, 1));
    let finished = pool.submit(|| 2);
    assert!(finished.wait_timeout(LONG));
    set.push(finished);
    started.wait(1);
    set.cancel_all();
    assert_eq!(set.len(), 2);
    assert_eq!(set.try_join_next(), Some(Ok(2)));
    gate.open();
    assert_eq!(
        set.join_next_timeout(LONG),
        Some(Ok(1)),
        "running: not cancelled"
    );
}

#[test]
fn task_set_from_iterator_and_extend() {
    let mut set: TaskSet<u32> = (0..3).map(|i| pymt::spawn(move || i)).collect();
    assert_eq!(set.len(), 3);
    set.extend((3..5).map(|i| pymt::spawn(move || i)));
    assert_eq!(set.len(), 5);
    let mut all: Vec<u32> = within("join_all", move || set.join_all())
        .into_iter()
        .map(Result::unwrap)
        .collect();
    all.sort_unstable();
    assert_eq!(all, [0, 1, 2, 3, 4]);
}

#[test]
fn task_set_reuses_slots_after_joins() {
    let mut set = TaskSet::new();
    for round in 0..5 {
        set.push(pymt::spawn(move || round));
        set.push(pymt::spawn(move || round + 100));
        let mut got = vec![
            set.join_next_timeout(LONG).unwrap().unwrap(),
            set.join_next_timeout(LONG).unwrap().unwrap(),
        ];
        got.sort_unstable();
        assert_eq!(got, [round, round + 100]);
        assert!(set.is_empty());
    }
}

#[test]
fn task_set_yields_failures() {
    let mut set = TaskSet::new();
    set.push(pymt::spawn(|| -> u8 { panic!("set-panic") }));
    assert_eq!(
        set.join_next_timeout(LONG),
        Some(Err(TaskError::Panicked {
            message: "set-panic".into()
        }))
    );
}

#[test]
fn as_completed_next_timeout_and_try_next() {
    let pool = pymt::Pool::builder().max_workers(2).build().unwrap();
    let (gate, blocker) = common::occupy(&pool);
    let quick = pool.submit(|| false);
    assert!(quick.wait_timeout(LONG));
    let mut it = pymt::as_completed(vec![blocker, quick]);
    // The finished one first, without waiting.
    assert_eq!(it.try_next().map(|t| t.join()), Some(Ok(false)));
    assert!(it.try_next().is_none());
    assert_eq!(
        it.next_timeout(ms(20)).map(|r| r.map(|t| t.id())),
        Some(Err(pymt::TaskError::Timeout))
    );
    assert_eq!(it.len(), 1, "a timeout keeps the task in the iterator");
    gate.open();
    let last = it.next_timeout(LONG).expect("one left").expect("in time");
    assert_eq!(last.join(), Ok(true));
    assert!(it.next_timeout(LONG).is_none());
    assert!(pool.join(LONG));
}

/// A timed `as_completed` wait on a worker never runs a queued task inline:
/// it returns by its deadline (the pool may start a worker for the task).
#[test]
fn as_completed_next_timeout_on_a_worker_returns_by_its_deadline() {
    let pool = pymt::Pool::builder().max_workers(1).build().unwrap();
    let p = pool.clone();
    let outer = pool.submit(move || {
        let me = std::thread::current().id();
        let sub = p.submit(move || {
            std::thread::sleep(ms(300));
            std::thread::current().id() != me
        });
        let mut it = pymt::as_completed(vec![sub]);
        let start = std::time::Instant::now();
        let first = it.next_timeout(ms(50));
        let took = start.elapsed();
        let later = it.next_timeout(LONG).and_then(Result::ok).map(|t| t.join());
        (first.map(|r| r.is_err()), took, later)
    });
    let (first, took, later) = join(outer).unwrap();
    assert_eq!(first, Some(true), "the first wait timed out");
    assert!(took < ms(250), "next_timeout(50 ms) took {took:?}");
    assert_eq!(later, Some(Ok(true)), "the sub-task ran on another worker");
    assert!(pool.join(LONG));
}

#[test]
fn task_set_join_all_timeout_returns_what_ended_and_keeps_the_rest() {
    let gate = Gate::new();
    let pool = Pool::new();
    let mut set = TaskSet::new();
    let quick = pool.submit(|| 1);
    let failing = pool.submit(|| -> i32 { panic!("join-all-timeout-deliberate") });
    assert!(quick.wait_timeout(LONG) && failing.wait_timeout(LONG));
    set.push(quick);
    set.push(failing);
    let g = gate.clone();
    set.push(pool.submit(move || if g.wait() { 3 } else { -1 }));
    let done = set.join_all_timeout(ms(50));
    assert_eq!(done.len(), 2, "the two ended tasks: {done:?}");
    assert!(done.contains(&Ok(1)));
    assert!(done
        .iter()
        .any(|r| matches!(r, Err(TaskError::Panicked { .. }))));
    assert_eq!(set.len(), 1, "the gated task stays in the set");
    gate.open();
    let rest = within("join_all_timeout(LONG)", move || set.join_all_timeout(LONG));
    assert_eq!(rest, vec![Ok(3)]);
}

#[test]
fn task_set_join_all_timeout_on_an_empty_set_is_empty() {
    let mut set: TaskSet<u8> = TaskSet::new();
    assert!(set.join_all_timeout(LONG).is_empty());
}
