//! How a thread waits for a task's outcome: a short backoff (spins, then
//! yields) to catch a result that is microseconds away, then a sleep on the
//! task's condvar, announced in the slot so the finishing thread notifies
//! only when someone sleeps.

use super::cell::Cell;
use super::locked::Locked;
use super::options::Options;
use crate::sync::{Instant, MutexGuard};

/// Spins doubling up to 2^SPIN_STEPS, then up to YIELD_STEPS yields (which
/// let the thread finishing the task run on a busy core), as crossbeam's
/// channels do. Bounded, so a long wait is a real sleep.
#[cfg(not(loom))]
const SPIN_STEPS: u32 = 6;
#[cfg(not(loom))]
const YIELD_STEPS: u32 = 4;

/// Re-checks `ready` with the backoff above; true once it holds.
#[cfg(not(loom))]
pub(crate) fn backoff_until(mut ready: impl FnMut() -> bool) -> bool {
    for step in 0..=SPIN_STEPS + YIELD_STEPS {
        if ready() {
            return true;
        }
        if step <= SPIN_STEPS {
            for _ in 0..1u32 << step {
                crate::sync::spin_loop();
            }
        } else {
            std::thread::yield_now();
        }
    }
    ready()
}

/// Under loom one check covers the fast path; more would only multiply the
/// interleavings to explore.
#[cfg(loom)]
pub(crate) fn backoff_until(mut ready: impl FnMut() -> bool) -> bool {
    ready()
}

impl<T, F, O: Options<T>> Cell<T, F, O> {
    /// Sleeps on the task's condvar until `ready(slot)` or the deadline;
    /// true if ready.
    pub(super) fn sleep_until<'a>(
        &'a self,
        mut slot: MutexGuard<'a, Locked<T, F, O::Permit>>,
        deadline: Option<Instant>,
        ready: impl FnMut(&mut Locked<T, F, O::Permit>) -> bool,
    ) -> (MutexGuard<'a, Locked<T, F, O::Permit>>, bool) {
        slot.extras().sleepers += 1;
        let (mut slot, done) = crate::deadline::wait_on(&self.header().cond, slot, deadline, ready);
        slot.extras().sleepers -= 1;
        (slot, done)
    }

    /// Waits until the value is not lent to a callback (see `Stage::Lent`)
    /// or the deadline passes.
    pub(super) fn until_returned<'a>(
        &'a self,
        slot: MutexGuard<'a, Locked<T, F, O::Permit>>,
        deadline: Option<Instant>,
    ) -> MutexGuard<'a, Locked<T, F, O::Permit>> {
        if !slot.stage.is_lent() {
            return slot;
        }
        self.sleep_until(slot, deadline, |slot| !slot.stage.is_lent())
            .0
    }
}
