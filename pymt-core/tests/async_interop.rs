//! `Task` and `TaskSet` used from async code, under tokio (multi-thread and
//! current-thread) and `futures::executor`.
// Not a loom model; tokio and futures are not dev-dependencies under loom.
#![cfg(not(loom))]

use pymt_core as pymt;

mod common;

use common::{ms, occupy, Gate, LONG};

async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(LONG, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: not done within {LONG:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_multi_thread() {
    let pool = pymt::Pool::new();
    let value = bounded("await", pool.submit(|| 21 * 2)).await;
    assert_eq!(value, Ok(42));
}

#[tokio::test(flavor = "current_thread")]
async fn await_on_current_thread_runtime_is_woken_by_the_pool() {
    let pool = pymt::Pool::builder().max_workers(2).build().unwrap();
    let tasks: Vec<_> = (0..16u64).map(|i| pool.submit(move || i * i)).collect();
    let results = bounded("join_all", futures::future::join_all(tasks)).await;
    let values: Vec<u64> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(values, (0..16u64).map(|i| i * i).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_can_be_awaited_inside_spawned_tokio_tasks() {
    let pool = pymt::Pool::new();
    let handles: Vec<_> = (0..8u32)
        .map(|i| {
            let task = pool.submit(move || i + 1);
            tokio::spawn(task)
        })
        .collect();
    let mut total = 0;
    for handle in handles {
        total += bounded("tokio join", handle).await.unwrap().unwrap();
    }
    assert_eq!(total, (1..=8).sum::<u32>());
}

#[test]
fn futures_executor_block_on() {
    let task = pymt::spawn(|| "from a thread");
    assert!(task.wait_timeout(LONG));
    assert_eq!(futures::executor::block_on(task), Ok("from a thread"));
}

#[test]
fn futures_executor_waits_for_a_pending_task() {
    let pool = pymt::Pool::builder().max_workers(1).build().unwrap();
    let gate = Gate::new();
    let g = gate.clone();
    let task = pool.submit(move || g.wait());
    let opener = std::thread::spawn(move || gate.open());
    let watchdog = task.clone();
    let value = common::within("block_on", move || futures::executor::block_on(task));
    assert_eq!(value, Ok(true));
    opener.join().unwrap();
    drop(watchdog);
}

#[tokio::test(flavor = "current_thread")]
async fn dropping_the_future_does_not_cancel_the_task() {
    let pool = pymt::Pool::builder().max_workers(1).build().unwrap();
    let (gate, blocker) = occupy(&pool);
    let task = pool.submit(|| 5);
    let observer = task.clone();
    // Poll once, then drop the future (the timeout fires first).
    assert!(tokio::time::timeout(ms(20), task).await.is_err());
    gate.open();
    assert!(observer.wait_timeout(LONG));
    assert_eq!(observer.result(), Ok(5));
    assert!(blocker.wait_timeout(LONG));
}

#[tokio::test(flavor = "current_thread")]
async fn awaiting_moves_the_value_out() {
    let task = pymt::spawn(|| String::from("once"));
    let clone = task.clone();
    assert_eq!(bounded("await", task).await.as_deref(), Ok("once"));
    assert_eq!(
        bounded("await clone", clone).await,
        Err(pymt::TaskError::Taken)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn failures_arrive_through_await() {
    let pool = pymt::Pool::new();
    let panicked = pool.submit(|| -> u8 { panic!("async boom") });
    assert_eq!(
        bounded("panicked", panicked).await,
        Err(pymt::TaskError::Panicked {
            message: "async boom".into()
        })
    );
    assert!(pool.shutdown(LONG));
    let rejected = pool.submit(|| 1u8);
    assert_eq!(
        bounded("rejected", rejected).await,
        Err(pymt::TaskError::Rejected)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_set_join_next_async_yields_every_outcome() {
    let pool = pymt::Pool::builder().max_workers(2).build().unwrap();
    let mut set: pymt::TaskSet<u32> = (0..20u32).map(|i| pool.submit(move || i)).collect();
    set.push(pool.submit(|| -> u32 { panic!("one fails") }));
    let mut ok = Vec::new();
    let mut failed = 0;
    while let Some(outcome) = bounded("join_next_async", set.join_next_async()).await {
        match outcome {
            Ok(v) => ok.push(v),
            Err(e) => {
                assert!(e.is_panic());
                failed += 1;
            }
        }
    }
    ok.sort_unstable();
    assert_eq!(ok, (0..20).collect::<Vec<_>>());
    assert_eq!(failed, 1);
    assert!(set.is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn task_set_join_next_async_is_cancel_safe() {
    let pool = pymt::Pool::builder().max_workers(1).build().unwrap();
    let (gate, blocker) = occupy(&pool);
    let mut set = pymt::TaskSet::new();
    set.push(pool.submit(|| 9));
    // Nothing can finish while the pool is occupied: the future times out.
    assert!(tokio::time::timeout(ms(20), set.join_next_async())
        .await
        .is_err());
    gate.open();
    assert_eq!(
        bounded("after drop", set.join_next_async()).await,
        Some(Ok(9))
    );
    assert!(blocker.wait_timeout(LONG));
}

#[test]
fn task_set_join_next_async_under_futures_executor() {
    let mut set: pymt::TaskSet<u32> = (1..=4u32).map(|i| pymt::spawn(move || i)).collect();
    let total = common::within("block_on task set", move || {
        futures::executor::block_on(async move {
            let mut total = 0;
            while let Some(outcome) = set.join_next_async().await {
                total += outcome.unwrap();
            }
            total
        })
    });
    assert_eq!(total, 10);
}

#[test]
fn empty_task_set_resolves_none_at_once() {
    let mut set = pymt::TaskSet::<u8>::new();
    assert_eq!(futures::executor::block_on(set.join_next_async()), None);
}
