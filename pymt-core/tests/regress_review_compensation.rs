//! From the second review: compensation for blocked workers (`while_blocked`, `Blocked`),
//! surplus retirement and the wake tokens after many timed waits.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Pool, Task};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

/// Workers beyond `max_workers` a pool runs at most for blocked ones.
const COMPENSATION_CAP: usize = 256;

fn settle(pool: &Pool, max: usize, limit: Duration) -> pymt::PoolStats {
    let start = Instant::now();
    loop {
        let s = pool.stats();
        if (s.workers <= max && s.active == 0 && s.queued == 0) || start.elapsed() > limit {
            return s;
        }
        thread::sleep(ms(5));
    }
}

/// Many timed waits (some timing out, some cancelling their target) from
/// more tasks than `max_workers`: afterwards the pool settles back to
/// `max_workers`, and ranked entries (woken by tokens, not by the lane)
/// still run in an idle pool (a drifted `tokens` count would strand them).
#[test]
fn timed_wait_storm_settles_and_ranked_entries_still_run() {
    let max = 2;
    let pool = Pool::builder()
        .max_workers(max)
        .idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let submitted = Arc::new(AtomicUsize::new(0));
    let cancelled_by_us = Arc::new(AtomicUsize::new(0));
    let outers: Vec<Task<()>> = (0..6)
        .map(|seed| {
            let p = pool.clone();
            let submitted = Arc::clone(&submitted);
            let cancelled_by_us = Arc::clone(&cancelled_by_us);
            pool.submit(move || {
                let mut rng = Rng::new(seed + 11);
                for _ in 0..150 {
                    let prio = [0, 0, 3, -3, 100][rng.below(5) as usize];
                    let d = rng.below(400_000);
                    let inner = p.submit_with_priority(prio, move || spin_ns(d));
                    submitted.fetch_add(1, SeqCst);
                    let ok = inner.wait_timeout(Duration::from_micros(rng.below(300)));
                    if !ok && rng.below(3) == 0 && inner.cancel() {
                        cancelled_by_us.fetch_add(1, SeqCst);
                    }
                }
            })
        })
        .collect();
    for o in &outers {
        assert!(o.wait_timeout(LONG), "outer task stuck: {:?}", pool.stats());
    }
    let s = settle(&pool, max, ms(3000));
    eprintln!("after storm: {s:?}");
    assert!(s.workers <= max, "workers stayed above max: {s:?}");
    assert_eq!((s.queued, s.active), (0, 0), "{s:?}");
    // Idle pool: a ranked entry is announced only by a token.
    thread::sleep(ms(50));
    for prio in [5, -5, 200, -200, 0] {
        let t = pool.submit_with_priority(prio, || 1);
        assert!(
            t.wait_timeout(ms(3000)),
            "a priority {prio} task never ran in an idle pool: {:?}",
            pool.stats()
        );
    }
    let s = pool.stats();
    let total = submitted.load(SeqCst) + 6 + 5;
    assert_eq!(
        s.completed + s.cancelled + s.panicked,
        total,
        "counts do not add up ({} cancelled by us): {s:?}",
        cancelled_by_us.load(SeqCst)
    );
    assert_eq!(s.cancelled, cancelled_by_us.load(SeqCst), "{s:?}");
    assert!(pool.join(LONG));
}

/// Fan-in: N tasks each make a timed wait on one gate task of the same pool.
/// Every one of them counts as blocked, and each lets one more worker
/// start, up to the cap of compensation (256 beyond `max_workers`): past
/// it, the rest wait in the queue and their timed waits run out.
#[test]
fn timed_waits_on_one_gate_bound_threads() {
    let max = 2;
    let n = 300;
    let pool = Pool::builder().max_workers(max).build().unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let gate = pool.submit(move || {
        let _ = rx.recv_timeout(LONG);
    });
    let gate = Arc::new(gate);
    let waiters: Vec<_> = (0..n)
        .map(|_| {
            let g = Arc::clone(&gate);
            pool.submit(move || g.wait_timeout(ms(1500)))
        })
        .collect();
    let start = Instant::now();
    let mut peak = 0;
    while start.elapsed() < ms(1000) {
        peak = peak.max(pool.stats().workers);
        thread::sleep(ms(5));
    }
    tx.send(()).unwrap();
    for w in waiters {
        assert!(w.wait_timeout(LONG));
    }
    eprintln!("peak workers {peak} with max_workers {max} and {n} waiters on one gate");
    assert!(pool.join(LONG));
    assert!(
        peak <= max + COMPENSATION_CAP,
        "peak workers {peak} with max_workers {max}: compensation is capped at {COMPENSATION_CAP}"
    );
    assert!(peak > max, "no worker compensated for the blocked waiters");
}

/// A chain of timed waits: each level submits the next and waits for it
/// with a timeout. One thread per level.
#[test]
fn nested_timed_wait_chain_thread_count() {
    let max = 1;
    let depth = 40;
    let pool = Pool::builder().max_workers(max).build().unwrap();
    let peak = Arc::new(AtomicUsize::new(0));
    fn level(pool: Pool, left: usize, peak: Arc<AtomicUsize>) -> usize {
        peak.fetch_max(pool.stats().workers, SeqCst);
        if left == 0 {
            return 0;
        }
        let p = pool.clone();
        let pk = Arc::clone(&peak);
        let t = pool.submit(move || level(p, left - 1, pk));
        match t.result_timeout(LONG) {
            Ok(v) => v + 1,
            Err(_) => 0,
        }
    }
    let p = pool.clone();
    let pk = Arc::clone(&peak);
    let top = pool.submit(move || level(p, depth, pk));
    assert_eq!(top.result_timeout(LONG * 2), Ok(depth));
    let peak = peak.load(SeqCst);
    eprintln!("peak workers {peak} for a timed chain of depth {depth}, max_workers {max}");
    let s = settle(&pool, max, ms(3000));
    assert!(s.workers <= max, "{s:?}");
    assert!(pool.join(LONG));
}

/// A worker blocked in a timed wait, a backlog, and the waits ending while
/// the surplus workers are busy: surplus workers retire after their task.
#[test]
fn surplus_workers_busy_when_wait_ends_retire_later() {
    let max = 2;
    let pool = Pool::builder()
        .max_workers(max)
        .idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    for round in 0..20 {
        let p = pool.clone();
        let outers: Vec<_> = (0..max)
            .map(|_| {
                let p = p.clone();
                pool.submit(move || {
                    let backlog: Vec<_> =
                        (0..6).map(|_| p.submit(|| thread::sleep(ms(3)))).collect();
                    let _ = backlog[5].wait_timeout(ms(4));
                    backlog
                })
            })
            .collect();
        for o in outers {
            for t in o.join().unwrap() {
                assert!(t.wait_timeout(LONG));
            }
        }
        let s = settle(&pool, max, ms(2000));
        assert!(s.workers <= max, "round {round}: {s:?}");
    }
    assert!(pool.join(LONG));
}

/// The pool-level variant: every task calls `wait_completion` on its own
/// pool (which cannot succeed while the callers are themselves active).
/// Each caller counts as blocked and lets one more worker start, which
/// takes the next caller: the whole queue ends up on threads of its own.
#[test]
fn pool_level_waits_from_every_task_bound_threads() {
    let max = 2;
    let n = 40;
    let pool = Pool::builder().max_workers(max).build().unwrap();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let p = pool.clone();
            pool.submit(move || p.wait_completion(ms(800)))
        })
        .collect();
    let start = Instant::now();
    let mut peak = 0;
    while start.elapsed() < ms(600) {
        peak = peak.max(pool.stats().workers);
        thread::sleep(ms(5));
    }
    for t in tasks {
        assert!(t.wait_timeout(LONG));
    }
    let s = settle(&pool, max, ms(3000));
    eprintln!(
        "peak workers {peak} with max_workers {max}; settled {s:?} after {:?}",
        start.elapsed()
    );
    assert!(pool.join(LONG));
    assert!(
        peak <= max + n,
        "peak workers {peak} with max_workers {max}: more than one worker per blocked waiter"
    );
}

/// Late `on_done` callbacks: one registered by another thread while the
/// value is lent runs next on the lending thread, after the first; the
/// registering thread returns at once.
#[test]
fn late_callbacks_queue_behind_the_lent_value() {
    let t = pymt::spawn(|| String::from("v"));
    assert!(t.wait_timeout(LONG));
    let (in_first_tx, in_first_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let t1 = t.clone();
    let o1 = Arc::clone(&order);
    let a = thread::spawn(move || {
        t1.on_done(move |r| {
            o1.lock()
                .unwrap()
                .push(format!("first {:?} on {:?}", r, thread::current().name()));
            in_first_tx.send(()).unwrap();
            let _ = release_rx.recv_timeout(LONG);
        });
    });
    in_first_rx.recv_timeout(LONG).unwrap();
    assert_eq!(t.try_result(), None, "value lent: try_result says None");
    let o2 = Arc::clone(&order);
    let registered = bounded(ms(2000), {
        let t2 = t.clone();
        move || {
            t2.on_done(move |r| {
                o2.lock().unwrap().push(format!("second {:?}", r));
            })
        }
    });
    assert!(
        registered.is_some(),
        "on_done blocked while another callback held the value"
    );
    release_tx.send(()).unwrap();
    a.join().unwrap();
    assert_eq!(t.result_timeout(LONG), Ok("v".to_string()));
    let order = order.lock().unwrap().clone();
    assert_eq!(order.len(), 2, "{order:?}");
    assert!(
        order[0].starts_with("first") && order[1].starts_with("second"),
        "{order:?}"
    );
}
