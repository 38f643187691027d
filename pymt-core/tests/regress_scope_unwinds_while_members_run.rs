//! Regression (soundness): `Pool::scope` must not return, by value or by
//! unwinding, while scoped tasks may still borrow the caller's stack.
//!
//! Defect: the scope's `finish` step ran outside any `catch_unwind`. If it
//! unwound, the scope returned (by unwinding) while members of a later batch
//! could still be running on workers with borrows of the caller's stack, and
//! undiscarded values / closures borrowing it could be dropped later by
//! whoever dropped the last `Arc` of their cell: the lifetime erasure's
//! invariant was broken from safe code.
//!
//! `finish` could unwind because the panic-containment helpers (`catch`,
//! `contain`) dropped the caught panic payload inside their own frame: a
//! payload whose `Drop` panics escaped. `finish` -> discarding each value
//! inside `contain` is such a path (a scoped task whose *value's* Drop
//! panics with such a payload); the inline-help path (`finish` -> help ->
//! run the claimed member -> `catch`) is another one. (`std::thread::scope`
//! aborts in exactly this situation: rust-lang/rust PR #94644.)
//!
//! The tests never perform the use-after-free: the late member checks a flag
//! set after `Pool::scope` returned and reports instead of touching the
//! borrowed data.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::Pool;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A panic payload whose Drop panics (unless already unwinding).
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("panic payload's Drop panicked");
        }
    }
}

/// A value whose Drop panics with a `Bomb` payload.
struct Evil;

impl Drop for Evil {
    fn drop(&mut self) {
        std::panic::panic_any(Bomb);
    }
}

/// Leaks a caught panic payload: it may be a `Bomb`, whose drop would panic
/// again here.
fn leak_payload<T>(caught: std::thread::Result<T>) -> Result<T, ()> {
    caught.map_err(std::mem::forget)
}

static RETURNED: AtomicBool = AtomicBool::new(false);
static LATE_MEMBER_SAW_RETURN: AtomicBool = AtomicBool::new(false);
static LATE_MEMBER_DONE: AtomicUsize = AtomicUsize::new(0);

/// The discard path: a member's value panics (with a `Bomb`) when the scope
/// drops it, while a member submitted later still borrows the caller's data.
#[test]
fn scope_returns_while_a_member_still_borrows_the_callers_stack() {
    let pool = Pool::builder().max_workers(4).build().unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let local = String::from("lives in the frame that calls Pool::scope");
        pool.scope(|s| {
            let local = &local;
            // A: after the scope body returned (so after `finish` took its
            // first batch), submits B, which borrows `local` for a while.
            s.submit(move || {
                std::thread::sleep(ms(50));
                s.submit(move || {
                    std::thread::sleep(ms(300));
                    if RETURNED.load(Ordering::SeqCst) {
                        // Touching `local` now would be a use-after-free.
                        LATE_MEMBER_SAW_RETURN.store(true, Ordering::SeqCst);
                    } else {
                        assert!(!local.is_empty());
                    }
                    LATE_MEMBER_DONE.fetch_add(1, Ordering::SeqCst);
                });
            });
            // Its value is discarded by `finish` after the first batch.
            s.submit(|| Evil);
        });
    }));
    RETURNED.store(true, Ordering::SeqCst);
    let b_done_at_return = LATE_MEMBER_DONE.load(Ordering::SeqCst);
    let outcome = leak_payload(outcome);
    eprintln!(
        "Pool::scope {}; late member finished before the return: {}",
        if outcome.is_err() {
            "unwound"
        } else {
            "returned"
        },
        b_done_at_return == 1
    );
    // Long enough for a late member (300 ms of sleep) to report.
    std::thread::sleep(ms(600));
    let saw = LATE_MEMBER_SAW_RETURN.load(Ordering::SeqCst);
    let joined = pool.join(LONG);
    assert!(
        !saw && b_done_at_return == 1,
        "Pool::scope returned (unwinding: {}) while a scoped task still held a borrow of the caller's stack",
        outcome.is_err()
    );
    assert!(joined, "the pool did not settle after the scope");
}

static RETURNED2: AtomicBool = AtomicBool::new(false);
static LATE2_SAW_RETURN: AtomicBool = AtomicBool::new(false);
static LATE2_RAN: AtomicBool = AtomicBool::new(false);

/// The inline-help path: the scope's caller is a worker of the pool, so
/// `finish` runs the first queued member itself; its body panics with a
/// payload whose Drop panics, the containment lets that escape, and the
/// scope unwinds with the second member still queued. It runs later,
/// borrowing a frame that is gone.
#[test]
fn scope_unwinds_from_an_inline_member_and_leaves_a_queued_one_behind() {
    let pool = Pool::builder().max_workers(2).build().unwrap();
    let (x_started_tx, x_started_rx) = std::sync::mpsc::channel();
    // X keeps the second worker busy, so the members stay queued for D.
    let x = pool.submit(move || {
        x_started_tx.send(()).unwrap();
        std::thread::sleep(ms(300));
    });
    x_started_rx.recv_timeout(LONG).unwrap();
    let p = pool.clone();
    let d = pool.submit(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let local = vec![1u8; 64];
            p.scope(|s| {
                let local = &local;
                s.submit(|| -> u8 { std::panic::panic_any(Bomb) });
                s.submit(move || {
                    LATE2_RAN.store(true, Ordering::SeqCst);
                    if RETURNED2.load(Ordering::SeqCst) {
                        LATE2_SAW_RETURN.store(true, Ordering::SeqCst);
                    } else {
                        assert_eq!(local.len(), 64);
                    }
                });
            });
        }));
        RETURNED2.store(true, Ordering::SeqCst);
        let late_ran_before_return = LATE2_RAN.load(Ordering::SeqCst);
        (leak_payload(r).is_err(), late_ran_before_return)
    });
    let (unwound, late_ran_before_return) = d.result_timeout(LONG).expect("D ended");
    assert!(x.wait_timeout(LONG));
    std::thread::sleep(ms(200));
    let saw = LATE2_SAW_RETURN.load(Ordering::SeqCst);
    eprintln!(
        "scope unwound: {unwound}; second member ran before the return: \
         {late_ran_before_return}; ran after it: {saw}"
    );
    // An escaped unwind can also leak the inline run's active count: join
    // cannot settle then, so do not wait long for it.
    let _ = pool.join(ms(500));
    assert!(
        late_ran_before_return && !saw,
        "Pool::scope returned (unwound: {unwound}) before its second member ran; it ran afterwards: {saw}"
    );
}
