//! PyMultiTasking's README, snippet by snippet, in pymt.
//!
//! Every section quotes the Python it translates (seed 003 of the lineage,
//! in the order the README shows it) and then does the same thing with pymt.
//! Run with `cargo run --example pymultitasking_tour`.
//!
//! Python's `test(*args, **kwargs)` prints its arguments on the worker
//! thread; here it returns the line instead, and `main` prints the results,
//! so the output does not interleave.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use pymt::{limiter, threaded, Pool, Task};

/// Every blocking wait of this tour is bounded by this.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Positional arguments of `test`.
type Args = Vec<&'static str>;
/// Keyword arguments of `test`, in order.
type Kwargs = Vec<(&'static str, &'static str)>;

/// `def test(*args, **kwargs): print(f'{args} - {kwargs}')`
fn test(args: Args, kwargs: Kwargs) -> String {
    format!("{args:?} - {kwargs:?}")
}

fn section(title: &str) {
    println!("\n== {title}");
}

fn main() {
    pool_submit();
    pool_priority();
    pool_partial();
    pool_map();
    pool_wait_completion();
    pool_as_completed();
    decorator_threaded();
    decorator_daemon();
    decorator_pool();
    decorator_pool_name();
    decorator_callback();
    combined();
    limiter_blocking();
    limiter_non_blocking();

    section("the end: Pool.join_pools(timeout=60)");
    // The daemon worker ends with the process, like Python's daemon
    // threads; joining it first lets its queue finish.
    assert!(pymt::join_daemons(TIMEOUT), "daemon workers finish");
    assert!(Pool::join_pools(TIMEOUT), "every registered pool finishes");
    println!("every registered pool joined: {}", Pool::pools().is_empty());
}

// ===== PoolExamples =====

/// ```python
/// p1 = Pool()
/// task = p1.submit(test, "arg", example="kwargs")
/// ```
fn pool_submit() {
    section("Pool.submit");
    let p1 = Pool::new();
    let task = p1.submit(|| test(vec!["arg"], vec![("example", "kwargs")]));
    // The Task stores the result: `task.results` is `task.result()`.
    println!(
        "{task}: {}",
        task.result_timeout(TIMEOUT).expect("test runs")
    );
    assert!(p1.join(TIMEOUT));
}

/// ```python
/// task = p1.submit(test, "arg", example="kwargs", submit_task_priority=100) # The default priority is 10
/// if task.wait(10):
///     print(task.results)
/// else:
///     print(f"{task} not finished")
/// ```
///
/// PyMultiTasking's queue is a Python `PriorityQueue`, which pops the
/// *lowest* number first. pymt runs the *highest* priority first (default
/// 0), as seed 000's priority executor does; negate a PyMultiTasking
/// priority to keep its order.
fn pool_priority() {
    section("Pool.submit with a priority");
    let p1 = Pool::new();
    let task = p1.submit_with_priority(100, || test(vec!["arg"], vec![("example", "kwargs")]));
    if task.wait_timeout(TIMEOUT) {
        println!("{}", task.result().expect("test runs"));
    } else {
        println!("{task} not finished");
    }
    assert!(p1.join(TIMEOUT));

    // The order becomes visible once tasks have to queue: one worker, kept
    // busy until every submission is in.
    let one = Pool::builder()
        .max_workers(1)
        .build()
        .expect("valid settings");
    let (started, is_started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let busy = one.submit(move || {
        started.send(()).expect("main is waiting");
        released.recv_timeout(TIMEOUT).is_ok()
    });
    is_started
        .recv_timeout(TIMEOUT)
        .expect("the worker took the first task");
    let order = Arc::new(Mutex::new(Vec::new()));
    let _queued: Vec<Task<()>> = [1, 100, 10, -5, 10]
        .into_iter()
        .map(|priority| {
            let order = Arc::clone(&order);
            one.submit_with_priority(priority, move || {
                order
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(priority);
            })
        })
        .collect();
    release.send(()).expect("the first task is waiting");
    assert_eq!(busy.result_timeout(TIMEOUT), Ok(true));
    assert!(one.wait_completion(TIMEOUT));
    let order = order.lock().unwrap_or_else(PoisonError::into_inner).clone();
    println!("submitted priorities [1, 100, 10, -5, 10] ran as {order:?}");
    assert_eq!(
        order,
        [100, 10, 10, 1, -5],
        "highest first, FIFO among equals"
    );
    assert!(one.join(TIMEOUT));
}

/// ```python
/// func = partial(test, "arg", example="kwargs")
/// p1 = Pool()
/// p1.submit(func)
/// ```
///
/// A closure that captures its arguments is the partial.
fn pool_partial() {
    section("Pool.submit(partial)");
    let func = move || test(vec!["arg"], vec![("example", "kwargs")]);
    let p1 = Pool::new();
    let task = p1.submit(func);
    println!(
        "{}",
        task.result_timeout(TIMEOUT).expect("the partial runs")
    );
    assert!(p1.join(TIMEOUT));
}

fn arg1() -> (Args, Kwargs) {
    (vec!["arg"], vec![("example", "kwargs")])
}

fn arg2() -> (Args, Kwargs) {
    (vec!["arg2"], vec![("example2", "kwargs")])
}

/// ```python
/// arg1 = (("arg",), {"example": "kwargs"})
/// arg2 = (("arg2",), {"example2": "kwargs"})
/// p1 = Pool()
/// tasks = p1.map(test, [arg1, arg2])
/// ```
///
/// `map` gives one task per item, in input order; `map_chunked` with a
/// chunk size of 0 spreads the items evenly over the workers, as
/// PyMultiTasking's `chunksize=0` does.
fn pool_map() {
    section("Pool.map");
    let p1 = Pool::builder()
        .max_workers(2)
        .build()
        .expect("valid settings");
    let tasks = p1.map(|(args, kwargs)| test(args, kwargs), [arg1(), arg2()]);
    for task in &tasks {
        println!("{}", task.result_timeout(TIMEOUT).expect("map task"));
    }

    let items: Vec<u32> = (1..=5).collect();
    let chunks = p1.map_chunked(|n: u32| n * n, items, 0);
    let sizes: Vec<usize> = chunks
        .iter()
        .map(|t| t.result_timeout(TIMEOUT).expect("chunk").len())
        .collect();
    println!("5 items over 2 workers, chunksize 0: chunks of {sizes:?}");
    assert_eq!(sizes, [3, 2]);
    assert!(p1.join(TIMEOUT));
}

/// ```python
/// p1 = Pool()
/// p1.map(test, [arg1, arg2])
/// if p1.wait_completion(10, block=True):
///     print("The pool is finished work its current work load")
/// ```
///
/// `wait_completion(timeout, block=True)` is `drain(timeout)`: new
/// submissions from outside wait until it returns.
fn pool_wait_completion() {
    section("Pool.wait_completion(block=True)");
    let p1 = Pool::new();
    let _tasks = p1.map(|(args, kwargs)| test(args, kwargs), [arg1(), arg2()]);
    if p1.drain(TIMEOUT) {
        println!("The pool is finished work its current work load");
    }
    let stats = p1.stats();
    assert_eq!((stats.queued, stats.active, stats.completed), (0, 0, 2));
    assert!(p1.join(TIMEOUT));
}

/// ```python
/// p1 = Pool()
/// tasks = p1.map(test, [arg1, arg2])
/// for task in Pool.as_completed(tasks):
///     print(f"Task[{task}] completed with results: {task.results}")
/// ```
fn pool_as_completed() {
    section("Pool.as_completed");
    let p1 = Pool::new();
    let tasks = p1.map(|(args, kwargs)| test(args, kwargs), [arg1(), arg2()]);
    for task in Pool::as_completed(tasks) {
        println!(
            "Task[{task}] completed with results: {}",
            task.result().expect("map task")
        );
    }
    assert!(p1.join(TIMEOUT));
}

// ===== Decorator Examples =====

/// ```python
/// @Threaded
/// def test(*args, **kwargs):
///     print(f'{args} - {kwargs}')
/// ```
#[threaded]
fn test_threaded(args: Args, kwargs: Kwargs) -> String {
    test(args, kwargs)
}

/// ```python
/// task = test()
/// if task.wait(10):
///     print(task.results)
/// else:
///     print(f"{task} not finished")
/// ```
fn decorator_threaded() {
    section("@Threaded");
    let task = test_threaded(vec![], vec![]);
    if task.wait_timeout(TIMEOUT) {
        println!("{}", task.result().expect("test runs"));
    } else {
        println!("{task} not finished");
    }
}

/// ```python
/// @Threaded(daemon=True)
/// def test(*args, **kwargs):
///     print(f'{args} - {kwargs}')
/// ```
///
/// One long-lived worker runs every call. A panic never kills it, so there
/// is nothing to respawn.
#[threaded(daemon)]
fn test_daemon(args: Args, kwargs: Kwargs) -> (String, String) {
    let thread = thread::current().name().unwrap_or_default().to_owned();
    (test(args, kwargs), thread)
}

fn decorator_daemon() {
    section("@Threaded(daemon=True)");
    let tasks: Vec<Task<_>> = ["one", "two", "three"]
        .into_iter()
        .map(|arg| test_daemon(vec![arg], vec![]))
        .collect();
    let mut threads = Vec::new();
    for task in tasks {
        let (line, thread) = task.join().expect("daemon call");
        println!("{line} ran on thread '{thread}'");
        threads.push(thread);
    }
    threads.dedup();
    assert_eq!(threads.len(), 1, "one worker ran every call");
}

/// ```python
/// @Threaded(pool=True)
/// def test(*args, **kwargs):
///     print(f'{args} - {kwargs}')
///
/// Pool.join_pools(timeout=60) # This will find all Pools and run 'join' on them.
/// ```
#[threaded(pool)]
fn test_pool(args: Args, kwargs: Kwargs) -> String {
    test(args, kwargs)
}

fn decorator_pool() {
    section("@Threaded(pool=True)");
    let tasks: Vec<_> = (0..3).map(|_| test_pool(vec!["arg"], vec![])).collect();
    let names: Vec<String> = Pool::pools().iter().map(|p| p.name().to_owned()).collect();
    println!("registered pools: {names:?}");
    assert!(Pool::join_pools(Duration::from_secs(60)));
    for task in tasks {
        println!("{}", task.join().expect("pool call"));
    }
}

/// ```python
/// pool_name = 'mypool' # Global variable
///
/// @Threaded(pool_name=pool_name)
/// def test_dec_pool_by_name_one(*args, **kwargs):
///     print(f"Running: test_dec_pool_by_name_one - args={args} - kwargs={kwargs}")
///
/// @Threaded(pool_name=pool_name)
/// def test_dec_pool_by_name_twp(*args, **kwargs):
///     print(f"Running: test_dec_pool_by_name_twp - args={args} - kwargs={kwargs}")
/// ```
#[threaded(pool_name = "mypool")]
fn test_dec_pool_by_name_one(kwargs: Kwargs) -> String {
    on_mypool("test_dec_pool_by_name_one", kwargs)
}

#[threaded(pool_name = "mypool")]
fn test_dec_pool_by_name_two(kwargs: Kwargs) -> String {
    on_mypool("test_dec_pool_by_name_two", kwargs)
}

fn on_mypool(function: &str, kwargs: Kwargs) -> String {
    let thread = thread::current().name().unwrap_or_default().to_owned();
    assert!(thread.starts_with("mypool-"), "{thread}");
    format!("Running: {function} - kwargs={kwargs:?}")
}

/// ```python
/// tasksOne = [test_dec_pool_by_name_one(randomsleep=True) for _ in range(4)]
/// tasksTwo = [test_dec_pool_by_name_twp(randomsleep=True) for _ in range(4)]
///
/// pool = Pool.get_pool_by_name(pool_name) # Get the Pool associated with the two above functions
/// pool.wait_completion(block=True) # Block all new submissions until existing work has been completed
///
/// for task in tasksOne + tasksTwo:
///     print(f"Task[{task}] completed with results: {task.results}")
/// ```
fn decorator_pool_name() {
    section("@Threaded(pool_name='mypool') on two functions");
    let tasks_one: Vec<_> = (0..4)
        .map(|_| test_dec_pool_by_name_one(vec![("randomsleep", "True")]))
        .collect();
    let tasks_two: Vec<_> = (0..4)
        .map(|_| test_dec_pool_by_name_two(vec![("randomsleep", "True")]))
        .collect();

    let pool = Pool::get_pool_by_name("mypool").expect("created by the first call");
    assert!(pool.drain(TIMEOUT), "existing work completes");

    for task in tasks_one.iter().chain(&tasks_two) {
        println!(
            "Task[{task}] completed with results: {}",
            task.result().expect("mypool call")
        );
    }
    println!(
        "pool '{}' completed {} tasks",
        pool.name(),
        pool.stats().completed
    );

    // Joined here so that the combined example below creates "mypool"
    // afresh with its own `max_workers = 2` (a pool's size is set by the
    // call that creates it).
    assert!(pool.join(TIMEOUT));
}

/// ```python
/// def callback_test(*args, **kwargs):
///     print(f'callback_test - Completed: {args} - {kwargs}')
///     return args[0]
///
/// @Threaded(callback_func=callback_test)
/// def test(*args, **kwargs):
///     print(f'{args} - {kwargs}')
/// ```
///
/// The callback runs on the thread that ran the body, after it succeeded
/// and before the task counts as done: `join` returns after it.
#[allow(clippy::ptr_arg)] // `callback = f` takes `fn(&R)`, and R is String
fn callback_test(result: &String) {
    println!("callback_test - Completed: {result}");
}

#[threaded(callback = callback_test)]
fn test_with_callback(args: Args, kwargs: Kwargs) -> String {
    test(args, kwargs)
}

fn decorator_callback() {
    section("@Threaded(callback_func=callback_test)");
    let task = test_with_callback(vec!["arg"], vec![("example", "kwargs")]);
    let line = task.join().expect("callback example");
    println!("joined after the callback: {line}");
}

// ===== the combined example =====

/// Python's `store_values`: a `Mutex` because Rust insists, even though the
/// limiter already lets one callback in at a time.
static STORE_VALUES: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static CALLBACKS_INSIDE: AtomicUsize = AtomicUsize::new(0);

/// ```python
/// @Limiter(1) # Because of the limiter the store_values object will not be appended to more than one at a time.
/// def callback_test(*args, **kwargs):
///     global store_values
///     print(f'callback_test - Completed: {args} - {kwargs}')
///     store_values.append(args)
/// ```
#[limiter(1)]
fn store_callback(value: &u32) {
    let inside = CALLBACKS_INSIDE.fetch_add(1, Ordering::SeqCst) + 1;
    assert_eq!(inside, 1, "the limiter lets one callback in at a time");
    STORE_VALUES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(*value);
    CALLBACKS_INSIDE.fetch_sub(1, Ordering::SeqCst);
}

/// ```python
/// @Threaded(callback_func=callback_test, pool_name='mypool', _pool_maxWorkers=2, _task_store_return=False)
/// def test(*args, **kwargs):
///     print(f'{args} - {kwargs}')
///     return randint(0, 10) # Return a random number from 0 to 10.
/// ```
///
/// `_task_store_return=False` has no counterpart: a `Task<u32>` always
/// keeps its value, and costs nothing more for it.
#[threaded(callback = store_callback, pool_name = "mypool", max_workers = 2)]
fn test_combined() -> u32 {
    randint(0, 10)
}

/// A small deterministic stand-in for `random.randint` (no dependency).
fn randint(low: u32, high: u32) -> u32 {
    static STATE: AtomicU64 = AtomicU64::new(0x2545_F491_4F6C_DD1D);
    let mut x = STATE.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    let span = u64::from(high - low + 1);
    low + u32::try_from(x % span).expect("below span")
}

/// ```python
/// tasks = [test() for _ in range(4)]
///
/// pool = Pool.get_pool_by_name('mypool') # Get the Pool associated with the two above functions.
/// pool.join(block=True) # Ends the Pool.
///
/// print(f"Stored Values: {store_values}")
/// ```
fn combined() {
    section("Limiter(1) callback + pool_name + max_workers = 2");
    let tasks: Vec<Task<u32>> = (0..4).map(|_| test_combined()).collect();

    let pool = Pool::get_pool_by_name("mypool").expect("created afresh by test_combined");
    println!(
        "pool '{}' has max_workers = {}",
        pool.name(),
        pool.max_workers()
    );
    assert_eq!(pool.max_workers(), 2);
    assert!(pool.join(TIMEOUT), "the pool finishes its work and ends");

    let mut stored = STORE_VALUES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut returned: Vec<u32> = tasks
        .into_iter()
        .map(|t| t.join().expect("combined call"))
        .collect();
    stored.sort_unstable();
    returned.sort_unstable();
    println!("Stored Values (sorted): {stored:?}");
    assert_eq!(stored, returned, "the callback saw every return value");
}

// ===== The Limiter =====

static TEST_LIMITED_INSIDE: AtomicUsize = AtomicUsize::new(0);
static TEST_LIMITED_MAX: AtomicUsize = AtomicUsize::new(0);

/// ```python
/// @Limiter(1)
/// def test(*args, **kwargs):
///     print(f'{args} - {kwargs}')
///
/// testResults = [test() for _ in range(4)] # This would pause the loop at every 'test' method call
/// ```
#[limiter(1)]
fn test_limited(call: usize) -> String {
    let inside = TEST_LIMITED_INSIDE.fetch_add(1, Ordering::SeqCst) + 1;
    TEST_LIMITED_MAX.fetch_max(inside, Ordering::SeqCst);
    thread::yield_now();
    TEST_LIMITED_INSIDE.fetch_sub(1, Ordering::SeqCst);
    format!("call {call}")
}

fn limiter_blocking() {
    section("@Limiter(1)");
    let test_results: Vec<String> = (0..4).map(test_limited).collect();
    println!("{test_results:?}");

    // The limit matters once callers are concurrent: four threads, one at
    // a time inside.
    thread::scope(|s| {
        for call in 4..8 {
            s.spawn(move || test_limited(call));
        }
    });
    let max = TEST_LIMITED_MAX.load(Ordering::SeqCst);
    println!("at most {max} call inside at once");
    assert_eq!(max, 1);
}

static TEST_NB_INSIDE: AtomicUsize = AtomicUsize::new(0);
static TEST_NB_MAX: AtomicUsize = AtomicUsize::new(0);

/// ```python
/// @Limiter(2, blocking=False)
/// @Threaded
/// def test(*args, **kwargs):
///     print(f'{args} - {kwargs}')
/// ```
///
/// Unlike PyMultiTasking, the two tasks over the limit do not occupy a
/// thread each while they wait: they wait in the limiter and get their
/// thread when a permit frees.
#[limiter(2, blocking = false)]
#[threaded]
fn test_non_blocking(n: usize) -> usize {
    let inside = TEST_NB_INSIDE.fetch_add(1, Ordering::SeqCst) + 1;
    TEST_NB_MAX.fetch_max(inside, Ordering::SeqCst);
    thread::yield_now();
    TEST_NB_INSIDE.fetch_sub(1, Ordering::SeqCst);
    n
}

/// ```python
/// tasks = [test() for _ in range(4)] # This loop would complete quickly as it doesn't wait for 'test' to actually finish
///
/// for task in Pool.as_completed(tasks):
///     print(f"Task[{task}] completed with results: {task.results}")
/// ```
fn limiter_non_blocking() {
    section("@Limiter(2, blocking=False) over @Threaded");
    let tasks: Vec<Task<usize>> = (0..4).map(test_non_blocking).collect();
    let mut results = Vec::new();
    for task in Pool::as_completed(tasks) {
        results.push(task.result().expect("limited call"));
    }
    results.sort_unstable();
    let max = TEST_NB_MAX.load(Ordering::SeqCst);
    println!("results {results:?}; at most {max} bodies ran at once");
    assert!(max <= 2);
}
