//! A panic nobody read is reported once through `log` at error level, naming
//! the task, its pool and the panic message; a panic that was read is not.
//!
//! One capturing logger serves the whole file. Tests run in parallel, so
//! each uses a panic message of its own and looks only at records carrying
//! it.

use pymt_core as pymt;

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Once, PoisonError};

use common::{block_on, join, occupy, OpenOnDrop, LONG};
use pymt::{Pool, TaskBuilder, TaskSet};

struct Capture;

static RECORDS: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        RECORDS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((record.level(), record.args().to_string()));
    }

    fn flush(&self) {}
}

static LOGGER: Capture = Capture;

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        log::set_logger(&LOGGER).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// The captured records mentioning `needle`.
fn records(needle: &str) -> Vec<(log::Level, String)> {
    RECORDS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|(_, text)| text.contains(needle))
        .cloned()
        .collect()
}

/// Asserts exactly one error-level report naming the task, the pool and the message.
#[track_caller]
fn assert_reported_once(message: &str, task: &str, pool: &str) {
    let found = records(message);
    assert_eq!(
        found.len(),
        1,
        "expected one report of {message:?}: {found:?}"
    );
    let (level, text) = &found[0];
    assert_eq!(*level, log::Level::Error, "{text}");
    assert!(
        text.contains(task),
        "the report does not name {task}: {text}"
    );
    assert!(
        text.contains(pool),
        "the report does not name pool {pool}: {text}"
    );
}

#[track_caller]
fn assert_not_reported(message: &str) {
    let found = records(message);
    assert!(found.is_empty(), "a read panic was reported: {found:?}");
}

fn one_worker() -> Pool {
    Pool::builder().max_workers(1).build().unwrap()
}

// ===== reported =====

#[test]
fn handle_dropped_before_the_panic_is_reported_once() {
    install();
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let t = pool.submit(|| -> u32 { panic!("unread-before") });
    let id = t.id().to_string();
    drop(t);
    gate.open();
    assert_eq!(join(blocker), Ok(true));
    // The report is made while the task finishes, before the pool is idle.
    assert!(pool.wait_completion(LONG));
    assert_reported_once("unread-before", &id, pool.name());
}

#[test]
fn handle_dropped_after_the_panic_is_reported_once() {
    install();
    let pool = Pool::new();
    let t = pool.submit(|| -> u32 { panic!("unread-after") });
    let id = t.id().to_string();
    assert!(t.wait_timeout(LONG), "waiting is not reading");
    assert!(t.is_done());
    assert_not_reported("unread-after");
    drop(t);
    assert_reported_once("unread-after", &id, pool.name());
}

#[test]
fn several_clones_dropped_unread_report_once() {
    install();
    let pool = Pool::new();
    let t = pool.submit(|| -> u32 { panic!("unread-clones") });
    let id = t.id().to_string();
    let clones: Vec<_> = (0..4).map(|_| t.clone()).collect();
    assert!(t.wait_timeout(LONG));
    drop(t);
    for (i, c) in clones.into_iter().enumerate() {
        assert_not_reported_while(i, "unread-clones");
        drop(c);
    }
    assert_reported_once("unread-clones", &id, pool.name());
}

#[track_caller]
fn assert_not_reported_while(clones_dropped: usize, message: &str) {
    assert!(
        records(message).is_empty(),
        "reported while a handle was still alive ({clones_dropped} clones dropped)"
    );
}

#[test]
fn a_named_task_in_a_named_pool_is_named_in_the_report() {
    install();
    let pool = Pool::builder()
        .name("unread-pool")
        .max_workers(1)
        .build()
        .unwrap();
    let t = TaskBuilder::new()
        .name("unread-job")
        .submit(&pool, || -> () { panic!("unread-named") });
    let id = t.id().to_string();
    assert!(t.wait_timeout(LONG));
    drop(t);
    assert_reported_once("unread-named", &id, "unread-pool");
    assert_reported_once("unread-named", "unread-job", "unread-pool");
    assert!(pool.join(LONG));
}

#[test]
fn a_spawned_task_is_reported_too() {
    install();
    let t = pymt::spawn(|| -> () { panic!("unread-spawned") });
    let id = t.id().to_string();
    assert!(t.wait_timeout(LONG));
    drop(t);
    let found = records("unread-spawned");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, log::Level::Error);
    assert!(found[0].1.contains(&id), "{}", found[0].1);
}

#[test]
fn a_worker_task_is_reported_naming_the_worker() {
    install();
    let worker = pymt::Worker::builder().name("unread-worker").build();
    let t = worker.submit(|| -> () { panic!("unread-on-worker") });
    let id = t.id().to_string();
    assert!(t.wait_timeout(LONG));
    drop(t);
    assert_reported_once("unread-on-worker", &id, "unread-worker");
    assert!(worker.join(LONG));
}

#[test]
fn dropped_through_a_task_set_or_wait_is_still_unread() {
    install();
    let pool = Pool::new();
    let t = pool.submit(|| -> () { panic!("unread-via-wait") });
    let id = t.id().to_string();
    let (done, pending) = pymt::wait(
        std::slice::from_ref(&t),
        pymt::ReturnWhen::AllCompleted,
        LONG,
    );
    assert_eq!((done.len(), pending.len()), (1, 0));
    drop((done, t));
    assert_reported_once("unread-via-wait", &id, pool.name());

    let t = pool.submit(|| -> () { panic!("unread-via-set") });
    let id = t.id().to_string();
    assert!(t.wait_timeout(LONG));
    let mut set = TaskSet::new();
    set.push(t);
    drop(set);
    assert_reported_once("unread-via-set", &id, pool.name());
}

// ===== not reported =====

#[test]
fn read_by_join_is_not_reported() {
    install();
    let t = one_worker().submit(|| -> () { panic!("read-join") });
    let clone = t.clone();
    assert!(join(t).unwrap_err().is_panic());
    drop(clone);
    assert_not_reported("read-join");
}

#[test]
fn read_by_result_is_not_reported() {
    install();
    let t = Pool::new().submit(|| -> u8 { panic!("read-result") });
    assert!(t.result_timeout(LONG).unwrap_err().is_panic());
    drop(t);
    assert_not_reported("read-result");
}

#[test]
fn read_by_try_result_is_not_reported() {
    install();
    let t = Pool::new().submit(|| -> u8 { panic!("read-try-result") });
    assert!(t.wait_timeout(LONG));
    assert!(t.try_result().unwrap().unwrap_err().is_panic());
    drop(t);
    assert_not_reported("read-try-result");
}

#[test]
fn read_by_error_is_not_reported() {
    install();
    let t = Pool::new().submit(|| -> u8 { panic!("read-error") });
    assert!(t.wait_timeout(LONG));
    assert!(t.error().unwrap().is_panic());
    drop(t);
    assert_not_reported("read-error");
}

#[test]
fn read_by_await_is_not_reported() {
    install();
    let t = Pool::new().submit(|| -> u8 { panic!("read-await") });
    assert!(block_on(t).unwrap_err().is_panic());
    assert_not_reported("read-await");
}

#[test]
fn read_by_an_on_done_callback_is_not_reported() {
    install();
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let t = pool.submit(|| -> u8 { panic!("read-on-done") });
    let (tx, rx) = mpsc::channel();
    t.on_done(move |r| tx.send(r.is_err()).unwrap());
    drop(t); // the callback is the only reader
    gate.open();
    assert_eq!(rx.recv_timeout(LONG), Ok(true));
    assert!(pool.wait_completion(LONG));
    assert_eq!(join(blocker), Ok(true));
    assert_not_reported("read-on-done");
}

#[test]
fn read_by_an_on_done_callback_on_a_finished_task_is_not_reported() {
    install();
    let t = Pool::new().submit(|| -> u8 { panic!("read-on-done-late") });
    assert!(t.wait_timeout(LONG));
    let seen = Arc::new(AtomicUsize::new(0));
    let s = Arc::clone(&seen);
    t.on_done(move |r| {
        if r.is_err() {
            s.fetch_add(1, Ordering::SeqCst);
        }
    });
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    drop(t);
    assert_not_reported("read-on-done-late");
}

#[test]
fn read_through_a_task_set_or_as_completed_is_not_reported() {
    install();
    let pool = Pool::new();
    let mut set = TaskSet::new();
    set.push(pool.submit(|| -> u8 { panic!("read-task-set") }));
    assert!(set.join_next_timeout(LONG).unwrap().unwrap_err().is_panic());
    drop(set);
    assert_not_reported("read-task-set");

    let t = pool.submit(|| -> u8 { panic!("read-as-completed") });
    assert!(t.wait_timeout(LONG));
    for t in pymt::as_completed(vec![t]) {
        assert!(t.join().unwrap_err().is_panic());
    }
    assert_not_reported("read-as-completed");
}

#[test]
fn read_by_one_clone_is_not_reported_when_the_others_drop() {
    install();
    let t = Pool::new().submit(|| -> u8 { panic!("read-one-clone") });
    let others: Vec<_> = (0..3).map(|_| t.clone()).collect();
    assert!(t.wait_timeout(LONG));
    assert!(t.error().unwrap().is_panic());
    drop(t);
    drop(others);
    assert_not_reported("read-one-clone");
}

/// True if `text` names the task `id` ("task#12" does not name "task#1").
fn mentions(text: &str, id: &str) -> bool {
    text.match_indices(id).any(|(at, _)| {
        !text[at + id.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

#[test]
fn success_cancellation_and_rejection_are_never_reported() {
    install();
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let ok = pool.submit(|| 1);
    let cancelled = pool.submit(|| 2);
    assert!(cancelled.cancel());
    let mut ids = vec![ok.id().to_string(), cancelled.id().to_string()];
    drop((ok, cancelled));
    gate.open();
    assert!(pool.join(LONG));
    let rejected = pool.submit(|| 3);
    assert!(rejected.wait_timeout(LONG));
    ids.push(rejected.id().to_string());
    drop(rejected);
    assert_eq!(join(blocker), Ok(true));
    let all = RECORDS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    for id in &ids {
        let found: Vec<_> = all.iter().filter(|(_, t)| mentions(t, id)).collect();
        assert!(found.is_empty(), "{id}: {found:?}");
    }
}

#[test]
fn a_panicking_on_done_callback_is_logged() {
    install();
    let t = Pool::new().submit(|| 1);
    t.on_done(|_| panic!("callback-logged"));
    assert_eq!(t.result_timeout(LONG), Ok(1));
    common::wait_for("the callback's panic to be logged", || {
        !records("callback-logged").is_empty()
    });
    let found = records("callback-logged");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, log::Level::Error);
}
