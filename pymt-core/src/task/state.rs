//! Task identity and the task state machine (the state word is read and
//! written only here, through named transitions).
//!
//! ```text
//!  Waiting ──try_schedule──▶ Queued ──try_start──▶ Running ──▶ Succeeded | Panicked
//!     │                        │
//!     └───try_claim_pending────┴──▶ Aborting ──▶ Cancelled | Rejected
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::TaskError;
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

// The raw states, private to this module: every other module moves a task
// through the named transitions below. Order matters: everything from
// SUCCEEDED on is final.
const DEFERRED: u8 = 0; // waiting (in a limiter), not yet in any queue
const QUEUED: u8 = 1;
const RUNNING: u8 = 2;
const ABORTING: u8 = 3; // claimed by a canceller; result not yet stored
const SUCCEEDED: u8 = 4;
const PANICKED: u8 = 5;
const CANCELLED: u8 = 6;
const REJECTED: u8 = 7;

/// Where a task was when a canceller claimed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Claimed {
    /// In an executor's queue (counted there).
    Queued,
    /// Waiting outside any queue (in a limiter).
    Waiting,
}

/// How a task ended, for the pool's statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Succeeded,
    Panicked,
    Cancelled,
    Rejected,
}

impl Outcome {
    pub(crate) fn of<T>(result: &Result<T, TaskError>) -> Outcome {
        match result {
            Ok(_) => Outcome::Succeeded,
            Err(TaskError::Panicked { .. }) => Outcome::Panicked,
            Err(TaskError::Cancelled) => Outcome::Cancelled,
            Err(_) => Outcome::Rejected,
        }
    }

    fn raw(self) -> u8 {
        match self {
            Outcome::Succeeded => SUCCEEDED,
            Outcome::Panicked => PANICKED,
            Outcome::Cancelled => CANCELLED,
            Outcome::Rejected => REJECTED,
        }
    }
}

/// Where a task starts its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// About to be queued by its creator (nobody else sees it yet).
    Queued,
    /// Waiting for a permit; queued later by [`AtomicState::try_schedule`].
    Waiting,
}

/// The atomic state word of one task.
///
/// Leaving a pending state is a claim: the single compare-and-swap winner
/// (a worker, a canceller, a waiting worker running the task inline) owns
/// the closure from then on. Final states are only stored together with
/// the result, under the task's lock, so a handle that sees a final state
/// always finds the result.
pub(crate) struct AtomicState(AtomicU8);

impl AtomicState {
    pub(crate) fn new(start: Start) -> Self {
        AtomicState(AtomicU8::new(match start {
            Start::Queued => QUEUED,
            Start::Waiting => DEFERRED,
        }))
    }

    fn load(&self) -> u8 {
        self.0.load(Ordering::Acquire)
    }

    fn transition(&self, from: u8, to: u8) -> bool {
        self.0
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub(crate) fn is_final(&self) -> bool {
        self.load() >= SUCCEEDED
    }

    pub(crate) fn is_running(&self) -> bool {
        self.load() == RUNNING
    }

    pub(crate) fn is_queued(&self) -> bool {
        self.load() == QUEUED
    }

    /// Queued -> running; true for the single winner, who runs the body.
    pub(crate) fn try_start(&self) -> bool {
        self.transition(QUEUED, RUNNING)
    }

    /// Waiting -> queued; true if the task was still waiting (not cancelled).
    pub(crate) fn try_schedule(&self) -> bool {
        self.transition(DEFERRED, QUEUED)
    }

    /// Claims a pending (queued or waiting) task to end it without running.
    pub(crate) fn try_claim_pending(&self) -> Option<Claimed> {
        let mut current = self.load();
        while current == QUEUED || current == DEFERRED {
            match self
                .0
                .compare_exchange(current, ABORTING, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if current == QUEUED => return Some(Claimed::Queued),
                Ok(_) => return Some(Claimed::Waiting),
                Err(actual) => current = actual,
            }
        }
        None
    }

    /// Stores the final state; called with the task's lock held.
    pub(crate) fn publish(&self, outcome: Outcome) {
        self.0.store(outcome.raw(), Ordering::Release);
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
