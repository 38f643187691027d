//! `Task<T>`: every method of the handle, `TaskError`, `current_task()`,
//! `stop_requested()`, `pymt::spawn`, `TaskBuilder` and `impl Future`.

use pymt_core as pymt;

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

use common::{block_on, join, ms, occupy, Gate, OpenOnDrop, Record, Started, LONG};
use pymt::{Pool, Task, TaskBuilder, TaskError, TaskId, TaskState};

fn one_worker() -> Pool {
    Pool::builder().max_workers(1).build().unwrap()
}

// ===== static properties =====

fn assert_clone_send_sync<T: Clone + Send + Sync>() {}
fn assert_id_traits<T: Copy + Eq + std::hash::Hash + std::fmt::Display + std::fmt::Debug>() {}
fn assert_state_traits<T: Copy + Eq + std::fmt::Debug>() {}
fn assert_error_traits<
    T: Clone + std::fmt::Debug + std::fmt::Display + std::error::Error + PartialEq + Send + Sync,
>() {
}

#[test]
fn handle_and_value_types_have_the_contract_traits() {
    assert_clone_send_sync::<Task<u32>>();
    assert_clone_send_sync::<Task<String>>();
    // `Clone + Send + Sync` whenever `T: Send`, even if `T` is not `Sync`.
    assert_clone_send_sync::<Task<std::cell::Cell<u32>>>();
    assert_clone_send_sync::<Task<mpsc::Receiver<u8>>>();
    assert_id_traits::<TaskId>();
    assert_state_traits::<TaskState>();
    assert_error_traits::<TaskError>();
}

// ===== id, name, priority =====

#[test]
fn ids_are_unique_and_shared_by_clones() {
    let tasks: Vec<Task<u32>> = (0..50).map(|i| pymt::spawn(move || i)).collect();
    let ids: HashSet<TaskId> = tasks.iter().map(Task::id).collect();
    assert_eq!(ids.len(), 50);
    let shown: HashSet<String> = tasks.iter().map(|t| t.id().to_string()).collect();
    assert_eq!(shown.len(), 50, "Display tells ids apart");
    for t in &tasks {
        assert_eq!(t.clone().id(), t.id());
    }
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(join(t), Ok(i as u32));
    }
}

#[test]
fn name_and_priority_are_as_submitted() {
    let pool = Pool::new();
    let plain = pool.submit(|| ());
    assert_eq!(plain.name(), None);
    assert_eq!(plain.priority(), 0);

    let ranked = pool.submit_with_priority(-7, || ());
    assert_eq!(ranked.priority(), -7);

    let built = TaskBuilder::new()
        .name("report")
        .priority(12)
        .submit(&pool, || ());
    assert_eq!(built.name(), Some("report"));
    assert_eq!(built.priority(), 12);
    assert_eq!(built.clone().name(), Some("report"));

    let spawned = TaskBuilder::new()
        .name(format!("job-{}", 3))
        .priority(2)
        .spawn(|| ());
    assert_eq!((spawned.name(), spawned.priority()), (Some("job-3"), 2));

    for t in [plain, ranked, built, spawned] {
        assert_eq!(join(t), Ok(()));
    }
}

// ===== state and predicates =====

#[test]
fn state_moves_pending_running_succeeded() {
    let pool = one_worker();
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let started = Started::new();
    let (g, tx) = (gate.clone(), started.sender());
    let running = pool.submit(move || {
        tx.send(()).unwrap();
        g.wait()
    });
    started.wait(1);
    let queued = pool.submit(|| 5);

    assert_eq!(running.state(), TaskState::Running);
    assert!(running.is_running());
    assert!(!running.is_done());
    assert!(!running.is_cancelled());

    assert_eq!(queued.state(), TaskState::Pending);
    assert!(!queued.is_running());
    assert!(!queued.is_done());
    assert!(!queued.is_cancelled());

    gate.open();
    assert_eq!(join(running.clone()), Ok(true));
    assert!(queued.wait_timeout(LONG));
    assert_eq!(queued.state(), TaskState::Succeeded);
    assert!(queued.is_done());
    assert!(!queued.is_running());
    assert!(!queued.is_cancelled());
    assert_eq!(running.state(), TaskState::Succeeded);
    assert_eq!(queued.join(), Ok(5));
}

#[test]
fn panicked_state_and_predicates() {
    let t = pymt::spawn(|| -> u8 { panic!("state-panic") });
    assert!(t.wait_timeout(LONG));
    assert_eq!(t.state(), TaskState::Panicked);
    assert!(t.is_done());
    assert!(!t.is_cancelled());
    assert!(!t.is_running());
    assert_eq!(
        t.join(),
        Err(TaskError::Panicked {
            message: "state-panic".into()
        })
    );
}

#[test]
fn state_is_final_matches_the_four_end_states() {
    assert!(!TaskState::Pending.is_final());
    assert!(!TaskState::Running.is_final());
    assert!(TaskState::Succeeded.is_final());
    assert!(TaskState::Panicked.is_final());
    assert!(TaskState::Cancelled.is_final());
    assert!(TaskState::Rejected.is_final());
}

// ===== wait / wait_timeout =====

#[test]
fn wait_timeout_is_false_while_running_and_true_once_done() {
    let pool = one_worker();
    let (gate, t) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    assert!(!t.wait_timeout(ms(20)));
    assert!(!t.is_done());
    gate.open();
    assert!(t.wait_timeout(LONG));
    assert!(t.is_done());
    // Waiting again on a finished task returns at once.
    assert!(t.wait_timeout(ms(0)));
    t.wait();
    assert_eq!(t.join(), Ok(true));
}

#[test]
fn wait_returns_for_every_end_state() {
    let ok = pymt::spawn(|| 1);
    let bad = pymt::spawn(|| -> i32 { panic!("wait-all-states") });
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let cancelled = pool.submit(|| 3);
    assert!(cancelled.cancel());
    gate.open();
    assert!(pool.join(LONG));
    let rejected = pool.submit(|| 4);
    for t in [&ok, &bad, &cancelled, &rejected] {
        assert!(t.wait_timeout(LONG), "{t:?}");
        t.wait();
    }
    assert_eq!(ok.state(), TaskState::Succeeded);
    assert_eq!(bad.state(), TaskState::Panicked);
    assert_eq!(cancelled.state(), TaskState::Cancelled);
    assert_eq!(rejected.state(), TaskState::Rejected);
    assert_eq!(join(blocker), Ok(true));
}

// ===== join / result / result_timeout / try_result / error =====

#[test]
fn join_moves_the_value_and_clones_then_see_taken() {
    let t = pymt::spawn(|| String::from("value"));
    let (a, b, c) = (t.clone(), t.clone(), t.clone());
    assert_eq!(join(t), Ok("value".to_owned()));
    assert_eq!(a.join(), Err(TaskError::Taken));
    assert_eq!(b.result(), Err(TaskError::Taken));
    assert_eq!(b.try_result(), Some(Err(TaskError::Taken)));
    assert_eq!(b.result_timeout(ms(1)), Err(TaskError::Taken));
    assert_eq!(block_on(c), Err(TaskError::Taken));
    // The task itself still succeeded.
    assert_eq!(b.state(), TaskState::Succeeded);
}

#[test]
fn a_failure_stays_readable_by_every_clone() {
    let t = pymt::spawn(|| -> String { panic!("every-clone") });
    let clones: Vec<_> = (0..3).map(|_| t.clone()).collect();
    let expected = Err(TaskError::Panicked {
        message: "every-clone".into(),
    });
    assert_eq!(join(t), expected);
    for c in &clones {
        assert_eq!(c.result_timeout(LONG), expected);
        assert_eq!(c.try_result(), Some(expected.clone()));
    }
    for c in clones {
        assert_eq!(c.join(), expected);
    }
}

#[test]
fn result_clones_the_value_repeatedly() {
    let t = pymt::spawn(|| vec![1, 2, 3]);
    assert_eq!(t.result_timeout(LONG), Ok(vec![1, 2, 3]));
    assert_eq!(t.result(), Ok(vec![1, 2, 3]));
    assert_eq!(t.clone().result(), Ok(vec![1, 2, 3]));
    assert_eq!(t.join(), Ok(vec![1, 2, 3]));
}

#[test]
fn result_timeout_times_out_then_succeeds() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    assert_eq!(blocker.result_timeout(ms(10)), Err(TaskError::Timeout));
    assert!(!blocker.is_done(), "a timed-out wait leaves the task alone");
    gate.open();
    assert_eq!(blocker.result_timeout(LONG), Ok(true));
}

#[test]
fn try_result_is_none_until_done() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let queued = pool.submit(|| 9);
    assert_eq!(blocker.try_result(), None);
    assert_eq!(queued.try_result(), None);
    gate.open();
    assert!(queued.wait_timeout(LONG));
    assert_eq!(queued.try_result(), Some(Ok(9)));
    assert_eq!(queued.try_result(), Some(Ok(9)), "non-destructive");
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn error_reports_the_failure_or_none() {
    let ok = pymt::spawn(|| 1);
    let bad = pymt::spawn(|| -> i32 { panic!("error-method") });
    assert!(ok.wait_timeout(LONG) && bad.wait_timeout(LONG));
    assert_eq!(ok.error(), None);
    assert_eq!(
        bad.error(),
        Some(TaskError::Panicked {
            message: "error-method".into()
        })
    );
    // error() does not consume the value.
    assert_eq!(ok.join(), Ok(1));

    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let queued = pool.submit(|| 2);
    assert!(queued.cancel());
    assert_eq!(queued.error(), Some(TaskError::Cancelled));
    gate.open();
    assert!(pool.join(LONG));
    assert_eq!(pool.submit(|| 3).error(), Some(TaskError::Rejected));
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn panic_message_of_a_string_payload_and_of_a_non_string_payload() {
    let formatted = pymt::spawn(|| -> () { panic!("code {}", 42) });
    assert_eq!(
        join(formatted),
        Err(TaskError::Panicked {
            message: "code 42".into()
        })
    );
    let opaque = pymt::spawn(|| -> () { std::panic::panic_any(17_u32) });
    let err = join(opaque).unwrap_err();
    assert!(err.is_panic());
    assert!(err.panic_message().is_some());
}

// ===== cancel / request_stop =====

#[test]
fn cancel_a_queued_task() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let ran = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&ran);
    let queued = pool.submit(move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    assert!(queued.cancel());
    assert!(!queued.cancel(), "a second cancel finds it already done");
    assert!(queued.is_done());
    assert!(queued.is_cancelled());
    assert_eq!(queued.state(), TaskState::Cancelled);
    gate.open();
    assert_eq!(join(blocker), Ok(true));
    assert!(pool.wait_completion(LONG));
    assert_eq!(ran.load(Ordering::SeqCst), 0, "a cancelled task never runs");
    assert_eq!(queued.join(), Err(TaskError::Cancelled));
}

#[test]
fn cancel_is_false_once_running_or_done() {
    let pool = one_worker();
    let (gate, running) = occupy(&pool);
    assert!(!running.cancel());
    assert_eq!(running.state(), TaskState::Running);
    gate.open();
    assert!(running.wait_timeout(LONG));
    assert!(!running.cancel());
    assert!(!running.is_cancelled());
    assert_eq!(running.join(), Ok(true));
}

#[test]
fn request_stop_cancels_a_pending_task() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let queued = pool.submit(|| 1);
    queued.request_stop();
    assert_eq!(queued.state(), TaskState::Cancelled);
    gate.open();
    assert_eq!(join(queued), Err(TaskError::Cancelled));
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn request_stop_is_seen_by_a_running_body() {
    let started = Started::new();
    let tx = started.sender();
    let t = pymt::spawn(move || {
        assert!(!pymt::stop_requested());
        assert!(!pymt::current_task().unwrap().stop_requested());
        tx.send(()).unwrap();
        let deadline = std::time::Instant::now() + LONG;
        while !pymt::stop_requested() {
            if std::time::Instant::now() > deadline {
                return Err("stop never seen");
            }
            thread::yield_now();
        }
        if pymt::current_task().unwrap().stop_requested() {
            Ok("stopped")
        } else {
            Err("context disagrees")
        }
    });
    started.wait(1);
    t.request_stop();
    assert_eq!(join(t), Ok(Ok("stopped")));
}

// ===== on_done =====

#[test]
fn on_done_runs_once_on_the_finishing_thread() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let t = pool.submit(|| 5);
    let (tx, rx) = mpsc::channel();
    t.on_done(move |r| {
        tx.send((r.clone(), thread::current().name().map(str::to_owned)))
            .unwrap();
    });
    gate.open();
    let (result, thread_name) = rx.recv_timeout(LONG).unwrap();
    assert_eq!(result, Ok(5));
    let thread_name = thread_name.expect("pool threads are named");
    assert!(
        thread_name.starts_with(&format!("{}-", pool.name())),
        "ran on {thread_name}, not a worker of {}",
        pool.name()
    );
    assert!(rx.recv_timeout(ms(20)).is_err(), "runs only once");
    assert_eq!(join(t), Ok(5), "the callback does not take the value");
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn on_done_on_a_finished_task_runs_synchronously_on_the_caller() {
    let t = pymt::spawn(|| 8);
    assert!(t.wait_timeout(LONG));
    let caller = thread::current().id();
    let seen = Record::new();
    let s = seen.clone();
    t.on_done(move |r| s.push((r.clone(), thread::current().id())));
    assert_eq!(seen.get(), vec![(Ok(8), caller)]);
    assert_eq!(t.join(), Ok(8));
}

#[test]
fn on_done_sees_every_outcome() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let ok = pool.submit(|| 1);
    let bad = pool.submit(|| -> i32 { panic!("on-done-outcome") });
    let cancelled = pool.submit(|| 3);
    let seen = Record::new();
    for (tag, t) in [("ok", &ok), ("bad", &bad), ("cancelled", &cancelled)] {
        let s = seen.clone();
        t.on_done(move |r| s.push((tag, r.clone())));
    }
    assert!(cancelled.cancel());
    gate.open();
    assert!(pool.join(LONG));
    let rejected = pool.submit(|| 4);
    let s = seen.clone();
    rejected.on_done(move |r| s.push(("rejected", r.clone())));
    let mut all = seen.get();
    all.sort_by_key(|(tag, _)| *tag);
    assert_eq!(
        all,
        vec![
            (
                "bad",
                Err(TaskError::Panicked {
                    message: "on-done-outcome".into()
                })
            ),
            ("cancelled", Err(TaskError::Cancelled)),
            ("ok", Ok(1)),
            ("rejected", Err(TaskError::Rejected)),
        ]
    );
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn several_on_done_callbacks_all_run() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let t = pool.submit(|| 2);
    let count = Arc::new(AtomicUsize::new(0));
    for _ in 0..5 {
        let c = Arc::clone(&count);
        t.on_done(move |r| {
            assert_eq!(r, &Ok(2));
            c.fetch_add(1, Ordering::SeqCst);
        });
    }
    gate.open();
    assert!(t.wait_timeout(LONG));
    assert_eq!(count.load(Ordering::SeqCst), 5);
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn a_panicking_on_done_callback_is_contained() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let t = pool.submit(|| 10);
    let after = Arc::new(AtomicUsize::new(0));
    t.on_done(|_| panic!("callback-panic"));
    let a = Arc::clone(&after);
    t.on_done(move |_| {
        a.fetch_add(1, Ordering::SeqCst);
    });
    gate.open();
    assert_eq!(t.result_timeout(LONG), Ok(10), "the task is unharmed");
    assert_eq!(t.state(), TaskState::Succeeded);
    assert_eq!(after.load(Ordering::SeqCst), 1, "later callbacks still run");
    // The pool is unharmed: its worker keeps serving.
    assert_eq!(join(pool.submit(|| 11)), Ok(11));
    assert!(pool.wait_completion(LONG));
    let stats = pool.stats();
    assert_eq!((stats.completed, stats.panicked), (3, 0));
    // A panicking callback on an already finished task does not reach the caller.
    t.on_done(|_| panic!("late-callback-panic"));
    assert_eq!(t.join(), Ok(10));
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn an_on_done_callback_that_waits_on_its_own_task_does_not_deadlock() {
    let t = pymt::spawn(|| 4);
    let me = t.clone();
    let (tx, rx) = mpsc::channel();
    t.on_done(move |_| {
        // Not allowed (documented to panic, contained); must not hang.
        let _ = tx.send(());
        let _ = me.result();
    });
    assert!(rx.recv_timeout(LONG).is_ok());
    assert_eq!(t.result_timeout(LONG), Ok(4));
}

// ===== impl Future =====

#[test]
fn await_a_task_with_a_hand_written_executor() {
    let pool = Pool::new();
    let a = pool.submit(|| 20);
    let b = pymt::spawn(|| 22);
    let sum = block_on(async move { a.await.unwrap() + b.await.unwrap() });
    assert_eq!(sum, 42);
    let failed = pymt::spawn(|| -> u8 { panic!("await-panic") });
    assert_eq!(
        block_on(failed),
        Err(TaskError::Panicked {
            message: "await-panic".into()
        })
    );
}

struct CountingWaker {
    wakes: AtomicUsize,
    tx: std::sync::Mutex<mpsc::Sender<()>>,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        let _ = self.tx.lock().unwrap().send(());
    }
}

#[test]
fn polling_a_pending_task_registers_the_waker() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let (tx, rx) = mpsc::channel();
    let counting = Arc::new(CountingWaker {
        wakes: AtomicUsize::new(0),
        tx: std::sync::Mutex::new(tx),
    });
    let waker = Waker::from(Arc::clone(&counting));
    let mut cx = Context::from_waker(&waker);
    let mut task = std::pin::pin!(pool.submit(|| "late"));
    assert!(task.as_mut().poll(&mut cx).is_pending());
    assert!(
        task.as_mut().poll(&mut cx).is_pending(),
        "polling twice is fine"
    );
    assert_eq!(counting.wakes.load(Ordering::SeqCst), 0);
    gate.open();
    rx.recv_timeout(LONG)
        .expect("the waker is woken on completion");
    assert_eq!(task.as_mut().poll(&mut cx), Poll::Ready(Ok("late")));
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn await_after_join_on_a_clone_is_taken() {
    let t = pymt::spawn(|| 1);
    let other = t.clone();
    assert_eq!(join(t), Ok(1));
    assert_eq!(block_on(other), Err(TaskError::Taken));
}

#[test]
fn await_moves_the_value_out() {
    let t = pymt::spawn(|| String::from("once"));
    let other = t.clone();
    assert_eq!(block_on(t), Ok("once".to_owned()));
    assert_eq!(other.result_timeout(LONG), Err(TaskError::Taken));
}

// ===== current_task / stop_requested =====

#[test]
fn current_task_outside_a_task_is_none() {
    assert!(pymt::current_task().is_none());
    assert!(!pymt::stop_requested());
    let plain = thread::spawn(|| (pymt::current_task().is_none(), pymt::stop_requested()))
        .join()
        .unwrap();
    assert_eq!(plain, (true, false));
}

#[test]
fn current_task_inside_a_task_describes_it() {
    let pool = Pool::new();
    let t = TaskBuilder::new()
        .name("ctx")
        .priority(4)
        .submit(&pool, || {
            let me = pymt::current_task().expect("inside a task");
            (
                me.id(),
                me.name().map(str::to_owned),
                me.priority(),
                me.stop_requested(),
                pymt::stop_requested(),
            )
        });
    let id = t.id();
    assert_eq!(join(t), Ok((id, Some("ctx".to_owned()), 4, false, false)));
    let spawned = pymt::spawn(|| pymt::current_task().map(|c| (c.id(), c.name().is_none())));
    let id = spawned.id();
    assert_eq!(join(spawned), Ok(Some((id, true))));
    // The context is gone once the body returned (the worker thread is reused).
    assert_eq!(
        join(pool.submit(|| pymt::current_task().map(|c| c.priority()))),
        Ok(Some(0))
    );
}

#[test]
fn a_task_run_inline_sees_its_own_context() {
    let pool = one_worker();
    let p = pool.clone();
    let outer = pool.submit(move || {
        let outer_id = pymt::current_task().unwrap().id();
        let inner = TaskBuilder::new().name("inner").priority(3).submit(&p, || {
            let me = pymt::current_task().unwrap();
            (me.id(), me.name().map(str::to_owned), me.priority())
        });
        let inner_id = inner.id();
        let seen = inner.result_timeout(LONG);
        let after = pymt::current_task().unwrap().id();
        (outer_id, inner_id, seen, after)
    });
    let outer_id = outer.id();
    let (seen_outer, inner_id, inner_seen, after) = join(outer).unwrap();
    assert_eq!(seen_outer, outer_id);
    assert_eq!(inner_seen, Ok((inner_id, Some("inner".to_owned()), 3)));
    assert_eq!(after, outer_id, "the outer context is restored");
}

// ===== spawn / TaskBuilder =====

#[test]
fn spawn_runs_on_a_new_thread() {
    let here = thread::current().id();
    let t = pymt::spawn(move || thread::current().id() != here);
    assert_eq!(join(t), Ok(true));
    let a = pymt::spawn(|| thread::current().id());
    let b = pymt::spawn(|| thread::current().id());
    assert_ne!(join(a).unwrap(), join(b).unwrap());
}

#[test]
fn task_builder_names_the_spawned_thread() {
    let t = TaskBuilder::new()
        .name("named-spawn")
        .spawn(|| thread::current().name().map(str::to_owned));
    assert_eq!(join(t), Ok(Some("named-spawn".to_owned())));
    assert_eq!(join(TaskBuilder::new().spawn(|| 3)), Ok(3));
    assert_eq!(join(TaskBuilder::default().spawn(|| 4)), Ok(4));
}

#[test]
fn task_builder_submits_to_pools_and_workers() {
    let pool = Pool::new();
    let t = TaskBuilder::new().name("p").priority(1).submit(&pool, || 1);
    assert_eq!((t.name(), t.priority()), (Some("p"), 1));
    assert_eq!(join(t), Ok(1));

    let t = TaskBuilder::new()
        .priority(-1)
        .try_submit(&pool, || 2)
        .expect("unbounded queue");
    assert_eq!(t.priority(), -1);
    assert_eq!(join(t), Ok(2));

    let worker = pymt::Worker::new();
    let t = TaskBuilder::new()
        .name("w")
        .priority(5)
        .submit_to_worker(&worker, || 3);
    assert_eq!((t.name(), t.priority()), (Some("w"), 5));
    assert_eq!(join(t), Ok(3));
    assert!(worker.join(LONG));

    assert!(pool.join(LONG));
    let refused = TaskBuilder::new().try_submit(&pool, || 4).unwrap_err();
    assert!(refused.is_shutdown());
    assert_eq!(refused.into_inner()(), 4);
}

#[test]
fn task_debug_and_display_name_the_task() {
    let t = TaskBuilder::new().name("shown").spawn(|| ());
    let display = t.to_string();
    assert!(display.contains(&t.id().to_string()), "{display}");
    assert!(display.contains("shown"), "{display}");
    let debug = format!("{t:?}");
    assert!(debug.contains("shown"), "{debug}");
    assert_eq!(join(t), Ok(()));
}

#[test]
fn dropping_a_handle_detaches_without_stopping_the_task() {
    let (tx, rx) = mpsc::channel();
    let pool = Pool::new();
    drop(pool.submit(move || tx.send(7).unwrap()));
    assert_eq!(rx.recv_timeout(LONG), Ok(7));
    drop(pymt::spawn(|| ()));
}

// ===== TaskError =====

#[test]
fn task_error_predicates() {
    let panicked = TaskError::Panicked {
        message: "m".into(),
    };
    assert!(panicked.is_panic());
    assert!(!panicked.is_cancelled());
    assert_eq!(panicked.panic_message(), Some("m"));
    assert!(TaskError::Cancelled.is_cancelled());
    assert!(!TaskError::Cancelled.is_panic());
    for e in [TaskError::Rejected, TaskError::Timeout, TaskError::Taken] {
        assert!(!e.is_panic(), "{e:?}");
        assert!(!e.is_cancelled(), "{e:?}");
        assert_eq!(e.panic_message(), None);
    }
}

#[test]
fn task_error_display_is_distinct_and_carries_the_panic_message() {
    let all = [
        TaskError::Panicked {
            message: "disk on fire".into(),
        },
        TaskError::Cancelled,
        TaskError::Rejected,
        TaskError::Timeout,
        TaskError::Taken,
    ];
    let shown: Vec<String> = all.iter().map(ToString::to_string).collect();
    assert!(shown[0].contains("disk on fire"), "{}", shown[0]);
    let distinct: HashSet<&String> = shown.iter().collect();
    assert_eq!(distinct.len(), all.len(), "{shown:?}");
    assert!(shown.iter().all(|s| !s.is_empty()));
    assert!(shown[1].to_lowercase().contains("cancel"), "{}", shown[1]);
    assert!(shown[2].to_lowercase().contains("reject"), "{}", shown[2]);
    assert!(shown[3].to_lowercase().contains("time"), "{}", shown[3]);
    assert!(shown[4].to_lowercase().contains("taken"), "{}", shown[4]);
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(all[0].clone());
    assert_eq!(boxed.to_string(), shown[0]);
    assert_eq!(all[1].clone(), TaskError::Cancelled);
    assert_ne!(all[1], all[2]);
}
