//! Adversarial review of three runtime changes: the one-word `Limiter` with
//! recycled `Shared` parts, options inline in the task cell (deferred
//! launches are the waiting cell), and per-worker completion tallies.
//!
//! Every test here is bounded (`within`, `bounded`, `LONG`). A test that
//! passes checks a suspicion that turned out fine; a failing one (if any)
//! reproduces a defect and says so in its comment.

use pymt_core as pymt;

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::{join, ms, within, Rng, LONG};
use pymt::__private::Launch;
use pymt::{Limiter, Permit, Pool, Task, TaskError, TaskState};

fn leaked(permits: usize) -> &'static Limiter {
    Box::leak(Box::new(Limiter::new(permits)))
}

// ===== the limiter's recycled shared parts =====

/// The last handle goes while a permit is out; the permit's drop recycles
/// the shared part; new limiters (one of which takes the recycled part)
/// must not see the old limiter's permits, nor each other's.
#[test]
fn a_recycled_shared_part_keeps_limiters_apart() {
    within("recycled shared", || {
        for _ in 0..200 {
            let a = Limiter::new(2);
            let a2 = a.clone();
            let p1 = a.acquire();
            let p2 = a2.acquire();
            assert_eq!(a.available(), 0);
            drop(a);
            drop(a2); // no handle left, two permits out
            let b = Limiter::new(5);
            let pb = b.acquire();
            drop(p1); // still one permit out: not recycled
            let c = Limiter::new(3);
            assert_eq!(c.available(), 3);
            drop(p2); // the word reaches 0: a's part is recycled
            let d = Limiter::new(4); // may take a's part
            assert_eq!(d.available(), 4);
            assert_eq!(b.available(), 4);
            assert_eq!(c.available(), 3);
            let held: Vec<Permit> = (0..4).map(|_| d.try_acquire().expect("d")).collect();
            assert!(d.try_acquire().is_none());
            assert_eq!((b.available(), c.available()), (4, 3));
            drop(held);
            drop(pb);
            assert_eq!((b.available(), c.available(), d.available()), (5, 3, 4));
        }
    });
}

/// The same, racing: permits of dropped limiters are released on another
/// thread while new limiters (maybe on recycled parts) count their own.
/// A part recycled while a permit still pointed at it would show up as a
/// new limiter with fewer (or more) permits than its capacity.
#[test]
fn permits_outliving_their_limiter_never_leak_into_a_new_one() {
    within("recycling under races", || {
        let (tx, rx) = mpsc::channel::<(Vec<Permit>, u64)>();
        let dropper = thread::spawn(move || {
            let mut rng = Rng::new(99);
            let mut parked: Vec<Vec<Permit>> = Vec::new();
            for (permits, _) in rx {
                parked.push(permits);
                // Release in a scrambled order, some later than others.
                while parked.len() > 3 {
                    let i = rng.below(parked.len() as u64) as usize;
                    drop(parked.swap_remove(i));
                }
            }
        });
        let threads: Vec<_> = (0..4u64)
            .map(|seed| {
                let tx = tx.clone();
                thread::spawn(move || {
                    let mut rng = Rng::new(seed + 1);
                    for round in 0..3000 {
                        let cap = 1 + rng.below(4) as usize;
                        let l = Limiter::new(cap);
                        let clones: Vec<Limiter> = (0..rng.below(3)).map(|_| l.clone()).collect();
                        let take = 1 + rng.below(cap as u64) as usize;
                        let permits: Vec<Permit> = (0..take)
                            .map(|i| match clones.get(i % 3) {
                                Some(c) => c.try_acquire().expect("free permit"),
                                None => l.try_acquire().expect("free permit"),
                            })
                            .collect();
                        assert_eq!(l.available(), cap - take, "round {round}");
                        if rng.below(2) == 0 {
                            drop(l);
                            drop(clones);
                            tx.send((permits, round)).unwrap();
                        } else {
                            tx.send((permits, round)).unwrap();
                            drop(clones);
                            drop(l);
                        }
                        // A fresh limiter: its own capacity, all free.
                        let fresh = Limiter::new(cap + 1);
                        let mine: Vec<Permit> = std::iter::from_fn(|| fresh.try_acquire())
                            .take(cap + 2)
                            .collect();
                        assert_eq!(mine.len(), cap + 1, "round {round}");
                        assert_eq!(fresh.available(), 0);
                        drop(mine);
                        assert_eq!(fresh.available(), cap + 1, "round {round}");
                    }
                })
            })
            .collect();
        drop(tx);
        for t in threads {
            t.join().expect("a limiter thread failed");
        }
        dropper.join().unwrap();
    });
}

/// A permit moved to another thread and a thread blocked in `acquire`
/// both outlive every `Limiter` handle except the waiter's own borrow; the
/// handoff must reach the waiter and the count come back.
#[test]
fn permits_held_across_the_limiters_drop_hand_off_and_return() {
    within("handoff after drop", || {
        for _ in 0..300 {
            let l = Limiter::new(1);
            let p = l.acquire();
            let l2 = l.clone();
            let waiter = thread::spawn(move || {
                let got = l2.acquire_timeout(LONG).is_some();
                (got, l2.available())
            });
            thread::yield_now();
            drop(l);
            let releaser = thread::spawn(move || drop(p));
            releaser.join().unwrap();
            let (got, after) = waiter.join().unwrap();
            assert!(got);
            assert_eq!(after, 1);
        }
    });
}

/// `acquire_timeout` racing a release: the permit either reaches the
/// waiter or goes back to the counter, never both, never neither.
#[test]
fn acquire_timeout_racing_a_release_loses_no_permit() {
    within("timeout vs release", || {
        let mut rng = Rng::new(7);
        for round in 0..2000 {
            let cap = 1 + rng.below(2) as usize;
            let l = Arc::new(Limiter::new(cap));
            let held: Vec<Permit> = (0..cap).map(|_| l.acquire()).collect();
            let waiters: Vec<_> = (0..1 + rng.below(3))
                .map(|i| {
                    let l = Arc::clone(&l);
                    let wait = Duration::from_micros(20 + 40 * i);
                    thread::spawn(move || l.acquire_timeout(wait).map(drop).is_some())
                })
                .collect();
            let spin = rng.below(60);
            thread::sleep(Duration::from_micros(spin));
            drop(held);
            for w in waiters {
                w.join().unwrap();
            }
            assert_eq!(l.available(), cap, "round {round}");
            let all: Vec<Permit> = std::iter::from_fn(|| l.try_acquire())
                .take(cap + 1)
                .collect();
            assert_eq!(all.len(), cap, "round {round}");
        }
    });
}

/// A count above `u32::MAX` is clamped in the word: many permits are
/// still free, and `available()` does not underflow.
#[test]
fn a_huge_count_is_clamped_without_underflow() {
    let l = Limiter::new(usize::MAX);
    let held: Vec<Permit> = (0..10).map(|_| l.acquire()).collect();
    assert_eq!(l.available(), usize::MAX - 10);
    drop(held);
    assert_eq!(l.available(), usize::MAX);
    let l = Limiter::new(u32::MAX as usize + 5);
    let _p = l.acquire();
    assert_eq!(l.available(), u32::MAX as usize + 4);
}

// ===== deferred launches (the waiting cell) =====

/// Deferred launches, some cancelled while waiting, the rest refused by a
/// pool that closed meanwhile: every task ends, the permits come back.
#[test]
fn deferred_launches_cancelled_or_refused_return_every_permit() {
    within("deferred cancelled/refused", || {
        for round in 0..50 {
            let limiter = leaked(2);
            let pool = Pool::builder().max_workers(2).build().unwrap();
            let held: Vec<Permit> = (0..2).map(|_| limiter.acquire()).collect();
            let tasks: Vec<Task<usize>> = (0..40)
                .map(|i| Launch::new().deferred(limiter).on(&pool, move || i))
                .collect();
            assert!(tasks.iter().all(|t| t.state() == TaskState::Pending));
            let cancelled: Vec<bool> = tasks
                .iter()
                .enumerate()
                .map(|(i, t)| i % 3 == 0 && t.cancel())
                .collect();
            if round % 2 == 0 {
                assert!(pool.join(LONG));
            } else {
                assert!(pool.shutdown(LONG));
            }
            // Released on another thread, racing more cancels.
            let t2: Vec<Task<usize>> = tasks.iter().skip(1).step_by(5).cloned().collect();
            let canceller = thread::spawn(move || t2.iter().filter(|t| t.cancel()).count());
            let releaser = thread::spawn(move || drop(held));
            releaser.join().unwrap();
            let late_cancels = canceller.join().unwrap();
            let mut rejected = 0;
            for (i, t) in tasks.into_iter().enumerate() {
                match join(t) {
                    Err(TaskError::Cancelled) => {}
                    Err(TaskError::Rejected) if cancelled[i] => {
                        panic!("round {round}: cancelled task {i} rejected")
                    }
                    Err(TaskError::Rejected) => rejected += 1,
                    other => panic!("round {round}: task {i} ended {other:?}"),
                }
            }
            let first = cancelled.iter().filter(|c| **c).count();
            assert_eq!(rejected + first + late_cancels, 40, "round {round}");
            assert_eq!(limiter.available(), 2, "round {round}");
        }
    });
}

/// A deferred launch granted its permit while its pool closes concurrently
/// (the release runs on one thread, the join on another).
#[test]
fn deferred_launch_racing_a_join_ends_and_returns_its_permit() {
    within("deferred vs join", || {
        for round in 0..300 {
            let limiter = leaked(1);
            let pool = Pool::builder().max_workers(1).build().unwrap();
            let held = limiter.acquire();
            let ran = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<Task<()>> = (0..4)
                .map(|_| {
                    let ran = Arc::clone(&ran);
                    Launch::new().deferred(limiter).on(&pool, move || {
                        ran.fetch_add(1, Ordering::SeqCst);
                    })
                })
                .collect();
            let barrier = Arc::new(Barrier::new(2));
            let b = Arc::clone(&barrier);
            let p = pool.clone();
            let joiner = thread::spawn(move || {
                b.wait();
                p.join(LONG)
            });
            barrier.wait();
            drop(held);
            assert!(joiner.join().unwrap());
            let mut ok = 0;
            for t in tasks {
                match join(t) {
                    Ok(()) => ok += 1,
                    Err(TaskError::Rejected) => {}
                    other => panic!("round {round}: {other:?}"),
                }
            }
            assert_eq!(ok, ran.load(Ordering::SeqCst), "round {round}");
            assert_eq!(limiter.available(), 1, "round {round}");
            let s = pool.stats();
            assert_eq!(
                (s.completed, s.queued, s.active),
                (ok, 0, 0),
                "round {round}: {s:?}"
            );
        }
    });
}

// ===== options inline: hooks, permits, panicking Drops =====

/// A value whose `Drop` panics, returned by a task with every inline
/// option (name, callback, on_error, a permit): the handle is dropped
/// unread, so the value drops on the worker. The worker survives, the
/// permit comes back, the counts are exact.
#[test]
fn a_panicking_value_drop_with_inline_options_hurts_nothing() {
    common::quiet_deliberate_panics("attack: deliberate");
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("attack: deliberate");
        }
    }
    fn on_ok(_: &Bomb) {
        panic!("attack: deliberate");
    }
    fn on_err(_: &TaskError) {
        panic!("attack: deliberate");
    }
    within("bomb values", || {
        let limiter = leaked(2);
        let pool = Pool::builder().max_workers(2).build().unwrap();
        let n = 60;
        for i in 0..n {
            let launch = Launch::new()
                .name("bomb")
                .callback(on_ok)
                .on_error(on_err)
                .permit(limiter.acquire());
            let t = launch.on(&pool, move || {
                if i % 4 == 0 {
                    panic!("attack: deliberate");
                }
                Bomb
            });
            if i % 2 == 0 {
                // The last handle may hold the finished value: its drop is
                // the caller's (as for any value), caught here.
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(t)));
                let _ = r;
            } else {
                assert!(t.wait_timeout(LONG));
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(t.join())));
                let _ = r;
            }
        }
        assert!(pool.wait_completion(LONG));
        assert_eq!(limiter.available(), 2);
        let s = pool.stats();
        assert_eq!((s.completed + s.panicked, s.panicked), (n, n / 4), "{s:?}");
        assert_eq!(join(pool.submit(|| 5)), Ok(5));
        assert!(pool.join(LONG));
    });
}

// ===== completion tallies =====

/// `wait_completion` then `stats()`: every job and every task finished
/// before the wait returned is counted, round after round, while idle
/// workers retire between rounds (their tallies move into the total).
#[test]
fn stats_count_every_completion_right_after_wait_completion() {
    within("stats after wait", || {
        let pool = Pool::builder()
            .max_workers(4)
            .idle_timeout(ms(1))
            .build()
            .unwrap();
        let mut expected = 0;
        let mut rng = Rng::new(3);
        for round in 0..300 {
            let jobs = rng.below(20) as usize;
            let tasks = rng.below(20) as usize;
            for _ in 0..jobs {
                pool.execute(|| ()).unwrap();
            }
            let handles: Vec<Task<()>> = (0..tasks).map(|_| pool.submit(|| ())).collect();
            assert!(pool.wait_completion(LONG));
            expected += jobs + tasks;
            let s = pool.stats();
            assert_eq!(s.completed, expected, "round {round}: {s:?}");
            assert_eq!((s.queued, s.active), (0, 0), "round {round}: {s:?}");
            drop(handles);
            if round % 50 == 0 {
                thread::sleep(ms(5)); // let idle workers retire
            }
        }
        assert!(pool.join(LONG));
        assert_eq!(pool.stats().completed, expected);
    });
}

/// Joining every task handle (not the pool): each task was recorded before
/// it published its end, so `completed` already counts it.
#[test]
fn stats_count_every_task_right_after_joining_its_handle() {
    within("stats after join", || {
        let pool = Pool::builder().max_workers(3).build().unwrap();
        let mut expected = 0;
        for round in 0..300 {
            let tasks: Vec<Task<usize>> = (0..8).map(|i| pool.submit(move || i)).collect();
            for t in tasks {
                join(t).unwrap();
                expected += 1;
                assert!(pool.stats().completed >= expected, "round {round}");
            }
            assert_eq!(pool.stats().completed, expected, "round {round}");
        }
        assert!(pool.join(LONG));
    });
}

/// Jobs run by a `Worker` and by a pool that is shut down and joined in
/// turns: the exiting workers' tallies are counted exactly once.
#[test]
fn tallies_of_exiting_workers_are_counted_once() {
    within("tallies at exit", || {
        for round in 0..100 {
            let pool = Pool::builder().max_workers(3).build().unwrap();
            let done = Arc::new(AtomicUsize::new(0));
            for _ in 0..30 {
                let done = Arc::clone(&done);
                pool.execute(move || {
                    done.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap();
            }
            let ok = if round % 2 == 0 {
                pool.join(LONG)
            } else {
                pool.shutdown(LONG)
            };
            assert!(ok);
            let s = pool.stats();
            assert_eq!(s.workers, 0, "{s:?}");
            assert_eq!(
                s.completed,
                done.load(Ordering::SeqCst),
                "round {round}: {s:?}"
            );
            assert_eq!(s.completed + s.cancelled, 30, "round {round}: {s:?}");
        }
    });
}

// ===== borrowed targets =====

/// The last handles of an unnamed pool are dropped on several threads
/// while others still launch on it through their clones: every task ends
/// and every one submitted before the pool was detached runs.
#[test]
fn dropping_pool_handles_on_other_threads_during_launches() {
    within("handles dropped mid-launch", || {
        for _ in 0..50 {
            let pool = Pool::builder().max_workers(2).build().unwrap();
            let barrier = Arc::new(Barrier::new(5));
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let pool = pool.clone();
                    let barrier = Arc::clone(&barrier);
                    thread::spawn(move || {
                        barrier.wait();
                        let tasks: Vec<Task<u32>> =
                            (0..200).map(|i| pool.submit(move || i)).collect();
                        drop(pool);
                        tasks
                    })
                })
                .collect();
            barrier.wait();
            drop(pool);
            for t in threads {
                for (i, task) in t.join().unwrap().into_iter().enumerate() {
                    assert_eq!(join(task), Ok(i as u32));
                }
            }
        }
    });
}

/// `Pool::scope` on a one-worker pool: scoped tasks borrow the stack,
/// one joins another inline, one panics; the scope returns after all.
#[test]
fn scope_with_the_new_cell() {
    common::quiet_deliberate_panics("attack: deliberate");
    within("scope", || {
        let pool = Pool::builder().max_workers(1).build().unwrap();
        for _ in 0..100 {
            let mut data = vec![1u64; 64];
            let sum = pool.scope(|s| {
                let (a, b) = data.split_at_mut(32);
                let ta = s.submit(move || {
                    a.iter_mut().for_each(|x| *x += 1);
                    a.iter().sum::<u64>()
                });
                let tb = s.submit(|| b.iter().sum::<u64>());
                let tp = s.submit(|| -> u64 { panic!("attack: deliberate") });
                assert!(tp.join().is_err());
                ta.join().unwrap() + tb.join().unwrap()
            });
            assert_eq!(sum, 64 + 32);
            assert_eq!(data.iter().sum::<u64>(), 96);
        }
        assert!(pool.join(LONG));
    });
}
