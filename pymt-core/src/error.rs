//! Public error types: why a task failed, why a pool could not be built, why a
//! submission was refused.

use std::fmt;

/// Why a [`Task`](crate::Task) produced no value.
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// let task = pymt::spawn(|| -> u32 { panic!("boom") });
/// let err = task.join().unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err, pymt::TaskError::Panicked { message: "boom".into() });
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskError {
    /// The body panicked; `message` is the panic payload rendered as text.
    Panicked {
        /// The panic message (`"Box<dyn Any>"` when the payload was not a string).
        message: String,
    },
    /// The task was cancelled before it started and never ran.
    Cancelled,
    /// The task was submitted to a pool or worker that was shut down, joined or stopped.
    Rejected,
    /// A bounded wait ended before the task did.
    Timeout,
    /// The value was already moved out by `join` or `.await` on another handle.
    Taken,
}

impl TaskError {
    /// True if the task's body panicked.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert!(pymt::TaskError::Panicked { message: "x".into() }.is_panic());
    /// assert!(!pymt::TaskError::Cancelled.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked { .. })
    }

    /// True if the task was cancelled before it ran.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert!(pymt::TaskError::Cancelled.is_cancelled());
    /// assert!(!pymt::TaskError::Rejected.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }

    /// The panic message, if the body panicked.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let e = pymt::TaskError::Panicked { message: "bad".into() };
    /// assert_eq!(e.panic_message(), Some("bad"));
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            TaskError::Panicked { message } => Some(message),
            _ => None,
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked { message } => write!(f, "task panicked: {message}"),
            TaskError::Cancelled => f.write_str("task was cancelled before it ran"),
            TaskError::Rejected => {
                f.write_str("task was rejected: its pool or worker no longer accepts work")
            }
            TaskError::Timeout => f.write_str("timed out waiting for the task"),
            TaskError::Taken => f.write_str("the task's value was already taken by another handle"),
        }
    }
}

impl std::error::Error for TaskError {}

/// A [`PoolBuilder`](crate::PoolBuilder) setting or environment variable that
/// cannot make a pool.
///
/// The message names the offending value.
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// let err = pymt::Pool::builder().max_workers(0).build().unwrap_err();
/// assert!(err.to_string().contains("max_workers"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    message: String,
}

impl BuildError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        BuildError {
            message: message.into(),
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BuildError {}

/// Why [`Pool::try_submit`](crate::Pool::try_submit) refused a closure; the
/// closure is handed back.
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// # use std::time::Duration;
/// let pool = pymt::Pool::new();
/// assert!(pool.shutdown(Duration::from_secs(5)));
/// let err = pool.try_submit(|| 7).unwrap_err();
/// assert!(err.is_shutdown());
/// let f = err.into_inner();
/// assert_eq!(f(), 7);
/// ```
pub enum SubmitError<F> {
    /// The bounded queue is full.
    Full(F),
    /// The pool no longer accepts work.
    Shutdown(F),
}

impl<F> SubmitError<F> {
    /// Gives the refused closure back.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let e = pymt::SubmitError::Full(|| 1);
    /// assert_eq!((e.into_inner())(), 1);
    /// ```
    pub fn into_inner(self) -> F {
        match self {
            SubmitError::Full(f) | SubmitError::Shutdown(f) => f,
        }
    }

    /// True if the queue was full.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert!(pymt::SubmitError::Full(()).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, SubmitError::Full(_))
    }

    /// True if the pool was shut down.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert!(pymt::SubmitError::Shutdown(()).is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        matches!(self, SubmitError::Shutdown(_))
    }
}

impl<F> fmt::Debug for SubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Full(_) => f.write_str("Full(..)"),
            SubmitError::Shutdown(_) => f.write_str("Shutdown(..)"),
        }
    }
}

impl<F> fmt::Display for SubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Full(_) => f.write_str("the pool's queue is full"),
            SubmitError::Shutdown(_) => f.write_str("the pool no longer accepts work"),
        }
    }
}

impl<F> std::error::Error for SubmitError<F> {}
