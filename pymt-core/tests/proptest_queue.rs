//! Property tests of the priority order (higher priority first, submission
//! order among equals) against a simple model, through the public API.
//!
//! The queue type is private, so the tests drive it through an executor with
//! one thread (a 1-worker `Pool`, or a dedicated `Worker`): while a gate task
//! occupies the thread, submissions only queue up; the order in which the
//! bodies then start is the order in which the queue hands them out.
//!
//! - `batch_order_is_a_stable_sort_by_priority`: queue everything behind the
//!   gate, open it, and compare the execution order with a stable sort by
//!   descending priority.
//! - `interleaved_pushes_and_pops_follow_the_model`: an arbitrary sequence of
//!   pushes (submissions) and pops (letting the running body finish, so the
//!   thread takes the next task), checked step by step against a model queue.
//!   Each body announces that it started and waits for its own go signal, so
//!   every step is driven by events, never by sleeping.

use pymt_core as pymt;

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use proptest::prelude::*;
use pymt::{Pool, Task, Worker};

const BOUND: Duration = Duration::from_secs(30);

/// A one-thread executor: the pool or the dedicated worker under test.
enum Exec {
    Pool(Pool),
    Worker(Worker),
}

impl Exec {
    fn new(worker: bool) -> Exec {
        if worker {
            Exec::Worker(Worker::new())
        } else {
            Exec::Pool(Pool::builder().max_workers(1).build().expect("valid"))
        }
    }

    fn submit(&self, priority: i32, f: impl FnOnce() + Send + 'static) -> Task<()> {
        match self {
            Exec::Pool(pool) => pool.submit_with_priority(priority, f),
            Exec::Worker(worker) => worker.submit_with_priority(priority, f),
        }
    }

    fn join(&self) -> bool {
        match self {
            Exec::Pool(pool) => pool.join(BOUND),
            Exec::Worker(worker) => worker.join(BOUND),
        }
    }
}

/// Priorities with many ties, the default lane (0) and the extremes.
fn priority() -> impl Strategy<Value = i32> {
    prop_oneof![
        6 => -3..=3i32,
        2 => -70..=70i32,
        1 => Just(i32::MIN),
        1 => Just(i32::MAX),
    ]
}

/// Starts a task that holds the executor's only thread until `go` fires;
/// returns once it runs.
fn occupy(exec: &Exec) -> (Task<()>, Sender<()>) {
    let (started_tx, started) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    let gate = exec.submit(0, move || {
        let _ = started_tx.send(());
        let _ = go_rx.recv_timeout(BOUND);
    });
    started
        .recv_timeout(BOUND)
        .unwrap_or_else(|_| panic!("gate task {} never started: {:?}", gate.id(), gate.state()));
    (gate, go)
}

fn run_batch(worker: bool, priorities: &[i32]) -> Result<(), TestCaseError> {
    let exec = Exec::new(worker);
    let (gate, go) = occupy(&exec);
    let order = Arc::new(Mutex::new(Vec::new()));
    let tasks: Vec<Task<()>> = priorities
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let order = Arc::clone(&order);
            exec.submit(p, move || {
                order.lock().unwrap_or_else(PoisonError::into_inner).push(i)
            })
        })
        .collect();
    go.send(()).expect("gate task waits");
    prop_assert!(gate.wait_timeout(BOUND), "gate {} stuck", gate.id());
    for (i, task) in tasks.iter().enumerate() {
        prop_assert!(
            task.wait_timeout(BOUND),
            "task {i} ({}, priority {}) stuck in {:?}",
            task.id(),
            priorities[i],
            task.state()
        );
    }
    prop_assert!(exec.join());
    let mut expected: Vec<usize> = (0..priorities.len()).collect();
    // `sort_by_key` is stable: submission order among equal priorities.
    expected.sort_by_key(|&i| std::cmp::Reverse(priorities[i]));
    let order = order.lock().unwrap_or_else(PoisonError::into_inner).clone();
    prop_assert_eq!(order, expected);
    Ok(())
}

/// One step of the interleaved property.
#[derive(Clone, Debug)]
enum Op {
    /// Submit a task with this priority.
    Push(i32),
    /// Let the running body finish: the thread takes the next task.
    Pop,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => priority().prop_map(Op::Push),
        2 => Just(Op::Pop),
    ]
}

/// The model: a list kept in pop order (stable by descending priority).
#[derive(Default)]
struct Model {
    queue: VecDeque<(i32, usize)>,
}

impl Model {
    fn push(&mut self, priority: i32, index: usize) {
        // After every entry of priority >= this one: FIFO among equals.
        let at = self
            .queue
            .iter()
            .position(|&(p, _)| p < priority)
            .unwrap_or(self.queue.len());
        self.queue.insert(at, (priority, index));
    }

    fn pop(&mut self) -> Option<usize> {
        self.queue.pop_front().map(|(_, index)| index)
    }
}

fn run_interleaved(worker: bool, ops: &[Op]) -> Result<(), TestCaseError> {
    let exec = Exec::new(worker);
    let (started_tx, started) = mpsc::channel::<usize>();
    // Index 0 is the gate; pushed tasks are numbered from 1.
    let mut go: Vec<Sender<()>> = Vec::new();
    let mut tasks: Vec<Task<()>> = Vec::new();
    let mut spawn = |priority: i32, go: &mut Vec<Sender<()>>| {
        let index = go.len();
        let (go_tx, go_rx): (Sender<()>, Receiver<()>) = mpsc::channel();
        let started_tx = started_tx.clone();
        go.push(go_tx);
        tasks.push(exec.submit(priority, move || {
            let _ = started_tx.send(index);
            let _ = go_rx.recv_timeout(BOUND);
        }));
        index
    };
    let mut model = Model::default();
    let gate = spawn(0, &mut go);
    let mut running = Some(gate);
    prop_assert_eq!(started.recv_timeout(BOUND).ok(), Some(gate));

    let mut popped = 0;
    let mut step = |running: &mut Option<usize>,
                    model: &mut Model,
                    go: &[Sender<()>]|
     -> Result<(), TestCaseError> {
        // Let the running body finish; the thread then takes the model's
        // next task, or goes idle if the model is empty.
        if let Some(current) = running.take() {
            go[current].send(()).expect("the running body waits for go");
        }
        if let Some(next) = model.pop() {
            let got = started.recv_timeout(BOUND).ok();
            prop_assert_eq!(got, Some(next), "pop #{}", popped);
            *running = Some(next);
        }
        popped += 1;
        Ok(())
    };
    for op in ops {
        match *op {
            Op::Push(priority) => {
                let index = spawn(priority, &mut go);
                if running.is_none() {
                    // Idle thread: the task runs at once (wait for it, so
                    // later pushes queue behind it as the model says).
                    prop_assert_eq!(started.recv_timeout(BOUND).ok(), Some(index));
                    running = Some(index);
                } else {
                    model.push(priority, index);
                }
            }
            Op::Pop => step(&mut running, &mut model, &go)?,
        }
    }
    while running.is_some() {
        step(&mut running, &mut model, &go)?;
    }
    prop_assert!(model.queue.is_empty());
    for (i, task) in tasks.iter().enumerate() {
        prop_assert!(
            task.wait_timeout(BOUND),
            "task {i} ({}) stuck in {:?}",
            task.id(),
            task.state()
        );
    }
    prop_assert!(exec.join());
    Ok(())
}

proptest! {
    // 64 cases keep CI fast; a failing case shrinks for at most 20 s (each
    // failing run of a hang costs a bound).
    #![proptest_config(ProptestConfig {
        cases: 64,
        max_shrink_time: 20_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn batch_order_is_a_stable_sort_by_priority(
        worker in any::<bool>(),
        priorities in prop::collection::vec(priority(), 0..40),
    ) {
        run_batch(worker, &priorities)?;
    }

    #[test]
    fn interleaved_pushes_and_pops_follow_the_model(
        worker in any::<bool>(),
        ops in prop::collection::vec(op(), 0..40),
    ) {
        run_interleaved(worker, &ops)?;
    }
}
