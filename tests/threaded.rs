//! `#[threaded]` on a new thread per call: every option, methods, generics,
//! patterns, `return` and `?`.

use std::num::ParseIntError;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use pymt::{threaded, Task, TaskError};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Adds two numbers on another thread.
#[threaded]
pub fn add(a: u32, b: u32) -> u32 {
    a + b
}

#[threaded]
fn where_am_i() -> ThreadId {
    thread::current().id()
}

#[threaded]
fn nothing() {}

#[test]
fn smoke() {
    let task: Task<u32> = add(2, 3);
    assert_eq!(task.join(), Ok(5));
}

#[test]
fn body_runs_on_another_thread() {
    let worker = where_am_i().join().unwrap();
    assert_ne!(worker, thread::current().id());
}

#[test]
fn unit_return_is_task_of_unit() {
    let task: Task<()> = nothing();
    assert!(task.wait_timeout(TIMEOUT));
    assert_eq!(task.join(), Ok(()));
}

// ===== priority and name =====

#[threaded(priority = -7)]
fn low() {}

#[threaded(priority = 2_000_000)]
fn high() {}

#[threaded(name = "resize")]
fn named() -> Option<String> {
    pymt::current_task().and_then(|ctx| ctx.name().map(str::to_owned))
}

#[test]
fn priority_is_set_on_the_task() {
    assert_eq!(low().priority(), -7);
    assert_eq!(high().priority(), 2_000_000);
    assert_eq!(nothing().priority(), 0);
}

#[test]
fn name_is_set_on_the_task_and_its_context() {
    let task = named();
    assert_eq!(task.name(), Some("resize"));
    assert_eq!(task.join(), Ok(Some("resize".to_owned())));
    assert_eq!(nothing().name(), None);
}

// ===== callback and on_error =====

static SUCCESSES: Mutex<Option<Sender<(u64, ThreadId)>>> = Mutex::new(None);
static FAILURES: Mutex<Option<Sender<(TaskError, ThreadId)>>> = Mutex::new(None);

#[allow(clippy::trivially_copy_pass_by_ref)] // the callback receives `&R`
fn record_success(value: &u64) {
    if let Some(tx) = &*SUCCESSES.lock().unwrap() {
        tx.send((*value, thread::current().id())).unwrap();
    }
}

fn record_failure(error: &TaskError) {
    if let Some(tx) = &*FAILURES.lock().unwrap() {
        tx.send((error.clone(), thread::current().id())).unwrap();
    }
}

#[threaded(callback = record_success, on_error = record_failure)]
fn explode(n: u64) -> u64 {
    if n > 0 {
        panic!("kaboom {n}");
    }
    n
}

/// Success and failure share the statics above, so they are one test.
#[test]
fn callback_and_on_error_run_on_the_body_thread() {
    let (ok_tx, ok_rx) = mpsc::channel();
    let (err_tx, err_rx) = mpsc::channel();
    *SUCCESSES.lock().unwrap() = Some(ok_tx);
    *FAILURES.lock().unwrap() = Some(err_tx);

    let ok = explode(0);
    assert_eq!(ok.join(), Ok(0));
    let (value, callback_thread) = ok_rx.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(value, 0);
    assert_ne!(callback_thread, thread::current().id());

    let failed = explode(3);
    let error = failed.join().unwrap_err();
    assert!(error.is_panic(), "{error:?}");
    let (reported, error_thread) = err_rx.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(reported, error);
    assert!(reported.to_string().contains("kaboom 3"), "{reported}");
    assert_ne!(error_thread, thread::current().id());

    // Neither hook fired for the other outcome.
    assert!(ok_rx.try_recv().is_err());
    assert!(err_rx.try_recv().is_err());
}

// ===== methods =====

#[derive(Debug)]
struct Counter {
    n: u32,
}

impl Counter {
    #[threaded]
    fn into_double(self) -> u32 {
        self.n * 2
    }

    #[threaded]
    fn bumped(mut self, by: u32) -> Self {
        self.n += by;
        self
    }

    #[threaded(name = "shared")]
    fn shared(self: Arc<Self>, extra: u32) -> u32 {
        self.n + extra
    }

    #[threaded]
    fn make(n: u32) -> Self {
        Self { n }
    }
}

#[test]
fn methods_taking_self_and_arc_self() {
    assert_eq!(Counter { n: 21 }.into_double().join(), Ok(42));
    assert_eq!(Counter { n: 1 }.bumped(2).join().unwrap().n, 3);
    let counter = Arc::new(Counter { n: 5 });
    let task = Arc::clone(&counter).shared(1);
    assert_eq!(task.name(), Some("shared"));
    assert_eq!(task.join(), Ok(6));
    assert_eq!(Arc::strong_count(&counter), 1);
    assert_eq!(Counter::make(9).join().unwrap().n, 9);
}

// ===== generics =====

#[threaded]
fn pair<T: Clone>(value: T) -> (T, T) {
    (value.clone(), value)
}

#[threaded]
fn longest<T>(items: Vec<T>) -> Option<T>
where
    T: AsRef<str>,
{
    items.into_iter().max_by_key(|s| s.as_ref().len())
}

#[threaded]
fn apply(f: impl FnOnce(u32) -> u32, x: u32) -> u32 {
    f(x)
}

#[threaded]
fn first<I: IntoIterator>(items: I) -> Option<I::Item> {
    items.into_iter().next()
}

#[test]
fn generic_functions() {
    assert_eq!(
        pair(String::from("a")).join().unwrap(),
        ("a".into(), "a".into())
    );
    assert_eq!(longest(vec!["a", "abc", "ab"]).join(), Ok(Some("abc")));
    let offset = 10;
    assert_eq!(apply(move |x| x + offset, 1).join(), Ok(11));
    assert_eq!(first(vec![7_u8, 8]).join(), Ok(Some(7)));
}

// ===== body semantics =====

#[threaded]
fn parse(text: String) -> Result<u32, ParseIntError> {
    let n: u32 = text.trim().parse()?;
    if n == 0 {
        return Ok(100);
    }
    Ok(n)
}

#[derive(Debug, Clone, Copy)]
struct Point {
    x: i32,
    y: i32,
}

#[threaded]
fn patterns((a, b): (i32, i32), Point { x, y }: Point, _: String, mut acc: Vec<i32>) -> Vec<i32> {
    acc.extend([a, b, x, y]);
    acc
}

#[test]
fn return_and_question_mark_leave_the_body() {
    assert_eq!(parse(" 12 ".into()).join().unwrap(), Ok(12));
    assert_eq!(parse("0".into()).join().unwrap(), Ok(100));
    assert!(parse("x".into()).join().unwrap().is_err());
}

#[test]
fn patterns_in_parameters() {
    let point = Point { x: 3, y: 4 };
    let task = patterns((1, 2), point, String::new(), vec![0]);
    assert_eq!(task.join(), Ok(vec![0, 1, 2, 3, 4]));
}

/// Reports the thread it is dropped on.
struct DropProbe(Sender<ThreadId>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        let _ = self.0.send(thread::current().id());
    }
}

#[threaded]
fn ignores_probe(_probe: DropProbe, n: u32) -> u32 {
    n
}

#[threaded]
fn uses_probe_field(probe: DropProbe) -> bool {
    probe.0.send(thread::current().id()).is_ok()
}

#[test]
fn arguments_are_moved_whole_and_dropped_by_the_body() {
    let (tx, rx) = mpsc::channel();
    assert_eq!(ignores_probe(DropProbe(tx.clone()), 1).join(), Ok(1));
    let dropped_on = rx.recv_timeout(TIMEOUT).unwrap();
    assert_ne!(dropped_on, thread::current().id());

    assert_eq!(uses_probe_field(DropProbe(tx)).join(), Ok(true));
    let sent_from = rx.recv_timeout(TIMEOUT).unwrap();
    let dropped_on = rx.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(sent_from, dropped_on);
}

#[threaded]
fn fail(message: String) {
    panic!("{message}");
}

#[test]
fn panics_are_captured() {
    let error = fail("no luck".into()).join().unwrap_err();
    assert!(error.is_panic());
    assert_eq!(
        error,
        TaskError::Panicked {
            message: "no luck".into()
        }
    );
}
