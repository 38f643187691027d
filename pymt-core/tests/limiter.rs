//! `Limiter` and `Permit`: a counting semaphore with FIFO waiters.

use pymt_core as pymt;

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;

use common::{join, join_thread, ms, spawn_blocked, Gate, OpenOnDrop, Record, Started, LONG};
use pymt::{Limiter, Permit};

fn assert_limiter_traits<T: Clone + Send + Sync + std::fmt::Debug>() {}
fn assert_permit_traits<T: Send + 'static + std::fmt::Debug>() {}

#[test]
fn limiter_and_permit_have_the_contract_traits() {
    assert_limiter_traits::<Limiter>();
    assert_permit_traits::<Permit>();
}

static SHARED: Limiter = Limiter::new(2);
static ANOTHER: Limiter = Limiter::new(3);

#[test]
fn new_is_a_const_fn_usable_in_a_static() {
    assert_eq!(SHARED.capacity(), 2);
    assert_eq!(ANOTHER.capacity(), 3);
    assert_eq!(ANOTHER.available(), 3);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(|| {
                let _permit = SHARED.acquire_timeout(LONG).expect("a permit");
                assert!(SHARED.available() <= 1);
            })
        })
        .collect();
    for h in handles {
        join_thread(h);
    }
    assert_eq!(SHARED.available(), 2);
}

#[test]
#[should_panic(expected = "at least one permit")]
fn new_with_zero_permits_panics() {
    let _ = Limiter::new(std::hint::black_box(0));
}

#[test]
fn acquire_and_release_on_drop() {
    let l = Limiter::new(2);
    assert_eq!((l.capacity(), l.available()), (2, 2));
    let a = l.acquire();
    assert_eq!(l.available(), 1);
    let b = l.acquire();
    assert_eq!(l.available(), 0);
    assert_eq!(l.capacity(), 2);
    drop(a);
    assert_eq!(l.available(), 1);
    drop(b);
    assert_eq!(l.available(), 2);
}

#[test]
fn try_acquire_never_blocks() {
    let l = Limiter::new(1);
    let p = l.try_acquire().expect("one permit free");
    assert!(l.try_acquire().is_none());
    assert!(l.try_acquire().is_none());
    drop(p);
    assert!(l.try_acquire().is_some());
    assert_eq!(l.available(), 1, "the permit above was dropped at once");
}

#[test]
fn acquire_timeout_gives_up_then_succeeds() {
    let l = Limiter::new(1);
    let held = l.acquire();
    assert!(l.acquire_timeout(ms(10)).is_none());
    assert_eq!(l.available(), 0);
    drop(held);
    let p = l.acquire_timeout(ms(0)).expect("free now");
    drop(p);
    assert!(l.acquire_timeout(LONG).is_some());
}

#[test]
fn acquire_timeout_is_woken_by_a_release() {
    let l = Limiter::new(1);
    let held = l.acquire();
    let l2 = l.clone();
    let waiter = spawn_blocked("limiter-waiter", move || l2.acquire_timeout(LONG).is_some());
    drop(held);
    assert!(join_thread(waiter));
    assert_eq!(l.available(), 1);
}

#[test]
fn a_timed_out_waiter_leaves_the_queue() {
    let l = Limiter::new(1);
    let held = l.acquire();
    assert!(l.acquire_timeout(ms(5)).is_none());
    drop(held);
    // The abandoned waiter must not swallow the released permit.
    assert_eq!(l.available(), 1);
    assert!(l.try_acquire().is_some());
}

#[test]
fn blocking_acquire_waits_for_a_release() {
    let l = Limiter::new(1);
    let held = l.acquire();
    let got = Record::new();
    let (l2, g) = (l.clone(), got.clone());
    let waiter = spawn_blocked("limiter-acquire", move || {
        let p = l2.acquire();
        g.push("acquired");
        drop(p);
    });
    assert!(
        got.get().is_empty(),
        "acquire returned while no permit was free"
    );
    drop(held);
    join_thread(waiter);
    assert_eq!(got.get(), ["acquired"]);
    assert_eq!(l.available(), 1);
}

#[test]
fn run_holds_a_permit_for_the_call() {
    let l = Limiter::new(2);
    let inside = l.run(|| l.available());
    assert_eq!(inside, 1);
    assert_eq!(l.available(), 2);
    assert_eq!(l.run(|| "value"), "value");
}

#[test]
fn permits_are_released_on_panic() {
    let l = Limiter::new(1);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let _p = l.acquire();
        panic!("holding a permit");
    }));
    assert!(caught.is_err());
    assert_eq!(l.available(), 1);
    let caught = catch_unwind(AssertUnwindSafe(|| l.run(|| panic!("inside run"))));
    assert!(caught.is_err());
    assert_eq!(l.available(), 1);
    // Inside a task: the task panics, the permit comes back.
    let l2 = l.clone();
    let t = pymt::spawn(move || {
        let _p = l2.acquire();
        panic!("task holding a permit");
    });
    assert!(join(t).unwrap_err().is_panic());
    assert_eq!(l.available(), 1);
}

#[test]
fn a_permit_can_move_to_another_thread() {
    let l = Limiter::new(1);
    let p = l.acquire();
    assert_eq!(l.available(), 0);
    let h = thread::spawn(move || drop(p));
    join_thread(h);
    assert_eq!(l.available(), 1);
}

#[test]
fn clones_share_the_permits() {
    let a = Limiter::new(2);
    let b = a.clone();
    let c = b.clone();
    let p1 = a.acquire();
    assert_eq!((a.available(), b.available(), c.available()), (1, 1, 1));
    let p2 = c.try_acquire().expect("second permit");
    assert!(b.try_acquire().is_none());
    assert_eq!(b.capacity(), 2);
    drop(p1);
    assert_eq!(c.available(), 1);
    drop(p2);
    assert_eq!(b.available(), 2);
    // A clone of a static shares the static's permits.
    let s = SHARED_FOR_CLONE.clone();
    let p = s.acquire();
    assert_eq!(SHARED_FOR_CLONE.available(), 0);
    drop(p);
    assert_eq!(SHARED_FOR_CLONE.available(), 1);
}

static SHARED_FOR_CLONE: Limiter = Limiter::new(1);

#[test]
fn never_more_holders_than_permits() {
    let l = Limiter::new(3);
    let holders = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let pool = pymt::Pool::builder().max_workers(8).build().unwrap();
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let (l, holders, most) = (l.clone(), Arc::clone(&holders), Arc::clone(&most));
            pool.submit(move || {
                let _p = l.acquire_timeout(LONG).expect("a permit");
                let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                thread::yield_now();
                holders.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(join(t), Ok(()));
    }
    assert!(most.load(Ordering::SeqCst) <= 3);
    assert_eq!(l.available(), 3);
}

#[test]
fn waiters_are_served_in_arrival_order() {
    let l = Limiter::new(1);
    let held = l.acquire();
    let order = Record::new();
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let mut waiters = Vec::new();
    for i in 0..6 {
        let (l2, o, g) = (l.clone(), order.clone(), gate.clone());
        // Each waiter is queued (blocked in acquire) before the next arrives.
        waiters.push(spawn_blocked(&format!("fifo-{i}"), move || {
            let p = l2.acquire_timeout(LONG).expect("served");
            o.push(i);
            if i == 0 {
                // Hold the first permit until the test looked for barging.
                assert!(g.wait());
            }
            drop(p);
        }));
    }
    drop(held);
    // The released permit went to the first waiter, not to whoever asks now.
    assert!(l.try_acquire().is_none(), "a newcomer overtook the queue");
    gate.open();
    for w in waiters {
        join_thread(w);
    }
    assert_eq!(order.get(), (0..6).collect::<Vec<_>>());
    assert_eq!(l.available(), 1);
}

#[test]
fn a_permit_released_inside_a_task_wakes_a_waiting_task() {
    let l = Limiter::new(1);
    let pool = pymt::Pool::builder().max_workers(2).build().unwrap();
    let started = Started::new();
    let (tx, rx) = mpsc::channel::<()>();
    let (l1, s1) = (l.clone(), started.sender());
    let holder = pool.submit(move || {
        let _p = l1.acquire();
        s1.send(()).unwrap();
        rx.recv_timeout(LONG).is_ok()
    });
    started.wait(1);
    let l2 = l.clone();
    let waiter = pool.submit(move || l2.acquire_timeout(LONG).is_some());
    assert!(!waiter.wait_timeout(ms(20)));
    tx.send(()).unwrap();
    assert_eq!(join(holder), Ok(true));
    assert_eq!(join(waiter), Ok(true));
    assert_eq!(l.available(), 1);
}

#[test]
fn debug_shows_capacity() {
    let l = Limiter::new(4);
    let text = format!("{l:?}");
    assert!(text.contains('4'), "{text}");
    let p = l.acquire();
    assert!(!format!("{p:?}").is_empty());
}

// ===== the shared part's lifetime (recycled when nothing refers to it) =====

#[test]
fn a_permit_outlives_its_limiter() {
    let limiter = Limiter::new(2);
    let permit = limiter.acquire();
    let clone = limiter.clone();
    drop(limiter);
    assert_eq!(clone.available(), 1);
    drop(clone);
    // The last reference is the permit: its release recycles the shared
    // part, and a limiter made afterwards starts with every permit free.
    drop(permit);
    for _ in 0..4 {
        let fresh = Limiter::new(3);
        assert_eq!(fresh.available(), 3);
        let held = [fresh.acquire(), fresh.acquire()];
        assert_eq!(fresh.available(), 1);
        drop(held);
    }
}

#[test]
fn recycled_limiters_do_not_share_permits() {
    // Churn: limiters made and dropped from several threads, each checking
    // that its permits are its own while the others' come and go.
    let threads: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(|| {
                for round in 0..2_000 {
                    let limiter = Limiter::new(1 + round % 3);
                    let permit = limiter.acquire();
                    assert_eq!(limiter.available(), round % 3);
                    let other = limiter.clone();
                    drop(limiter);
                    let mover = thread::spawn(move || drop(permit));
                    mover.join().unwrap();
                    assert_eq!(other.available(), 1 + round % 3);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_limiter_never_used_costs_nothing_to_drop() {
    let limiter = Limiter::new(5);
    assert_eq!(limiter.capacity(), 5);
    drop(limiter);
}

/// `usize::MAX` is the natural "no limit": held as `u32::MAX` permits, it
/// never blocks (it used to hang the first caller).
#[test]
fn a_count_above_u32_max_is_no_limit() {
    for count in [
        usize::MAX,
        u32::MAX as usize,
        (u32::MAX as usize).saturating_add(1),
    ] {
        let limiter = Limiter::new(count);
        assert_eq!(limiter.capacity(), count);
        let held: Vec<_> = (0..100).map(|_| limiter.try_acquire()).collect();
        assert!(held.iter().all(Option::is_some), "count {count}");
        assert!(limiter.acquire_timeout(std::time::Duration::ZERO).is_some());
        drop(held);
        assert!(limiter.available() >= 100);
    }
}
