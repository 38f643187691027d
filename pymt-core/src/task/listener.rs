//! What a task notifies when it ends: callbacks, hooks, wakers, signals.

use std::sync::Arc;
use std::task::Waker;

use crate::error::TaskError;
use crate::unwind;
use crate::wait::signal::Signal;

/// An `on_done` callback.
pub(crate) type DoneCallback<T> = Box<dyn FnOnce(&Result<T, TaskError>) + Send>;

/// Something notified when a task finishes.
pub(crate) enum Listener<T> {
    /// `on_done`: runs before the result is published, on the finishing thread.
    Callback(DoneCallback<T>),
    Waker(Waker),
    Signal(Arc<Signal>, usize),
}

impl<T> Listener<T> {
    pub(crate) fn runs_code(&self) -> bool {
        matches!(self, Listener::Callback(_))
    }

    pub(crate) fn reads_failure(&self) -> bool {
        matches!(self, Listener::Callback(_))
    }

    /// Wakes a waker or signal listener (code listeners never reach here).
    pub(crate) fn wake(self) {
        match self {
            Listener::Waker(waker) => waker.wake(),
            Listener::Signal(signal, index) => signal.notify(index),
            Listener::Callback(_) => {}
        }
    }

    pub(crate) fn call(self, result: &Result<T, TaskError>) {
        match self {
            Listener::Callback(f) => unwind::contain("an on_done callback", || f(result)),
            Listener::Waker(waker) => waker.wake(),
            Listener::Signal(signal, index) => signal.notify(index),
        }
    }
}

/// The attribute macro's `callback` and `on_error`, kept inline in the
/// task's cell (see `options.rs`) and run before any `on_done` callback.
pub(crate) struct Hooks<T> {
    pub(crate) on_success: Option<fn(&T)>,
    pub(crate) on_error: Option<fn(&TaskError)>,
}

impl<T> Default for Hooks<T> {
    fn default() -> Self {
        Hooks {
            on_success: None,
            on_error: None,
        }
    }
}

impl<T> Hooks<T> {
    pub(crate) fn is_set(&self) -> bool {
        self.on_success.is_some() || self.on_error.is_some()
    }

    /// True if a panic reaches `on_error` (so it is not reported as unread).
    pub(crate) fn reads_failure(&self) -> bool {
        self.on_error.is_some()
    }

    pub(crate) fn call(&self, result: &Result<T, TaskError>) {
        match (result, self.on_success, self.on_error) {
            (Ok(value), Some(f), _) => unwind::contain("a task callback", || f(value)),
            (Err(e @ TaskError::Panicked { .. }), _, Some(f)) => {
                unwind::contain("a task on_error callback", || f(e))
            }
            _ => {}
        }
    }
}
