//! Waiting never deadlocks a pool: a task that waits on tasks still queued in
//! its own pool (or worker) runs them itself.

use pymt_core as pymt;

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{join, ms, LONG};
use pymt::{Pool, ReturnWhen, Task, TaskError, TaskSet, Worker};

fn one_worker() -> Pool {
    Pool::builder().max_workers(1).build().unwrap()
}

fn submit_children(pool: &Pool, n: u64) -> Vec<Task<u64>> {
    (0..n).map(|i| pool.submit(move || i * 2)).collect()
}

fn expected_sum(n: u64) -> u64 {
    (0..n).map(|i| i * 2).sum()
}

#[test]
fn a_one_worker_pool_task_joins_100_subtasks() {
    let pool = one_worker();
    let p = pool.clone();
    let outer = pool.submit(move || {
        let children = submit_children(&p, 100);
        let mut sum = 0;
        for child in children {
            if !child.wait_timeout(LONG) {
                return Err("a sub-task never ran");
            }
            sum += child.join().map_err(|_| "a sub-task failed")?;
        }
        Ok(sum)
    });
    assert_eq!(outer.result_timeout(LONG), Ok(Ok(expected_sum(100))));
    assert!(pool.wait_completion(LONG));
    let stats = pool.stats();
    assert_eq!(stats.completed, 101, "inline runs count like any other");
    assert_eq!((stats.active, stats.queued), (0, 0));
    // The timed waits made the pool start one compensating worker; it
    // retires on its own schedule, which may be after this read.
    assert!(stats.workers <= 2, "{} workers", stats.workers);
}

#[test]
fn every_blocking_wait_of_a_task_helps() {
    let pool = one_worker();
    let p = pool.clone();
    let outer = pool.submit(move || {
        let a = p.submit(|| 1);
        let b = p.submit(|| 2);
        let c = p.submit(|| 3);
        let d = p.submit(|| -> i32 { panic!("nested-error") });
        let e = p.submit(|| 5);
        let f = p.submit(|| 6);
        // Each of these finds its task still queued behind the others.
        f.wait();
        let got_f = f.try_result();
        let got_e = e.result_timeout(LONG);
        let got_d = d.error();
        let got_c = c.result();
        let got_b = b.wait_timeout(LONG).then(|| b.try_result());
        let got_a = a.join();
        (
            got_a,
            got_b,
            got_c,
            got_d.map(|e| e.is_panic()),
            got_e,
            got_f,
        )
    });
    assert_eq!(
        outer.result_timeout(LONG),
        Ok((
            Ok(1),
            Some(Some(Ok(2))),
            Ok(3),
            Some(true),
            Ok(5),
            Some(Ok(6))
        ))
    );
}

#[test]
fn a_one_worker_pool_task_waits_on_100_subtasks_with_pymt_wait() {
    let pool = one_worker();
    let p = pool.clone();
    let outer = pool.submit(move || {
        let children = submit_children(&p, 100);
        let (done, pending) = pymt::wait(&children, ReturnWhen::AllCompleted, LONG);
        let sum: u64 = children.into_iter().map(|c| c.join().unwrap_or(0)).sum();
        (done.len(), pending.len(), sum)
    });
    assert_eq!(outer.result_timeout(LONG), Ok((100, 0, expected_sum(100))));
}

#[test]
fn pymt_wait_first_completed_inside_a_task_helps() {
    let pool = one_worker();
    let p = pool.clone();
    let outer = pool.submit(move || {
        let children = submit_children(&p, 5);
        let (done, _pending) = pymt::wait(&children, ReturnWhen::FirstCompleted, LONG);
        let first = done.len();
        let (done, pending) = pymt::wait(&children, ReturnWhen::FirstException, LONG);
        (first >= 1, done.len(), pending.len())
    });
    assert_eq!(outer.result_timeout(LONG), Ok((true, 5, 0)));
}

#[test]
fn a_one_worker_pool_task_joins_100_subtasks_with_a_task_set() {
    let pool = one_worker();
    let p = pool.clone();
    let outer = pool.submit(move || {
        let mut set: TaskSet<u64> = submit_children(&p, 100).into_iter().collect();
        let mut sum = 0;
        while !set.is_empty() {
            match set.join_next_timeout(LONG) {
                Some(Ok(v)) => sum += v,
                other => return Err(format!("{other:?}")),
            }
        }
        let rest: TaskSet<u64> = submit_children(&p, 10).into_iter().collect();
        let rest: u64 = rest.join_all().into_iter().map(|r| r.unwrap_or(0)).sum();
        Ok(sum + rest)
    });
    assert_eq!(
        outer.result_timeout(LONG),
        Ok(Ok(expected_sum(100) + expected_sum(10)))
    );
}

#[test]
fn a_one_worker_pool_task_uses_as_completed_on_its_subtasks() {
    let pool = one_worker();
    let p = pool.clone();
    let outer = pool.submit(move || {
        let children = submit_children(&p, 100);
        let a: u64 = pymt::as_completed(children)
            .map(|c| c.join().unwrap_or(0))
            .sum();
        let b: u64 = Pool::as_completed(submit_children(&p, 10))
            .map(|c| c.join().unwrap_or(0))
            .sum();
        a + b
    });
    assert_eq!(
        outer.result_timeout(LONG),
        Ok(expected_sum(100) + expected_sum(10))
    );
}

#[test]
fn two_levels_of_recursion_on_one_worker() {
    let pool = one_worker();
    let p = pool.clone();
    let outer = pool.submit(move || {
        let mids: Vec<Task<u64>> = (0..10)
            .map(|m| {
                let p2 = p.clone();
                p.submit(move || {
                    let leaves: Vec<Task<u64>> =
                        (0..10).map(|l| p2.submit(move || m * 10 + l)).collect();
                    leaves
                        .into_iter()
                        .map(|leaf| leaf.result_timeout(LONG).unwrap_or(0))
                        .sum()
                })
            })
            .collect();
        mids.into_iter()
            .map(|mid| mid.result_timeout(LONG).unwrap_or(0))
            .sum::<u64>()
    });
    assert_eq!(outer.result_timeout(LONG), Ok((0..100).sum::<u64>()));
    assert!(pool.wait_completion(LONG));
    assert_eq!(pool.stats().completed, 1 + 10 + 100);
}

#[test]
fn recursion_on_a_small_pool_under_load() {
    // More waiting tasks than workers, each waiting on its own sub-tasks.
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let outers: Vec<Task<u64>> = (0..8)
        .map(|o| {
            let p = pool.clone();
            pool.submit(move || {
                let subs: Vec<Task<u64>> = (0..20).map(|i| p.submit(move || o + i)).collect();
                subs.into_iter()
                    .map(|s| s.result_timeout(LONG).unwrap_or(0))
                    .sum()
            })
        })
        .collect();
    for (o, t) in outers.into_iter().enumerate() {
        let o = o as u64;
        assert_eq!(t.result_timeout(LONG), Ok((0..20).map(|i| o + i).sum()));
    }
}

#[test]
fn a_task_waiting_on_a_running_sibling_sleeps_instead_of_failing() {
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let sibling = pool.submit(move || rx.recv_timeout(LONG).is_ok());
    let s = sibling.clone();
    let waiter = pool.submit(move || s.result_timeout(LONG));
    assert!(!waiter.wait_timeout(ms(20)));
    tx.send(()).unwrap();
    assert_eq!(join(waiter), Ok(Ok(true)));
}

/// A dedicated worker has one thread: a timed wait there on one of its own
/// queued tasks runs nothing inline (it returns by its deadline) and no
/// second thread starts for it, so it times out; the sub-task runs after.
#[test]
fn a_timed_wait_on_the_same_worker_times_out() {
    let worker = Arc::new(Worker::new());
    let w = Arc::clone(&worker);
    let outer = worker.submit(move || {
        let me = std::thread::current().id();
        let sub = w.submit(move || std::thread::current().id() == me);
        (sub.wait_timeout(ms(50)), sub)
    });
    let (ended, sub) = outer.result_timeout(LONG).expect("outer ends");
    assert!(!ended);
    assert_eq!(sub.result_timeout(LONG), Ok(true));
    assert!(worker.join(LONG));
}

#[test]
fn a_worker_task_waits_on_a_subtask_of_the_same_worker() {
    let worker = Arc::new(Worker::new());
    let w = Arc::clone(&worker);
    let outer = worker.submit(move || {
        let subs: Vec<Task<u32>> = (0..20).map(|i| w.submit(move || i)).collect();
        // Untimed waits: the worker's one thread runs the sub-tasks itself.
        let first = subs[0].result();
        let (done, pending) = pymt::wait(&subs[1..10], ReturnWhen::AllCompleted, Duration::MAX);
        let set: TaskSet<u32> = subs[10..].iter().cloned().collect();
        let rest: Vec<_> = set.join_all();
        (first, done.len(), pending.len(), rest.len())
    });
    assert_eq!(outer.result_timeout(LONG), Ok((Ok(0), 9, 0, 10)));
    assert!(worker.join(LONG));
}

#[test]
fn a_subtask_run_inline_may_panic_without_hurting_the_waiter() {
    let pool = one_worker();
    let p = pool.clone();
    let outer = pool.submit(move || {
        let bad = p.submit(|| -> u8 { panic!("inline-panic") });
        let good = p.submit(|| 1u8);
        (bad.result_timeout(LONG), good.result_timeout(LONG))
    });
    assert_eq!(
        outer.result_timeout(LONG),
        Ok((
            Err(TaskError::Panicked {
                message: "inline-panic".into()
            }),
            Ok(1)
        ))
    );
    assert!(pool.wait_completion(LONG));
    let stats = pool.stats();
    assert_eq!((stats.completed, stats.panicked), (2, 1));
}

#[test]
fn a_task_can_overfill_its_own_bounded_queue() {
    let pool = Pool::builder()
        .max_workers(1)
        .queue_capacity(2)
        .build()
        .unwrap();
    let p = pool.clone();
    let outer = pool.submit(move || {
        let subs: Vec<Task<u32>> = (0..10).map(|i| p.submit(move || i)).collect();
        subs.into_iter()
            .map(|s| s.result_timeout(LONG).unwrap_or(1000))
            .sum::<u32>()
    });
    assert_eq!(outer.result_timeout(LONG), Ok((0..10).sum()));
}

#[test]
fn inline_runs_skip_cancelled_subtasks() {
    let pool = one_worker();
    let p = pool.clone();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&ran);
    let outer = pool.submit(move || {
        let r2 = Arc::clone(&r);
        let cancelled = p.submit(move || {
            r2.fetch_add(1, Ordering::SeqCst);
        });
        let kept = p.submit(|| 2);
        assert!(cancelled.cancel());
        (cancelled.result_timeout(LONG), kept.result_timeout(LONG))
    });
    assert_eq!(
        outer.result_timeout(LONG),
        Ok((Err(TaskError::Cancelled), Ok(2)))
    );
    assert!(pool.wait_completion(LONG));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn waiting_from_another_pool_does_not_steal_work() {
    // Only a worker of the task's own pool runs it inline.
    let a = one_worker();
    let b = one_worker();
    let (gate, blocker) = common::occupy(&a);
    let _open = common::OpenOnDrop(gate.clone());
    let queued_in_a = a.submit(|| thread::current().name().map(str::to_owned));
    let q = queued_in_a.clone();
    let from_b = b.submit(move || q.wait_timeout(ms(30)));
    assert_eq!(join(from_b), Ok(false), "b's worker must not run a's task");
    gate.open();
    let name = join(queued_in_a).unwrap().unwrap();
    assert!(name.starts_with(a.name()), "{name}");
    assert_eq!(join(blocker), Ok(true));
}
