//! Regression tests: when a task ends, everything told about it (a
//! `pymt::wait`, an `as_completed` iterator, a `TaskSet`'s async waker) must
//! find it ended, and user code run at that moment must not run under the
//! task's own lock.
//!
//! The races are made deterministic with a `TaskSet` whose async waker is
//! user code that takes its time: its `wake` holds the thread that ends the
//! task (bounded) until the test lets it go. A waker is foreign code and may
//! take time, or poll a future inline; a waiter told about the task earlier
//! must not be affected by what a later listener does.
//!
//! The last tests check the same promise from the other side: a task seen
//! done through its handle has already been announced to the `TaskSet` /
//! `as_completed` / `wait` holding it.

use pymt_core as pymt;

mod common;

use std::panic;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Wake, Waker};
use std::thread;
use std::time::Duration;

use pymt::{Pool, ReturnWhen, Task, TaskError, TaskId, TaskSet, TaskState};

const BOUND: Duration = Duration::from_secs(30);
/// How long a waiter that was told of an end may take to act on it.
const PROMPT: Duration = Duration::from_secs(5);
const DELIBERATE: &str = "wake order: deliberate panic";

fn quiet_deliberate_panics() {
    common::quiet_deliberate_panics(DELIBERATE);
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A waker whose `wake` holds the waking thread until released (at most
/// `PROMPT * 2`).
struct HoldingWaker {
    release: Mutex<Option<Receiver<()>>>,
}

impl Wake for HoldingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(release) = lock(&self.release).take() {
            let _ = release.recv_timeout(PROMPT * 2);
        }
    }
}

/// A waker that holds the thread ending the task, and the sender that lets
/// it go.
fn holding_waker() -> (Waker, Sender<()>) {
    let (release, rx) = mpsc::channel();
    let waker = Waker::from(Arc::new(HoldingWaker {
        release: Mutex::new(Some(rx)),
    }));
    (waker, release)
}

/// A `TaskSet` holding `task`, polled once with `waker`: when `task` ends,
/// the set's signal wakes `waker` on the ending thread.
fn arm<T: Send + 'static>(task: Task<T>, waker: &Waker) -> TaskSet<T> {
    let mut set = TaskSet::new();
    set.push(task);
    assert!(set
        .poll_join_next(&mut Context::from_waker(waker))
        .is_pending());
    set
}

/// A task that ends (with `outcome`) when the returned sender fires.
fn gated<T: Send + 'static>(outcome: impl FnOnce() -> T + Send + 'static) -> (Task<T>, Sender<()>) {
    let (go, rx) = mpsc::channel::<()>();
    let task = pymt::spawn(move || {
        let _ = rx.recv_timeout(BOUND);
        outcome()
    });
    (task, go)
}

/// `as_completed` hands out a task only once it has ended: the yielded
/// handle reports `is_done()` and its result.
#[test]
fn as_completed_yields_only_ended_tasks() {
    let (ends, go) = gated(|| 7u32);
    // Told first: the iterator registers as it is made.
    let mut completed = pymt::as_completed(vec![ends.clone()]);
    // Told second: a waker that holds the ending thread.
    let (waker, release) = holding_waker();
    let _set = arm(ends.clone(), &waker);

    let (seen_tx, seen) = mpsc::channel();
    thread::spawn(move || {
        let task = completed.next().expect("one task");
        let _ = seen_tx.send((task.is_done(), task.state(), task.try_result()));
    });
    go.send(()).expect("the body waits for go");
    let got = seen.recv_timeout(PROMPT);
    release.send(()).ok();
    let got = got.expect("as_completed did not yield the task that ended");
    assert_eq!(
        got,
        (true, TaskState::Succeeded, Some(Ok(7))),
        "as_completed yielded {} before it had ended: (is_done, state, try_result)",
        ends.id()
    );
    assert_eq!(ends.result_timeout(BOUND), Ok(7));
}

/// `wait(FirstException)` returns as soon as a task panics, whatever later
/// listeners of that task do.
#[test]
fn wait_first_exception_sees_the_panic_that_woke_it() {
    quiet_deliberate_panics();
    let (ends, go) = gated(|| -> u32 { panic!("wake order: deliberate panic") });
    let (held, hold) = gated(|| 0u32);
    let (waker, release) = holding_waker();
    let armed: Arc<Mutex<Vec<TaskSet<u32>>>> = Arc::default();

    // The wait runs on the only worker of `pool`, and `trigger` is queued
    // there: `wait` registers on all its tasks, and `trigger` runs on the
    // worker the pool adds for the blocked one. The wait is told of `ends`
    // before the holding waker, which `trigger` arms before letting `ends`
    // panic.
    let pool = Pool::builder().max_workers(1).build().expect("valid");
    let (trigger_tx, trigger_rx) = mpsc::channel::<Task<u32>>();
    let (answer_tx, answer) = mpsc::channel::<(Vec<TaskId>, Vec<TaskId>)>();
    let (e, h) = (ends.clone(), held.clone());
    let waiter = pool.submit(move || {
        let trigger = trigger_rx.recv_timeout(BOUND).expect("trigger handle");
        let tasks = vec![trigger, e, h];
        let (done, pending) = pymt::wait(&tasks, ReturnWhen::FirstException, BOUND * 4);
        let ids = |t: &[Task<u32>]| t.iter().map(Task::id).collect::<Vec<_>>();
        let _ = answer_tx.send((ids(&done), ids(&pending)));
    });
    let (e, sets) = (ends.clone(), Arc::clone(&armed));
    let trigger = pool.submit(move || {
        lock(&sets).push(arm(e, &waker));
        go.send(()).expect("the body waits for go");
        1
    });
    trigger_tx.send(trigger.clone()).expect("the waiter waits");

    let got = answer.recv_timeout(PROMPT);
    release.send(()).ok();
    hold.send(()).ok();
    assert!(waiter.wait_timeout(BOUND), "{waiter:?}");
    let (done, pending) = got.unwrap_or_else(|_| {
        panic!(
            "wait(FirstException) did not return within {PROMPT:?} after {} panicked \
             (it returned only once {} ended too)",
            ends.id(),
            held.id()
        )
    });
    // `trigger` runs on the worker the pool adds while its only worker waits
    // (a timed wait never runs a task inline), so it may or may not have
    // ended when the wait returns; `ends` has, and `held` has not.
    assert!(done.contains(&ends.id()), "done {done:?}");
    assert!(pending.contains(&held.id()), "pending {pending:?}");
    assert!(!done.contains(&held.id()), "done {done:?}");
    assert_eq!(done.len() + pending.len(), 3);
}

/// A waker may read the task whose end woke it (as an executor that polls
/// inline from `wake` does): the task's lock is not held while wakers run.
#[test]
fn a_waker_may_read_the_task_that_woke_it() {
    let (ends, go) = gated(|| 5u32);
    let set = Arc::new(Mutex::new(TaskSet::new()));
    lock(&set).push(ends.clone());

    /// Polls the set inline when woken, and reports what it got.
    struct InlinePoll {
        set: Arc<Mutex<TaskSet<u32>>>,
        report: Mutex<Sender<Option<Result<u32, TaskError>>>>,
    }
    impl Wake for InlinePoll {
        fn wake(self: Arc<Self>) {
            let got = lock(&self.set).try_join_next();
            let _ = lock(&self.report).send(got);
        }
    }
    let (report, reported) = mpsc::channel();
    let waker = Waker::from(Arc::new(InlinePoll {
        set: Arc::clone(&set),
        report: Mutex::new(report),
    }));
    assert!(lock(&set)
        .poll_join_next(&mut Context::from_waker(&waker))
        .is_pending());
    go.send(()).expect("the body waits for go");
    // Only channels here: a deadlocked `wake` holds the task's lock, and any
    // handle method would block on it.
    let got = reported.recv_timeout(PROMPT).unwrap_or_else(|_| {
        panic!(
            "the waker polling the TaskSet inline did not finish within {PROMPT:?}: \
             {} is stuck ({:?}); its thread deadlocked on the task's own lock",
            ends.id(),
            ends.state()
        )
    });
    assert_eq!(got, Some(Ok(5)));
}

#[test]
fn try_join_next_sees_a_member_its_handle_saw_done() {
    let pool = pymt::Pool::builder().max_workers(2).build().unwrap();
    for round in 0..2_000 {
        let mut set = pymt::TaskSet::new();
        let task = pool.submit(move || round);
        set.push(task.clone());
        assert!(task.wait_timeout(common::LONG));
        assert_eq!(set.try_join_next(), Some(Ok(round)), "round {round}");
    }
}

#[test]
fn join_all_order_matches_the_order_handles_saw() {
    let pool = pymt::Pool::builder().max_workers(2).build().unwrap();
    for round in 0..500 {
        let mut set = pymt::TaskSet::new();
        let a = pool.submit(|| 'a');
        set.push(a.clone());
        assert!(a.wait_timeout(common::LONG));
        let b = pool.submit(|| 'b');
        set.push(b.clone());
        assert!(b.wait_timeout(common::LONG));
        let order: Vec<char> = set.join_all().into_iter().map(Result::unwrap).collect();
        assert_eq!(order, ['a', 'b'], "round {round}");
    }
}
