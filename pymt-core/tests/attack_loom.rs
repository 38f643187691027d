//! Attack models (loom). Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p pymt-core --release --test attack_loom
//! ```
#![cfg(loom)]

use std::sync::Arc;
use std::time::Duration;

use pymt_core::Pool;

fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// A wake token taken off the lane by a busy worker that then finds a
/// ranked entry is put back into `returned`, a lane no blocked worker
/// watches; it is still counted in `tokens`, so the next ranked push sees
/// "one idle worker, one token on its way" and wakes nobody, while the idle
/// worker sleeps on. Here `b` waits for `c` to start: `c` must reach the
/// second worker, else loom reports a deadlock.
///
/// Fails today (loom: `deadlock; threads = [(Id(0), Blocked), (Id(1),
/// Blocked), (Id(2), Blocked)]`, then an abort from the worker guard).
/// Checked: putting a popped `Entry::Wake` back on the lane instead of
/// into `returned` (queue/mod.rs `Queue::pop`) makes this model pass.
#[test]
fn token_put_back_into_returned_is_not_lost() {
    model(|| {
        let pool = Pool::builder()
            .min_workers(2)
            .max_workers(2)
            .build()
            .unwrap();
        let a = pool.submit_with_priority(5, || ());
        let c_started = Arc::new((loom::sync::Mutex::new(false), loom::sync::Condvar::new()));
        let gate = Arc::clone(&c_started);
        let b = pool.submit_with_priority(5, move || {
            let (open, cv) = &*gate;
            let mut open = open.lock().unwrap();
            while !*open {
                open = cv.wait(open).unwrap();
            }
        });
        let opener = Arc::clone(&c_started);
        let c = pool.submit_with_priority(5, move || {
            let (open, cv) = &*opener;
            *open.lock().unwrap() = true;
            cv.notify_one();
        });
        assert_eq!(c.join(), Ok(()));
        assert_eq!(b.join(), Ok(()));
        assert_eq!(a.join(), Ok(()));
        assert!(pool.join(Duration::MAX));
    });
}
