//! Property tests of `pymt::wait`'s three modes against a model of the
//! `concurrent.futures` rules:
//!
//! - `FirstCompleted`: returns once any task ended (at once when given none);
//! - `FirstException`: once any task panicked, or all ended (a cancellation
//!   is not an exception);
//! - `AllCompleted`: once every task ended.
//!
//! Each case makes tasks that succeed, panic or are cancelled, and the test
//! decides the order in which they end: a body waits for its own go signal,
//! and a task to be cancelled sits in the queue of a one-worker pool whose
//! worker is held by a gate task. Some tasks end before `wait` is called;
//! then a waiter thread calls `wait` (with an hour's timeout) while the test
//! ends the others one at a time, and must get its answer at the step the
//! model says, with `done` holding exactly the tasks that ended so far (in
//! input order) and `pending` the rest. A `wait` that returned too early is
//! caught by checking, before each step, that no answer arrived yet; one
//! that does not return, by a bounded receive that names what had ended.

use pymt_core as pymt;

mod common;

use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::Duration;

use proptest::prelude::*;
use pymt::{Pool, ReturnWhen, Task, TaskId, TaskState};

const BOUND: Duration = Duration::from_secs(30);
/// How long a `wait` whose condition was met may take to return: it is woken
/// by the completion itself, so this is generous even on a loaded machine.
const PROMPT: Duration = Duration::from_secs(5);
const DELIBERATE: &str = "wait: deliberate panic";

fn quiet_deliberate_panics() {
    common::quiet_deliberate_panics(DELIBERATE);
}

/// How a task ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Succeed,
    Panic,
    Cancel,
}

/// The model: is `when` satisfied once `ended` (in any order) of `total`
/// tasks have ended?
fn satisfied(when: ReturnWhen, ended: &[Outcome], total: usize) -> bool {
    match when {
        ReturnWhen::FirstCompleted => !ended.is_empty() || total == 0,
        ReturnWhen::FirstException => ended.len() == total || ended.contains(&Outcome::Panic),
        ReturnWhen::AllCompleted => ended.len() == total,
    }
}

/// One case: the tasks, the order they end in, how many end before `wait`.
#[derive(Clone, Debug)]
struct Case {
    outcomes: Vec<Outcome>,
    order: Vec<usize>,
    before: usize,
    when: ReturnWhen,
}

fn case() -> impl Strategy<Value = Case> {
    let outcome = prop_oneof![
        Just(Outcome::Succeed),
        Just(Outcome::Panic),
        Just(Outcome::Cancel)
    ];
    let when = prop_oneof![
        Just(ReturnWhen::FirstCompleted),
        Just(ReturnWhen::FirstException),
        Just(ReturnWhen::AllCompleted),
    ];
    (prop::collection::vec(outcome, 0..7), when).prop_flat_map(|(outcomes, when)| {
        let n = outcomes.len();
        (
            Just(outcomes),
            Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
            0..=n,
            Just(when),
        )
            .prop_map(|(outcomes, order, before, when)| Case {
                outcomes,
                order,
                before,
                when,
            })
    })
}

/// The tasks of one case and the means to end them.
struct Fixture {
    outcomes: Vec<Outcome>,
    tasks: Vec<Task<usize>>,
    /// Go signals of the bodies (`None` for tasks to cancel, or once sent).
    go: Vec<Option<Sender<()>>>,
    /// Holds the cancellable tasks in its queue.
    hold: Pool,
    gate: Sender<()>,
    gate_task: Task<usize>,
}

impl Fixture {
    fn new(outcomes: &[Outcome]) -> Fixture {
        let hold = Pool::builder().max_workers(1).build().expect("valid");
        let (started_tx, started) = mpsc::channel();
        let (gate, gate_rx) = mpsc::channel::<()>();
        let gate_task = hold.submit(move || {
            let _ = started_tx.send(());
            let _ = gate_rx.recv_timeout(BOUND);
            usize::MAX
        });
        started
            .recv_timeout(BOUND)
            .unwrap_or_else(|_| panic!("gate task {} never started", gate_task.id()));
        let mut tasks = Vec::new();
        let mut go = Vec::new();
        for (i, &outcome) in outcomes.iter().enumerate() {
            match outcome {
                Outcome::Cancel => {
                    tasks.push(hold.submit(move || i));
                    go.push(None);
                }
                Outcome::Succeed | Outcome::Panic => {
                    let (go_tx, go_rx) = mpsc::channel::<()>();
                    tasks.push(pymt::spawn(move || {
                        let _ = go_rx.recv_timeout(BOUND);
                        if outcome == Outcome::Panic {
                            panic!("wait: deliberate panic");
                        }
                        i
                    }));
                    go.push(Some(go_tx));
                }
            }
        }
        Fixture {
            outcomes: outcomes.to_vec(),
            tasks,
            go,
            hold,
            gate,
            gate_task,
        }
    }

    /// Ends task `i` as its outcome says, and waits until it has.
    fn end(&mut self, i: usize) -> Result<(), TestCaseError> {
        let task = &self.tasks[i];
        match self.outcomes[i] {
            Outcome::Cancel => prop_assert!(task.cancel(), "{:?} could not be cancelled", task),
            Outcome::Succeed | Outcome::Panic => {
                let go = self.go[i].take().expect("each task ends once");
                go.send(()).expect("the body waits for go");
                prop_assert!(
                    task.wait_timeout(BOUND),
                    "{} stuck in {:?}",
                    task.id(),
                    task.state()
                );
            }
        }
        let expected = match self.outcomes[i] {
            Outcome::Succeed => TaskState::Succeeded,
            Outcome::Panic => TaskState::Panicked,
            Outcome::Cancel => TaskState::Cancelled,
        };
        prop_assert_eq!(task.state(), expected);
        Ok(())
    }

    /// Ids of the tasks at `indices`, in input order.
    fn ids(&self, ended: &[usize], want_ended: bool) -> Vec<TaskId> {
        (0..self.tasks.len())
            .filter(|i| ended.contains(i) == want_ended)
            .map(|i| self.tasks[i].id())
            .collect()
    }

    /// Lets everything still pending end, and checks nothing hangs.
    fn finish(mut self) -> Result<(), TestCaseError> {
        for go in self.go.iter_mut().filter_map(Option::take) {
            let _ = go.send(());
        }
        let _ = self.gate.send(());
        prop_assert!(self.gate_task.wait_timeout(BOUND), "gate task stuck");
        prop_assert!(self.hold.join(BOUND), "{:?}", self.hold.stats());
        for task in &self.tasks {
            prop_assert!(
                task.wait_timeout(BOUND),
                "{} stuck in {:?}",
                task.id(),
                task.state()
            );
        }
        Ok(())
    }
}

fn ids(tasks: &[Task<usize>]) -> Vec<TaskId> {
    tasks.iter().map(Task::id).collect()
}

fn run(case: &Case) -> Result<(), TestCaseError> {
    let total = case.outcomes.len();
    let mut fx = Fixture::new(&case.outcomes);
    let mut ended: Vec<usize> = Vec::new();
    let outcomes_of =
        |ended: &[usize]| -> Vec<Outcome> { ended.iter().map(|&i| case.outcomes[i]).collect() };
    for &i in &case.order[..case.before] {
        fx.end(i)?;
        ended.push(i);
    }

    // A zero timeout reports the present, whatever the mode.
    let (done, pending) = pymt::wait(&fx.tasks, case.when, Duration::ZERO);
    prop_assert_eq!(ids(&done), fx.ids(&ended, true));
    prop_assert_eq!(ids(&pending), fx.ids(&ended, false));

    let answer = wait_on_thread(fx.tasks.clone(), case.when);
    let mut rest = case.order[case.before..].iter();
    loop {
        if satisfied(case.when, &outcomes_of(&ended), total) {
            let got = answer.recv_timeout(PROMPT);
            prop_assert!(
                got.is_ok(),
                "wait({:?}) did not return within {:?} once {:?} had ended",
                case.when,
                PROMPT,
                outcomes_of(&ended)
            );
            let (done, pending) = got.expect("checked");
            prop_assert_eq!(done, fx.ids(&ended, true));
            prop_assert_eq!(pending, fx.ids(&ended, false));
            break;
        }
        prop_assert!(
            answer.try_recv().is_err(),
            "wait({:?}) returned with only {:?} ended",
            case.when,
            outcomes_of(&ended)
        );
        // The model is satisfied at the latest once every task ended.
        let next = rest.next();
        prop_assert!(next.is_some(), "model never satisfied");
        let i = *next.expect("checked");
        fx.end(i)?;
        ended.push(i);
    }
    fx.finish()
}

/// Answers of a waiter thread: `(done, pending)` ids. Its own timeout is an
/// hour, far beyond the test's bound: only an event can end the wait in time.
fn wait_on_thread(
    tasks: Vec<Task<usize>>,
    when: ReturnWhen,
) -> Receiver<(Vec<TaskId>, Vec<TaskId>)> {
    let (answer_tx, answer) = mpsc::channel();
    thread::spawn(move || {
        let (done, pending) = pymt::wait(&tasks, when, Duration::from_secs(3600));
        let _ = answer_tx.send((ids(&done), ids(&pending)));
    });
    answer
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
    fn wait_follows_the_model(case in case()) {
        quiet_deliberate_panics();
        run(&case)?;
    }
}

#[test]
fn waiting_on_no_task_returns_at_once_in_every_mode() {
    for when in [
        ReturnWhen::FirstCompleted,
        ReturnWhen::FirstException,
        ReturnWhen::AllCompleted,
    ] {
        let answer = wait_on_thread(Vec::new(), when);
        let (done, pending) = answer
            .recv_timeout(PROMPT)
            .unwrap_or_else(|_| panic!("wait({when:?}) on no task did not return"));
        assert!(done.is_empty() && pending.is_empty(), "{when:?}");
    }
}

/// Many threads wait on the same tasks, one of which ends (panicking) when
/// the test says. Every wait must then return at once and report that task
/// as done: `FirstException` must see the panic, `FirstCompleted` and
/// `AllCompleted` must not put the task that woke them in `pending`. The
/// notice that wakes a wait and the state the wait then reads must agree;
/// many waiters widen the window between the first notice and the task's
/// final state becoming visible (each further notice takes time).
#[test]
fn every_waiter_sees_the_state_of_the_task_that_woke_it() {
    quiet_deliberate_panics();
    const WAITERS: usize = 16;
    const ROUNDS: usize = 20;
    for round in 0..ROUNDS {
        let mut wrong = Vec::new();
        for when in [
            ReturnWhen::FirstException,
            ReturnWhen::FirstCompleted,
            ReturnWhen::AllCompleted,
        ] {
            let (go_tx, go_rx) = mpsc::channel::<()>();
            let (hold_tx, hold_rx) = mpsc::channel::<()>();
            let ends = pymt::spawn(move || -> usize {
                let _ = go_rx.recv_timeout(BOUND);
                panic!("wait: deliberate panic");
            });
            let held = pymt::spawn(move || {
                let _ = hold_rx.recv_timeout(BOUND);
                0
            });
            // AllCompleted waits on the ending task alone.
            let tasks = if when == ReturnWhen::AllCompleted {
                vec![ends.clone()]
            } else {
                vec![ends.clone(), held.clone()]
            };
            let answers: Vec<_> = (0..WAITERS)
                .map(|_| wait_on_thread(tasks.clone(), when))
                .collect();
            go_tx.send(()).expect("the body waits for go");
            let deadline = std::time::Instant::now() + PROMPT;
            for (w, answer) in answers.iter().enumerate() {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                match answer.recv_timeout(left) {
                    Ok((done, _)) if done.first() == Some(&ends.id()) => {}
                    Ok((done, pending)) => wrong.push(format!(
                        "wait({when:?}) #{w} returned done {done:?}, pending {pending:?} though {} had ended",
                        ends.id()
                    )),
                    Err(_) => wrong.push(format!(
                        "wait({when:?}) #{w} did not return within {PROMPT:?} though {} had panicked",
                        ends.id()
                    )),
                }
            }
            let _ = hold_tx.send(());
            assert!(held.wait_timeout(BOUND), "{held:?}");
            assert!(ends.wait_timeout(BOUND), "{ends:?}");
        }
        assert!(
            wrong.is_empty(),
            "round {round}: {} of {} waits disagree with the state of the task that woke them: {wrong:#?}",
            wrong.len(),
            3 * WAITERS
        );
    }
}
