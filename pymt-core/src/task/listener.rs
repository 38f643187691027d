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
    /// The attribute macro's `callback` / `on_error`, without an allocation.
    Hooks {
        on_success: Option<fn(&T)>,
        on_error: Option<fn(&TaskError)>,
    },
    Waker(Waker),
    Signal(Arc<Signal>, usize),
}

impl<T> Listener<T> {
    pub(crate) fn runs_code(&self) -> bool {
        matches!(self, Listener::Callback(_) | Listener::Hooks { .. })
    }

    pub(crate) fn reads_failure(&self) -> bool {
        match self {
            Listener::Callback(_) => true,
            Listener::Hooks { on_error, .. } => on_error.is_some(),
            _ => false,
        }
    }

    /// Wakes a waker or signal listener (code listeners never reach here).
    pub(crate) fn wake(self) {
        match self {
            Listener::Waker(waker) => waker.wake(),
            Listener::Signal(signal, index) => signal.notify(index),
            Listener::Callback(_) | Listener::Hooks { .. } => {}
        }
    }

    pub(crate) fn call(self, result: &Result<T, TaskError>) {
        match self {
            Listener::Callback(f) => unwind::contain("an on_done callback", || f(result)),
            Listener::Hooks {
                on_success,
                on_error,
            } => match (result, on_success, on_error) {
                (Ok(value), Some(f), _) => unwind::contain("a task callback", || f(value)),
                (Err(e @ TaskError::Panicked { .. }), _, Some(f)) => {
                    unwind::contain("a task on_error callback", || f(e))
                }
                _ => {}
            },
            Listener::Waker(waker) => waker.wake(),
            Listener::Signal(signal, index) => signal.notify(index),
        }
    }
}
