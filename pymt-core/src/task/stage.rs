//! Where a task's closure and then its outcome live.
//!
//! One enum holds both, since a task never has them at once: a cell pays for
//! the larger of the closure and the value, not for both plus the padding of
//! two `Option`s. Failures other than the common unit ones are boxed, so a
//! `TaskError`'s message (24 bytes) does not widen every task.

use crate::error::TaskError;

// What readers borrow for the failures stored without a payload.
static CANCELLED: TaskError = TaskError::Cancelled;
static REJECTED: TaskError = TaskError::Rejected;
static TAKEN: TaskError = TaskError::Taken;

/// Whether a failure was read (or reported) already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Read {
    Yes,
    No,
}

/// A failure with a payload (in practice a panic).
pub(crate) struct Failure {
    error: TaskError,
    /// Whether someone read it; an unread panic is logged once.
    read: Read,
}

pub(crate) enum Stage<T, F> {
    /// Not started: the closure waits to be claimed.
    Job(F),
    /// Claimed: the closure was taken by the thread running or aborting it
    /// (whether it runs is the state word's business, not the stage's).
    Claimed,
    /// The outcome is known and being delivered (callbacks run, the permit
    /// is released); a permit arriving now is refused.
    Closing,
    Value(T),
    /// The value is lent to a callback registered after the end, which
    /// runs without the task's lock; it comes back to `Value` when the
    /// callback returns. Readers wait meanwhile: the callback has `&T`, and
    /// `T` need not be `Sync`.
    Lent,
    /// The value was moved out (`join`, `.await`, a scope's discard).
    Taken,
    Cancelled,
    Rejected,
    Failed(Box<Failure>),
}

impl<T, F> Stage<T, F> {
    /// The stage a finished task keeps; `read` says whether its failure
    /// was already read (by a callback) or reported.
    pub(crate) fn finished(result: Result<T, TaskError>, read: Read) -> Self {
        match result {
            Ok(value) => Stage::Value(value),
            Err(TaskError::Cancelled) => Stage::Cancelled,
            Err(TaskError::Rejected) => Stage::Rejected,
            Err(TaskError::Taken) => Stage::Taken,
            Err(error) => Stage::Failed(Box::new(Failure { error, read })),
        }
    }

    pub(crate) fn is_final(&self) -> bool {
        !matches!(self, Stage::Job(_) | Stage::Claimed | Stage::Closing)
    }

    /// A limiter permit may still be handed to the task.
    pub(crate) fn accepts_permit(&self) -> bool {
        matches!(self, Stage::Job(_) | Stage::Claimed)
    }

    /// Claims the closure, leaving `Running`.
    pub(crate) fn take_job(&mut self) -> Option<F> {
        match std::mem::replace(self, Stage::Claimed) {
            Stage::Job(job) => Some(job),
            other => {
                *self = other;
                None
            }
        }
    }

    pub(crate) fn into_job(self) -> Option<F> {
        match self {
            Stage::Job(job) => Some(job),
            _ => None,
        }
    }

    fn failure(&self) -> Option<&TaskError> {
        match self {
            Stage::Cancelled => Some(&CANCELLED),
            Stage::Rejected => Some(&REJECTED),
            Stage::Taken => Some(&TAKEN),
            Stage::Failed(failure) => Some(&failure.error),
            Stage::Job(_) | Stage::Claimed | Stage::Closing | Stage::Value(_) | Stage::Lent => None,
        }
    }

    /// The outcome of a final task, borrowed.
    pub(crate) fn outcome(&self) -> Option<Result<&T, &TaskError>> {
        match self {
            Stage::Value(value) => Some(Ok(value)),
            other => other.failure().map(Err),
        }
    }

    /// Records that the failure (if any) was read.
    pub(crate) fn observe(&mut self) {
        if let Stage::Failed(failure) = self {
            failure.read = Read::Yes;
        }
    }

    /// Moves the value out (later readers get `Taken`); a failure is cloned
    /// and counts as read. `None` until final.
    pub(crate) fn take(&mut self) -> Option<Result<T, TaskError>> {
        if let Stage::Value(_) = self {
            return match std::mem::replace(self, Stage::Taken) {
                Stage::Value(value) => Some(Ok(value)),
                _ => unreachable!("matched just above"),
            };
        }
        self.observe();
        self.failure().cloned().map(Err)
    }

    /// Moves the value out, if there is one, leaving `Taken`.
    pub(crate) fn take_value(&mut self) -> Option<T> {
        match self {
            Stage::Value(_) => self.take()?.ok(),
            _ => None,
        }
    }

    /// True while a callback borrows the value: readers wait.
    pub(crate) fn is_lent(&self) -> bool {
        matches!(self, Stage::Lent)
    }

    /// The outcome of a final task as an owned `Result` a callback can
    /// borrow without the task's lock: the value is moved out (the stage
    /// is `Lent` until `give_back`), a failure cloned. `None` until final.
    pub(crate) fn lend(&mut self) -> Option<Result<T, TaskError>> {
        if let Stage::Value(_) = self {
            let Stage::Value(value) = std::mem::replace(self, Stage::Lent) else {
                unreachable!("matched just above")
            };
            return Some(Ok(value));
        }
        self.failure().cloned().map(Err)
    }

    /// The callback is done with what `lend` gave it.
    pub(crate) fn give_back(&mut self, lent: Result<T, TaskError>) {
        if let (Stage::Lent, Ok(value)) = (&*self, lent) {
            *self = Stage::Value(value);
        }
    }

    /// The message of a panic nobody read, marking it read (so it is
    /// reported once).
    pub(crate) fn claim_unread_panic(&mut self) -> Option<String> {
        match self {
            Stage::Failed(failure) if failure.read == Read::No => match &failure.error {
                TaskError::Panicked { message } => {
                    failure.read = Read::Yes;
                    Some(message.clone())
                }
                _ => None,
            },
            _ => None,
        }
    }
}
