//! From the second review: `shutdown` (now waiting for `queued == 0`), `join`, detach
//! with late pushes racing the close, and blocked workers.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Pool, Task};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

/// Submitters hammer a pool while it shuts down (or joins, or is dropped):
/// the close returns within its bound, nothing stays counted, and every
/// closure is dropped once the handles are gone (no entry left behind).
#[test]
fn late_pushes_racing_close_leave_nothing_behind() {
    for round in 0..60u64 {
        let pool = Pool::builder()
            .max_workers(1 + (round % 3) as usize)
            .build()
            .unwrap();
        let marker = Arc::new(());
        let stop = Arc::new(AtomicBool::new(false));
        let submitters: Vec<_> = (0..2)
            .map(|k| {
                let p = pool.clone();
                let m = Arc::clone(&marker);
                let stop = Arc::clone(&stop);
                thread::spawn(move || {
                    let mut handles: Vec<Task<()>> = Vec::new();
                    let mut i = 0i32;
                    while !stop.load(SeqCst) && i < 5000 {
                        let m = Arc::clone(&m);
                        let prio = [0, 0, 5, -5, 90, -90][((i + k) % 6) as usize];
                        if i % 4 == 0 {
                            let _ = p.execute(move || drop(m));
                        } else {
                            handles.push(p.submit_with_priority(prio, move || drop(m)));
                        }
                        i += 1;
                    }
                    handles
                })
            })
            .collect();
        thread::sleep(Duration::from_micros(200 + round * 37 % 800));
        let start = Instant::now();
        let mode = round % 3;
        let ok = match mode {
            0 => pool.shutdown(ms(2000)),
            1 => pool.join(ms(2000)),
            _ => {
                // The last handle of an unnamed pool: detach.
                true
            }
        };
        let took = start.elapsed();
        stop.store(true, SeqCst);
        let handles: Vec<Task<()>> = submitters
            .into_iter()
            .flat_map(|s| s.join().unwrap())
            .collect();
        assert!(
            ok,
            "round {round} mode {mode}: close failed after {took:?}: {:?}",
            pool.stats()
        );
        assert!(took < ms(2500), "round {round}: close took {took:?}");
        if mode == 2 {
            drop(pool);
            for h in &handles {
                assert!(
                    h.wait_timeout(LONG),
                    "round {round}: a task never ended after detach"
                );
            }
        } else {
            for h in &handles {
                assert!(h.wait_timeout(LONG), "round {round}: a task never ended");
            }
            let start = Instant::now();
            while pool.stats().workers > 0 && start.elapsed() < LONG {
                thread::sleep(ms(2));
            }
            let s = pool.stats();
            assert_eq!(
                (s.queued, s.active, s.workers),
                (0, 0, 0),
                "round {round}: {s:?}"
            );
            drop(pool);
        }
        drop(handles);
        let start = Instant::now();
        while Arc::strong_count(&marker) > 1 && start.elapsed() < ms(3000) {
            thread::sleep(ms(2));
        }
        assert_eq!(
            Arc::strong_count(&marker),
            1,
            "round {round} mode {mode}: closures still alive after the pool and handles are gone"
        );
    }
}

/// Workers blocked in timed waits on tasks queued in their own pool when
/// `shutdown` comes: the queued tasks are cancelled, the waits end, and
/// shutdown returns well before the waits' own deadlines.
#[test]
fn shutdown_while_workers_block_in_timed_waits() {
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
    // Two gates occupy... the waiters' targets stay queued behind a
    // high-priority blocker that holds every spare worker.
    let mut waiters = Vec::new();
    for _ in 0..2 {
        let p = pool.clone();
        let rx = gate_rx.clone();
        waiters.push(pool.submit(move || {
            // Keep the compensating workers busy with blockers first.
            let blockers: Vec<_> = (0..3)
                .map(|_| {
                    let rx = rx.clone();
                    p.submit_with_priority(10, move || {
                        let _ = rx.recv_timeout(LONG);
                    })
                })
                .collect();
            let target = p.submit(|| 1);
            let start = Instant::now();
            let r = target.wait_timeout(ms(5000));
            (r, start.elapsed(), blockers)
        }));
    }
    thread::sleep(ms(200));
    let start = Instant::now();
    let p = pool.clone();
    let sd = thread::spawn(move || p.shutdown(ms(3000)));
    thread::sleep(ms(100));
    drop(gate_tx); // blockers see a disconnect and return
    let ok = sd.join().unwrap();
    let took = start.elapsed();
    eprintln!("shutdown took {took:?}, ok {ok}, {:?}", pool.stats());
    for w in waiters {
        match w.result_timeout(LONG) {
            Ok((r, waited, _)) => {
                eprintln!("waiter: ended {r} after {waited:?}");
                assert!(
                    waited < ms(3000),
                    "a timed wait outlived the shutdown: {waited:?}"
                );
            }
            Err(e) => {
                eprintln!("waiter: {e:?}");
                assert_eq!(e, pymt::TaskError::Cancelled);
            }
        }
    }
    assert!(ok);
    assert!(took < ms(2000), "shutdown took {took:?}");
}

/// `shutdown` called from a task on the pool while other workers sit in
/// timed waits: it returns, and the pool's counts end at zero.
#[test]
fn shutdown_from_a_worker_while_others_wait() {
    for _ in 0..20 {
        let pool = Pool::builder().max_workers(3).build().unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let p = pool.clone();
        let r = Arc::clone(&rx);
        let far = pool.submit(move || {
            let _ = r.lock().unwrap().recv_timeout(ms(3000));
        });
        let far = Arc::new(far);
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let f = Arc::clone(&far);
                pool.submit(move || f.wait_timeout(ms(3000)))
            })
            .collect();
        thread::sleep(ms(20));
        let closer = pool.submit(move || p.shutdown(ms(300)));
        let ok = closer.result_timeout(LONG);
        drop(tx);
        for w in waiters {
            assert!(w.wait_timeout(LONG));
        }
        eprintln!("closer: {ok:?} {:?}", pool.stats());
        assert!(ok.is_ok());
        let start = Instant::now();
        while pool.stats().workers > 0 && start.elapsed() < LONG {
            thread::sleep(ms(5));
        }
        let s = pool.stats();
        assert_eq!((s.queued, s.active, s.workers), (0, 0, 0), "{s:?}");
    }
}

/// A cancelled task's `on_done` callback shuts the pool down (a common
/// "on failure, stop everything" hook). The callback runs inside the outer
/// shutdown's `end_queued`, whose other entries are already out of the
/// queue but still counted in `queued`: the inner shutdown, which now waits
/// for `queued == 0`, can only time out.
#[test]
fn shutdown_from_a_cancelled_tasks_callback_returns_promptly() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let blocker = pool.submit(move || {
        started_tx.send(()).unwrap();
        let _ = rx.recv_timeout(LONG);
    });
    started_rx.recv_timeout(LONG).unwrap();
    let first = pool.submit(|| 1);
    let others: Vec<_> = (0..3).map(|i| pool.submit(move || i)).collect();
    let inner = Arc::new(std::sync::Mutex::new(None));
    let (p, i) = (pool.clone(), Arc::clone(&inner));
    first.on_done(move |r| {
        if r.is_err() {
            let start = Instant::now();
            let ok = p.shutdown(ms(2000));
            *i.lock().unwrap() = Some((ok, start.elapsed()));
        }
    });
    let p = pool.clone();
    let outer = thread::spawn(move || {
        let start = Instant::now();
        let ok = p.shutdown(LONG);
        (ok, start.elapsed())
    });
    thread::sleep(ms(100));
    tx.send(()).unwrap();
    let (outer_ok, outer_took) = outer.join().unwrap();
    let inner = *inner.lock().unwrap();
    eprintln!("outer shutdown {outer_ok} after {outer_took:?}; inner (in the callback) {inner:?}");
    assert!(blocker.wait_timeout(LONG));
    for o in &others {
        assert!(o.is_cancelled());
    }
    let (inner_ok, inner_took) = inner.expect("the callback ran");
    assert!(
        inner_ok && inner_took < ms(1000),
        "shutdown from a cancelled task's callback: {inner_ok} after {inner_took:?}"
    );
}
