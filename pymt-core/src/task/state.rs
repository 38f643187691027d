//! Task identity and the task state machine.
//!
//! The state lives in one `AtomicU8`. Leaving a pending state is a claim: the
//! single compare-and-swap winner (a worker, a canceller, a waiting worker
//! running the task inline) owns the job from then on. Final states are only
//! stored together with the result, under the result lock, so a handle that
//! sees a final state always finds the result.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::sync::AtomicU8;

/// Unique identity of a task, `Copy + Eq + Hash + Display`.
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// let a = pymt::spawn(|| 1);
/// let b = pymt::spawn(|| 2);
/// assert_ne!(a.id(), b.id());
/// assert_eq!(a.clone().id(), a.id());
/// println!("{}", a.id()); // task#N
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(u64);

impl TaskId {
    pub(crate) fn next() -> TaskId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TaskId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The id as a number (unique within the process, never reused).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert!(pymt::spawn(|| ()).id().as_u64() > 0);
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task#{}", self.0)
    }
}

/// Where a task is in its life. A task ends in exactly one of `Succeeded`,
/// `Panicked`, `Cancelled` or `Rejected`.
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// let task = pymt::spawn(|| 5);
/// task.wait();
/// assert_eq!(task.state(), pymt::TaskState::Succeeded);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Queued, or waiting in a limiter for a permit.
    Pending,
    /// The body is running.
    Running,
    /// The body returned a value.
    Succeeded,
    /// The body panicked.
    Panicked,
    /// Cancelled before it ran; it never will.
    Cancelled,
    /// Refused by a pool or worker that no longer accepts work.
    Rejected,
}

impl TaskState {
    /// True for the four final states.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert!(pymt::TaskState::Cancelled.is_final());
    /// assert!(!pymt::TaskState::Running.is_final());
    /// ```
    pub fn is_final(self) -> bool {
        !matches!(self, TaskState::Pending | TaskState::Running)
    }
}

// Raw states. Order matters: everything from SUCCEEDED on is final.
pub(crate) const DEFERRED: u8 = 0; // waiting in a limiter, not yet in a queue
pub(crate) const QUEUED: u8 = 1;
pub(crate) const RUNNING: u8 = 2;
pub(crate) const ABORTING: u8 = 3; // claimed by a canceller; result not yet stored
pub(crate) const SUCCEEDED: u8 = 4;
pub(crate) const PANICKED: u8 = 5;
pub(crate) const CANCELLED: u8 = 6;
pub(crate) const REJECTED: u8 = 7;

/// The atomic state word of one task.
pub(crate) struct AtomicState(AtomicU8);

impl AtomicState {
    pub(crate) fn new(raw: u8) -> Self {
        AtomicState(AtomicU8::new(raw))
    }

    pub(crate) fn load(&self) -> u8 {
        self.0.load(Ordering::Acquire)
    }

    pub(crate) fn is_final(&self) -> bool {
        self.load() >= SUCCEEDED
    }

    /// Moves `from` -> `to`; true for the single winner.
    pub(crate) fn transition(&self, from: u8, to: u8) -> bool {
        self.0
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Claims a pending (queued or deferred) task for cancellation; returns the
    /// state it was claimed from.
    pub(crate) fn claim_pending(&self) -> Option<u8> {
        let mut current = self.load();
        while current == QUEUED || current == DEFERRED {
            match self
                .0
                .compare_exchange(current, ABORTING, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(current),
                Err(actual) => current = actual,
            }
        }
        None
    }

    /// Stores a final state; called with the result lock held.
    pub(crate) fn finish(&self, raw: u8) {
        debug_assert!(raw >= SUCCEEDED);
        self.0.store(raw, Ordering::Release);
    }

    pub(crate) fn public(&self) -> TaskState {
        match self.load() {
            DEFERRED | QUEUED | ABORTING => TaskState::Pending,
            RUNNING => TaskState::Running,
            SUCCEEDED => TaskState::Succeeded,
            PANICKED => TaskState::Panicked,
            CANCELLED => TaskState::Cancelled,
            _ => TaskState::Rejected,
        }
    }
}
