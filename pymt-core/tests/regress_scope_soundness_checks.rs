//! Checks (suspicions that turned out fine; they must keep passing) of the
//! scope's one unsafe, the lifetime erasure of scoped closures and values,
//! in the situations that stress it: the invariant "scope returns only after
//! every member is final and its value gone" holds on each path; a failure
//! here would be a soundness bug.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::Pool;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

struct Noisy<'a>(&'a AtomicUsize);
impl Drop for Noisy<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn forgotten_scoped_handle_value_is_dropped_before_scope_returns() {
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let drops = AtomicUsize::new(0);
    let ran = AtomicBool::new(false);
    pool.scope(|s| {
        let t = s.submit(|| {
            std::thread::sleep(ms(50));
            ran.store(true, Ordering::SeqCst);
            Noisy(&drops)
        });
        std::mem::forget(t);
    });
    assert!(
        ran.load(Ordering::SeqCst),
        "scope returned before its task ran"
    );
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the leaked handle's value outlived the scope"
    );
    assert!(pool.join(LONG));
}

#[test]
fn panicking_scope_body_waits_for_borrowing_tasks() {
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let mut data = vec![0u64; 1_000];
    let finished = AtomicBool::new(false);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.scope(|s| {
            s.submit(|| {
                std::thread::sleep(ms(100));
                for x in data.iter_mut() {
                    *x += 1;
                }
                finished.store(true, Ordering::SeqCst);
            });
            panic!("scope body panics while a task borrows `data`");
        })
    }));
    assert!(r.is_err());
    assert!(
        finished.load(Ordering::SeqCst),
        "scope unwound before its task ended"
    );
    assert!(data.iter().all(|&x| x == 1));
    assert!(pool.join(LONG));
}

#[test]
fn recursive_scoped_submissions_from_a_worker_of_a_full_one_worker_pool() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let p = pool.clone();
    let outer = pool.submit(move || {
        let counter = AtomicUsize::new(0);
        fn go<'s>(s: &'s pymt::Scope<'s, '_>, c: &'s AtomicUsize, n: usize) {
            c.fetch_add(1, Ordering::SeqCst);
            if n > 0 {
                s.submit(move || go(s, c, n - 1));
                s.submit(move || go(s, c, n - 1));
            }
        }
        p.scope(|s| go(s, &counter, 10));
        counter.load(Ordering::SeqCst)
    });
    assert_eq!(outer.result_timeout(LONG), Ok((1 << 11) - 1));
    assert!(pool.join(LONG));
}

#[test]
fn shutdown_during_a_scope_cancels_members_and_scope_returns() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let log = Mutex::new(Vec::new());
    let p = pool.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(ms(100));
        p.shutdown(LONG)
    });
    let (first_ok, outcomes) = pool.scope(|s| {
        let first = s.submit(|| {
            let start = std::time::Instant::now();
            while !pymt::stop_requested() && start.elapsed() < ms(5_000) {
                std::thread::sleep(ms(1));
            }
            log.lock().unwrap().push(1);
        });
        let rest: Vec<_> = (0..10).map(|i| s.submit(move || i)).collect();
        let outcomes = rest.into_iter().map(|t| t.join()).collect::<Vec<_>>();
        (first.join().is_ok(), outcomes)
    });
    assert!(stopper.join().unwrap());
    eprintln!("first ok {first_ok}; outcomes after shutdown: {outcomes:?}");
    assert!(first_ok);
    assert!(outcomes.iter().all(|o| o.is_err()));
    assert_eq!(*log.lock().unwrap(), [1]);
}

#[test]
fn task_context_escaping_a_scoped_task_is_harmless() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let data = String::from("borrowed");
    let mut escaped = None;
    pool.scope(|s| {
        let t = s.submit(|| (pymt::current_task().unwrap(), data.len()));
        escaped = Some(t.join().unwrap().0);
    });
    drop(data);
    let ctx = escaped.unwrap();
    let _ = (ctx.id(), ctx.name(), ctx.priority(), ctx.stop_requested());
    drop(ctx);
    assert!(pool.join(LONG));
}

#[test]
fn scoped_task_panicking_with_dropped_handle() {
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let flag = AtomicBool::new(false);
    pool.scope(|s| {
        drop(s.submit(|| -> () {
            flag.store(true, Ordering::SeqCst);
            panic!("scoped panic")
        }));
    });
    assert!(flag.load(Ordering::SeqCst));
    assert!(pool.join(LONG));
}

#[test]
fn scope_with_a_bounded_full_queue_from_a_worker() {
    let pool = Pool::builder()
        .max_workers(1)
        .queue_capacity(1)
        .build()
        .unwrap();
    let p = pool.clone();
    let t = pool.submit(move || {
        let total = AtomicUsize::new(0);
        p.scope(|s| {
            for i in 0..50 {
                let total = &total;
                s.submit(move || {
                    total.fetch_add(i, Ordering::SeqCst);
                });
            }
        });
        total.load(Ordering::SeqCst)
    });
    assert_eq!(t.result_timeout(LONG), Ok((0..50).sum()));
    assert!(pool.join(LONG));
}

#[test]
fn scope_member_submitting_while_the_pool_is_joined() {
    // Members submit more members while another thread joins the pool:
    // late ones are rejected, and the scope still returns.
    for _ in 0..50 {
        let pool = Pool::builder().max_workers(2).build().unwrap();
        let p = pool.clone();
        let joiner = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_micros(200));
            p.join(LONG)
        });
        let res = bounded(LONG, {
            let pool = pool.clone();
            move || {
                let count = AtomicUsize::new(0);
                let rejected = AtomicUsize::new(0);
                {
                    let (count, rejected) = (&count, &rejected);
                    pool.scope(|s| {
                        for _ in 0..4 {
                            s.submit(move || {
                                let mut handles = Vec::new();
                                for _ in 0..200 {
                                    handles.push(s.submit(move || {
                                        count.fetch_add(1, Ordering::Relaxed);
                                    }));
                                }
                                for h in handles {
                                    if h.join().is_err() {
                                        rejected.fetch_add(1, Ordering::Relaxed);
                                    }
                                }
                            });
                        }
                    });
                }
                (count.into_inner(), rejected.into_inner())
            }
        });
        let (ran, rejected) = res.expect("scope did not return");
        // Outer members refused by the closed pool never submit their 200.
        assert_eq!((ran + rejected) % 200, 0, "ran {ran} rejected {rejected}");
        let _ = joiner.join();
    }
}
