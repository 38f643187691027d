//! Scoped tasks: borrowing, priorities, handles, panics, nesting, and the
//! promise that `scope` returns only after every task ended.

use pymt_core as pymt;

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use common::{occupy, within, LONG};

#[test]
fn smoke() {
    let pool = pymt::Pool::new();
    let text = String::from("borrowed");
    let len = pool.scope(|s| s.submit(|| text.len()).join());
    assert_eq!(len, Ok(8));
}

#[test]
fn tasks_mutate_disjoint_borrows() {
    let pool = pymt::Pool::builder().max_workers(2).build().unwrap();
    let mut data = vec![0u64; 64];
    pool.scope(|s| {
        for (i, chunk) in data.chunks_mut(8).enumerate() {
            s.submit(move || chunk.iter_mut().for_each(|x| *x = i as u64));
        }
    });
    for (i, chunk) in data.chunks(8).enumerate() {
        assert!(chunk.iter().all(|&x| x == i as u64), "chunk {i}: {chunk:?}");
    }
}

#[test]
fn scope_returns_only_after_every_task_ended_even_unjoined() {
    let pool = pymt::Pool::builder().max_workers(2).build().unwrap();
    let finished = AtomicUsize::new(0);
    pool.scope(|s| {
        for _ in 0..20 {
            s.submit(|| {
                std::thread::yield_now();
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    assert_eq!(finished.load(Ordering::SeqCst), 20);
}

#[test]
fn priorities_order_scoped_tasks() {
    let pool = pymt::Pool::builder().max_workers(1).build().unwrap();
    let (gate, blocker) = occupy(&pool);
    let order = Mutex::new(Vec::new());
    pool.scope(|s| {
        for p in [1, 5, -2, 5, 0] {
            let order = &order;
            s.submit_with_priority(p, move || order.lock().unwrap().push(p));
        }
        gate.open();
    });
    assert!(blocker.wait_timeout(LONG));
    assert_eq!(order.into_inner().unwrap(), [5, 5, 1, 0, -2]);
}

#[test]
fn a_panicking_task_stays_in_its_handle() {
    let pool = pymt::Pool::new();
    let outcome = pool.scope(|s| {
        let bad = s.submit(|| -> u8 { panic!("scoped boom") });
        let good = s.submit(|| 7u8);
        (bad.join(), good.join())
    });
    assert_eq!(
        outcome.0,
        Err(pymt::TaskError::Panicked {
            message: "scoped boom".into()
        })
    );
    assert_eq!(outcome.1, Ok(7));
}

#[test]
fn a_panic_in_the_scope_body_is_re_raised_after_tasks_end() {
    let pool = pymt::Pool::new();
    let finished = AtomicUsize::new(0);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.scope(|s| {
            s.submit(|| finished.fetch_add(1, Ordering::SeqCst));
            panic!("body panics");
        })
    }));
    assert!(caught.is_err());
    assert_eq!(finished.load(Ordering::SeqCst), 1);
}

#[test]
fn one_worker_scope_inside_a_task_waits_inline_without_deadlock() {
    let pool = pymt::Pool::builder().max_workers(1).build().unwrap();
    let inner = pool.clone();
    let outer = pool.submit(move || {
        let numbers: Vec<u64> = (1..=100).collect();
        inner.scope(|s| {
            let parts: Vec<_> = numbers
                .chunks(10)
                .map(|c| s.submit(move || c.iter().sum::<u64>()))
                .collect();
            parts.into_iter().map(|t| t.join().unwrap()).sum::<u64>()
        })
    });
    assert_eq!(outer.result_timeout(LONG), Ok(5050));
}

#[test]
fn unjoined_tasks_in_a_one_worker_scope_inside_a_task_finish() {
    let pool = pymt::Pool::builder().max_workers(1).build().unwrap();
    let inner = pool.clone();
    let outer = pool.submit(move || {
        let hits = AtomicUsize::new(0);
        inner.scope(|s| {
            for _ in 0..10 {
                s.submit(|| hits.fetch_add(1, Ordering::SeqCst));
            }
        });
        hits.into_inner()
    });
    assert_eq!(outer.result_timeout(LONG), Ok(10));
}

#[test]
fn tasks_may_submit_more_tasks_to_the_scope() {
    let pool = pymt::Pool::builder().max_workers(2).build().unwrap();
    let hits = AtomicUsize::new(0);
    pool.scope(|s| {
        for _ in 0..4 {
            s.submit(|| {
                hits.fetch_add(1, Ordering::SeqCst);
                s.submit(|| hits.fetch_add(1, Ordering::SeqCst));
            });
        }
    });
    assert_eq!(hits.load(Ordering::SeqCst), 8);
}

#[test]
fn values_left_unjoined_are_dropped_before_scope_returns() {
    struct CountsDrop<'a>(&'a AtomicUsize);
    impl Drop for CountsDrop<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let pool = pymt::Pool::new();
    let drops = AtomicUsize::new(0);
    pool.scope(|s| {
        for _ in 0..5 {
            let _ = s.submit(|| CountsDrop(&drops));
        }
    });
    assert_eq!(drops.load(Ordering::SeqCst), 5);
}

#[test]
fn cancelled_scoped_task_never_runs_and_reports_cancelled() {
    let pool = pymt::Pool::builder().max_workers(1).build().unwrap();
    let (gate, blocker) = occupy(&pool);
    let ran = AtomicUsize::new(0);
    pool.scope(|s| {
        let t = s.submit(|| ran.fetch_add(1, Ordering::SeqCst));
        assert!(t.cancel());
        gate.open();
        assert_eq!(t.join(), Err(pymt::TaskError::Cancelled));
    });
    assert!(blocker.wait_timeout(LONG));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn scope_on_a_shut_down_pool_rejects_and_returns() {
    let pool = pymt::Pool::new();
    assert!(pool.shutdown(LONG));
    let outcome = within("scope on a closed pool", move || {
        let local = 5;
        pool.scope(|s| s.submit(|| local).join())
    });
    assert_eq!(outcome, Err(pymt::TaskError::Rejected));
}

#[test]
fn handle_family_works() {
    let pool = pymt::Pool::new();
    pool.scope(|s| {
        let t = s.submit_with_priority(3, || 11);
        assert!(t.wait_timeout(LONG));
        assert!(t.is_done());
        assert_eq!(t.state(), pymt::TaskState::Succeeded);
        assert_eq!(t.priority(), 3);
        assert_eq!(t.try_result(), Some(Ok(11)));
        assert_eq!(t.result(), Ok(11));
        assert_eq!(t.result_timeout(LONG), Ok(11));
        assert!(!t.cancel());
        assert_eq!(t.join(), Ok(11));
    });
}
