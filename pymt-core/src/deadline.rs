//! Timeouts as deadlines, and the one way the runtime waits for one.
//!
//! A timeout too large for `Instant` (such as `Duration::MAX`) means "no
//! limit", as in std's `recv_timeout`. Every blocking wait in pymt-core is
//! [`wait_on`] (a condvar with the state it guards) or [`park_until`] (a
//! parked thread that a releaser unparks by hand, as the limiter's FIFO
//! hand-off does): both absorb spurious wake-ups, recompute the time left
//! each round and never sleep past the deadline.

use std::sync::PoisonError;
use std::time::Duration;

use crate::sync::{thread, Condvar, Instant, MutexGuard};

/// The deadline `timeout` from now; `None` when it is beyond representation.
pub(crate) fn after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Time left until `deadline` (`Duration::MAX` for no deadline).
pub(crate) fn left(deadline: Option<Instant>) -> Duration {
    deadline.map_or(Duration::MAX, |d| {
        d.saturating_duration_since(Instant::now())
    })
}

/// Waits on `cv` (with `guard` on its mutex) until `ready` holds or the
/// deadline passes; true if ready. Whoever makes `ready` true must notify
/// `cv` while holding the mutex (or after taking it once).
pub(crate) fn wait_on<'a, S>(
    cv: &Condvar,
    mut guard: MutexGuard<'a, S>,
    deadline: Option<Instant>,
    mut ready: impl FnMut(&mut S) -> bool,
) -> (MutexGuard<'a, S>, bool) {
    loop {
        if ready(&mut guard) {
            return (guard, true);
        }
        let time_left = left(deadline);
        if time_left.is_zero() {
            return (guard, false);
        }
        guard = match deadline {
            None => cv.wait(guard).unwrap_or_else(PoisonError::into_inner),
            Some(_) => {
                cv.wait_timeout(guard, time_left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
    }
}

/// Parks this thread until `ready` holds or the deadline passes; true if
/// ready. Whoever makes `ready` true unparks this thread afterwards.
pub(crate) fn park_until(deadline: Option<Instant>, ready: impl Fn() -> bool) -> bool {
    loop {
        if ready() {
            return true;
        }
        match deadline {
            None => thread::park(),
            Some(_) => {
                let time_left = left(deadline);
                if time_left.is_zero() {
                    return ready();
                }
                thread::park_timeout(time_left);
            }
        }
    }
}
