//! `Pool::execute` and `Worker::execute`: handle-less jobs. They run in
//! submission order with priority-0 tasks, count in `stats`, see a
//! shutdown through `stop_requested()`, are cancelled (dropped) when still
//! queued at shutdown, and a closed pool hands the closure back.

use pymt_core as pymt;

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};

use common::{join, occupy, occupy_worker, within, Record, Started, LONG};
use pymt::{Pool, SubmitError, TaskError, Worker};

fn one_worker() -> Pool {
    Pool::builder().max_workers(1).build().unwrap()
}

/// Counts its drops: proves a cancelled job's closure was dropped, not leaked.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn jobs_run_and_count_as_completed() {
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    for _ in 0..1000 {
        let hits = Arc::clone(&hits);
        pool.execute(move || {
            hits.fetch_add(1, SeqCst);
        })
        .unwrap();
    }
    assert!(pool.wait_completion(LONG));
    assert_eq!(hits.load(SeqCst), 1000);
    let stats = pool.stats();
    assert_eq!((stats.completed, stats.queued, stats.active), (1000, 0, 0));
}

#[test]
fn jobs_and_tasks_share_one_fifo_order() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let order = Record::new();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let order = order.clone();
        if i % 2 == 0 {
            pool.execute(move || order.push(i)).unwrap();
        } else {
            tasks.push(pool.submit(move || order.push(i)));
        }
    }
    gate.open();
    assert_eq!(join(blocker), Ok(true));
    for t in tasks {
        assert_eq!(join(t), Ok(()));
    }
    assert!(pool.wait_completion(LONG));
    assert_eq!(order.get(), [0, 1, 2, 3, 4, 5]);
}

#[test]
fn a_panicking_job_is_counted_and_the_pool_keeps_working() {
    let pool = one_worker();
    pool.execute(|| panic!("job failed on purpose")).unwrap();
    assert_eq!(join(pool.submit(|| 7)), Ok(7));
    assert!(pool.wait_completion(LONG));
    let stats = pool.stats();
    assert_eq!((stats.panicked, stats.completed), (1, 1));
}

#[test]
fn queued_jobs_are_dropped_and_counted_cancelled_at_shutdown() {
    let pool = one_worker();
    let (gate, blocker) = occupy(&pool);
    let drops = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..5 {
        let guard = DropCounter(Arc::clone(&drops));
        let ran = Arc::clone(&ran);
        pool.execute(move || {
            let _guard = guard;
            ran.fetch_add(1, SeqCst);
        })
        .unwrap();
    }
    let stopper = {
        let pool = pool.clone();
        std::thread::spawn(move || pool.shutdown(LONG))
    };
    common::wait_for("the shutdown to cancel the queue", || {
        pool.stats().cancelled == 5
    });
    gate.open();
    assert!(common::join_thread(stopper));
    assert_eq!(blocker.join(), Ok(true));
    assert_eq!(ran.load(SeqCst), 0, "a cancelled job ran");
    assert_eq!(drops.load(SeqCst), 5, "every cancelled closure was dropped");
    assert_eq!(pool.stats().queued, 0);
}

#[test]
fn a_closed_pool_hands_the_closure_back() {
    let pool = one_worker();
    assert!(pool.join(LONG));
    let (tx, rx) = mpsc::channel();
    let refused = pool
        .execute(move || tx.send("called").unwrap())
        .unwrap_err();
    assert!(refused.is_shutdown());
    // The very closure comes back, still callable.
    refused.into_inner()();
    assert_eq!(rx.recv_timeout(LONG), Ok("called"));
}

#[test]
fn a_job_sees_the_shutdown_through_stop_requested() {
    let pool = one_worker();
    let started = Started::new();
    let (tx, seen) = mpsc::channel();
    let ready = started.sender();
    pool.execute(move || {
        assert!(pymt::current_task().is_none(), "a job is not a task");
        ready.send(()).unwrap();
        let deadline = std::time::Instant::now() + LONG;
        while !pymt::stop_requested() && std::time::Instant::now() < deadline {
            std::thread::sleep(common::ms(1));
        }
        tx.send(pymt::stop_requested()).unwrap();
    })
    .unwrap();
    started.wait(1);
    assert!(!pymt::stop_requested(), "outside a body: false");
    assert!(pool.shutdown(LONG));
    assert_eq!(seen.recv_timeout(LONG), Ok(true));
}

#[test]
fn execute_blocks_while_a_bounded_queue_is_full() {
    let pool = Pool::builder()
        .max_workers(1)
        .queue_capacity(1)
        .build()
        .unwrap();
    let (gate, blocker) = occupy(&pool);
    pool.execute(|| ()).unwrap();
    let (tx, rx) = mpsc::channel();
    let submitter = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            pool.execute(|| ()).unwrap();
            tx.send(()).unwrap();
        })
    };
    assert!(
        rx.recv_timeout(common::ms(50)).is_err(),
        "execute returned while the queue was full"
    );
    gate.open();
    assert_eq!(rx.recv_timeout(LONG), Ok(()));
    common::join_thread(submitter);
    assert_eq!(join(blocker), Ok(true));
    assert!(pool.wait_completion(LONG));
    assert_eq!(pool.stats().completed, 3);
}

#[test]
fn a_job_waiting_on_its_own_pool_does_not_wait_for_itself() {
    let pool = one_worker();
    let inner = pool.clone();
    let (tx, rx) = mpsc::channel();
    pool.execute(move || {
        let sub = inner.submit(|| 5);
        // One worker, busy with this job: the sub-task runs inline.
        tx.send((sub.join(), inner.wait_completion(LONG))).unwrap();
    })
    .unwrap();
    assert_eq!(rx.recv_timeout(LONG), Ok((Ok(5), true)));
    assert!(pool.join(LONG));
}

#[test]
fn worker_execute_runs_in_order_and_refuses_after_stop() {
    let worker = Worker::new();
    let (gate, blocker) = occupy_worker(&worker);
    let order = Record::new();
    for i in 0..3 {
        let order = order.clone();
        worker.execute(move || order.push(i)).unwrap();
    }
    gate.open();
    assert_eq!(join(blocker), Ok(true));
    let worker = Arc::new(worker);
    assert!(within("worker join", {
        let worker = Arc::clone(&worker);
        move || worker.join(LONG)
    }));
    assert_eq!(order.get(), [0, 1, 2]);
    assert!(matches!(
        worker.execute(|| ()),
        Err(SubmitError::Shutdown(_))
    ));
    assert_eq!(worker.submit(|| ()).join(), Err(TaskError::Rejected));
}
