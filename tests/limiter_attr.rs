//! `#[limiter]` on plain functions, above `#[threaded]` (blocking or not) and
//! below it: at most `n` bodies at once, permits released on panic and on
//! cancellation, and a static `Limiter` shared by several functions.

use std::panic;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use pymt::{limiter, threaded, Limiter, Task, TaskError, TaskState};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Counts bodies running at once and keeps the highest count seen.
struct Gauge {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Gauge {
    const fn new() -> Self {
        Gauge {
            now: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Runs `f` counted as one body; sleeps a little so that bodies overlap.
    fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(2));
        let result = f();
        self.now.fetch_sub(1, Ordering::SeqCst);
        result
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// Calls `f` `calls` times from each of `threads` threads, all at once.
fn hammer(threads: usize, calls: usize, f: fn()) {
    let tasks: Vec<Task<()>> = (0..threads)
        .map(|_| pymt::spawn(move || (0..calls).for_each(|_| f())))
        .collect();
    for task in tasks {
        assert_eq!(task.result_timeout(TIMEOUT), Ok(()));
    }
}

// ===== on a plain function =====

static PLAIN: Gauge = Gauge::new();

#[limiter(2)]
fn plain() {
    PLAIN.run(|| ());
}

#[test]
fn plain_fn_runs_at_most_n_at_once() {
    hammer(6, 5, plain);
    let peak = PLAIN.peak();
    assert!((1..=2).contains(&peak), "peak {peak}");
}

const MAX_CALLS: usize = 3;
static WITH_CONST: Gauge = Gauge::new();

#[limiter(MAX_CALLS)]
fn with_const() {
    WITH_CONST.run(|| ());
}

#[test]
fn limit_can_be_a_const() {
    hammer(6, 5, with_const);
    let peak = WITH_CONST.peak();
    assert!((1..=MAX_CALLS).contains(&peak), "peak {peak}");
}

static PANICKY: Limiter = Limiter::new(1);

#[limiter(PANICKY)]
fn panicky(fail: bool) -> u32 {
    assert_eq!(PANICKY.available(), 0);
    assert!(!fail, "failing on purpose");
    7
}

#[test]
fn permit_is_released_when_the_body_panics() {
    assert!(panic::catch_unwind(|| panicky(true)).is_err());
    assert_eq!(PANICKY.available(), 1);
    assert_eq!(panicky(false), 7);
    assert_eq!(PANICKY.available(), 1);
}

// ===== a static limiter shared by two functions =====

static SHARED: Limiter = Limiter::new(1);
static SHARED_GAUGE: Gauge = Gauge::new();

#[limiter(SHARED)]
fn read() {
    SHARED_GAUGE.run(|| assert_eq!(SHARED.available(), 0));
}

#[limiter(SHARED)]
fn write() {
    SHARED_GAUGE.run(|| assert_eq!(SHARED.available(), 0));
}

#[test]
fn static_limiter_is_shared_by_functions() {
    let readers = pymt::spawn(|| hammer(3, 5, read));
    let writers = pymt::spawn(|| hammer(3, 5, write));
    assert_eq!(readers.result_timeout(TIMEOUT), Ok(()));
    assert_eq!(writers.result_timeout(TIMEOUT), Ok(()));
    assert_eq!(SHARED_GAUGE.peak(), 1);
    assert_eq!(SHARED.capacity(), 1);
    assert_eq!(SHARED.available(), 1);
}

// ===== above #[threaded]: the caller waits, the permit travels =====

static ABOVE: Limiter = Limiter::new(2);
static ABOVE_GAUGE: Gauge = Gauge::new();

#[limiter(ABOVE)]
#[threaded(pool_name = "limiter-above", max_workers = 4)]
fn above(n: u32) -> u32 {
    ABOVE_GAUGE.run(|| n * 2)
}

#[limiter(ABOVE)]
#[threaded]
fn above_gated(release: Receiver<()>) {
    release.recv_timeout(TIMEOUT).unwrap();
}

/// Both tests below use `ABOVE`, so they are one test.
#[test]
fn blocking_limiter_above_threaded() {
    // Permits travel with the tasks: two calls hold both until they end.
    let (release_tx, release_rx) = mpsc::channel();
    let (release2_tx, release2_rx) = mpsc::channel();
    let first = above_gated(release_rx);
    let second = above_gated(release2_rx);
    assert_eq!(ABOVE.available(), 0);
    release_tx.send(()).unwrap();
    release2_tx.send(()).unwrap();
    assert_eq!(first.join(), Ok(()));
    assert_eq!(second.join(), Ok(()));
    let both = [
        ABOVE.acquire_timeout(TIMEOUT),
        ABOVE.acquire_timeout(TIMEOUT),
    ];
    assert!(both.iter().all(Option::is_some), "permits were released");
    drop(both);

    // Many calls: never more than two bodies at once.
    let tasks: Vec<Task<u32>> = (0..12).map(above).collect();
    for (n, task) in (0..).zip(tasks) {
        assert_eq!(task.result_timeout(TIMEOUT), Ok(n * 2));
    }
    let peak = ABOVE_GAUGE.peak();
    assert!((1..=2).contains(&peak), "peak {peak}");
}

static QUEUED: Limiter = Limiter::new(2);

#[limiter(QUEUED)]
#[threaded(pool_name = "limiter-queued", max_workers = 1)]
fn queued(started: Option<Sender<()>>, release: Option<Receiver<()>>) {
    if let Some(started) = started {
        started.send(()).unwrap();
    }
    if let Some(release) = release {
        release.recv_timeout(TIMEOUT).unwrap();
    }
}

#[test]
fn cancelled_queued_task_releases_its_permit_at_once() {
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let running = queued(Some(started_tx), Some(release_rx));
    started_rx.recv_timeout(TIMEOUT).unwrap();
    let waiting = queued(None, None);
    assert_eq!(QUEUED.available(), 0);
    assert!(waiting.cancel());
    assert_eq!(QUEUED.available(), 1);
    release_tx.send(()).unwrap();
    assert_eq!(running.join(), Ok(()));
    assert_eq!(waiting.join(), Err(TaskError::Cancelled));
}

// ===== above #[threaded], blocking = false: the task waits, not the caller =====

static DEFERRED: Limiter = Limiter::new(1);
static STARTED: Mutex<Option<Sender<u32>>> = Mutex::new(None);

#[limiter(DEFERRED, blocking = false)]
#[threaded(pool_name = "limiter-deferred", max_workers = 4)]
fn deferred(n: u32, release: Option<Receiver<()>>) -> u32 {
    if let Some(tx) = &*STARTED.lock().unwrap() {
        tx.send(n).unwrap();
    }
    if let Some(release) = release {
        release.recv_timeout(TIMEOUT).unwrap();
    }
    n
}

#[test]
fn nonblocking_limiter_defers_the_task() {
    let (started_tx, started_rx) = mpsc::channel();
    *STARTED.lock().unwrap() = Some(started_tx);
    let (release_tx, release_rx) = mpsc::channel();

    // The calls run on a helper thread, so that a call that wrongly waited
    // for a permit fails this test instead of hanging it.
    let (tasks_tx, tasks_rx) = mpsc::channel();
    thread::spawn(move || {
        let first = deferred(1, Some(release_rx));
        let second = deferred(2, None);
        let third = deferred(3, None);
        tasks_tx.send((first, second, third)).unwrap();
    });
    let (first, second, third) = tasks_rx
        .recv_timeout(TIMEOUT)
        .expect("calls return at once, without waiting for a permit");

    assert_eq!(started_rx.recv_timeout(TIMEOUT), Ok(1));
    assert_eq!(second.state(), TaskState::Pending);
    assert_eq!(third.state(), TaskState::Pending);
    assert!(second.cancel());

    release_tx.send(()).unwrap();
    assert_eq!(first.join(), Ok(1));
    assert_eq!(third.result_timeout(TIMEOUT), Ok(3));
    assert_eq!(second.join(), Err(TaskError::Cancelled));
    // The cancelled task never ran: only 3 started after 1.
    assert_eq!(started_rx.recv_timeout(TIMEOUT), Ok(3));
    assert!(started_rx.try_recv().is_err());
    assert!(DEFERRED.acquire_timeout(TIMEOUT).is_some());
}

static DEFERRED_MANY: Gauge = Gauge::new();

#[limiter(2, blocking = false)]
#[threaded(pool_name = "limiter-deferred-many", max_workers = 4)]
fn deferred_many(n: u32) -> u32 {
    DEFERRED_MANY.run(|| n + 1)
}

#[test]
fn nonblocking_limiter_runs_at_most_n_bodies() {
    let tasks: Vec<Task<u32>> = (0..12).map(deferred_many).collect();
    for (n, task) in (0..).zip(tasks) {
        assert_eq!(task.result_timeout(TIMEOUT), Ok(n + 1));
    }
    let peak = DEFERRED_MANY.peak();
    assert!((1..=2).contains(&peak), "peak {peak}");
}

// ===== below #[threaded]: the body holds the permit on its worker =====

static BELOW: Gauge = Gauge::new();

#[threaded(pool_name = "limiter-below", max_workers = 4)]
#[limiter(1)]
fn below(n: u32) -> u32 {
    BELOW.run(|| n)
}

#[test]
fn limiter_below_threaded_limits_bodies() {
    let tasks: Vec<Task<u32>> = (0..8).map(below).collect();
    for (n, task) in (0..).zip(tasks) {
        assert_eq!(task.result_timeout(TIMEOUT), Ok(n));
    }
    assert_eq!(BELOW.peak(), 1);
}
