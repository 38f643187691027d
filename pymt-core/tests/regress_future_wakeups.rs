//! Checks (suspicions that turned out fine; they must keep passing) of the
//! `Future` impl's waker registration and `TaskSet::poll_join_next`: every
//! completion must wake the last registered waker (no lost wake-up),
//! including wakers replaced between polls.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Pool, TaskSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

struct Unpark(std::thread::Thread, AtomicUsize);
impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.unpark();
    }
}

/// Polls `f` to completion; counts parks that timed out without a wake.
fn block_on_counting<F: Future + Unpin>(mut f: F, switch_wakers: bool) -> (F::Output, usize) {
    let mut lost = 0;
    let mut wakers = vec![Arc::new(Unpark(
        std::thread::current(),
        AtomicUsize::new(0),
    ))];
    if switch_wakers {
        wakers.push(Arc::new(Unpark(
            std::thread::current(),
            AtomicUsize::new(0),
        )));
    }
    let mut k = 0;
    loop {
        let w = &wakers[k % wakers.len()];
        k += 1;
        let waker = Waker::from(Arc::clone(w));
        let before = w.1.load(Ordering::SeqCst);
        if let Poll::Ready(v) = Pin::new(&mut f).poll(&mut Context::from_waker(&waker)) {
            return (v, lost);
        }
        let start = Instant::now();
        std::thread::park_timeout(Duration::from_millis(500));
        if start.elapsed() >= Duration::from_millis(500) && w.1.load(Ordering::SeqCst) == before {
            lost += 1;
        }
    }
}

#[test]
fn task_future_never_loses_a_wakeup() {
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let mut rng = Rng::new(3);
    let mut lost = 0;
    for i in 0..20_000u64 {
        let d = rng.below(5_000);
        let t = pool.submit(move || {
            spin_ns(d);
            i
        });
        let (v, l) = block_on_counting(t, i % 2 == 0);
        assert_eq!(v, Ok(i));
        lost += l;
    }
    assert_eq!(lost, 0, "lost wake-ups");
    assert!(pool.join(LONG));
}

#[test]
fn task_set_poll_join_next_never_loses_a_wakeup() {
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let mut rng = Rng::new(5);
    let mut lost = 0;
    for round in 0..2_000u64 {
        let mut set = TaskSet::new();
        for j in 0..4 {
            let d = rng.below(5_000);
            set.push(pool.submit(move || {
                spin_ns(d);
                j
            }));
        }
        let mut got = 0;
        loop {
            let fut = Box::pin(set.join_next_async());
            let (r, l) = block_on_counting(fut, round % 2 == 0);
            lost += l;
            match r {
                Some(r) => {
                    assert!(r.is_ok());
                    got += 1;
                }
                None => break,
            }
        }
        assert_eq!(got, 4);
    }
    assert_eq!(lost, 0, "lost wake-ups");
    assert!(pool.join(LONG));
}
