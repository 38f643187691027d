//! Containing the panics of user code: bodies, callbacks, hooks, and the
//! `Drop`s of closures, values and panic payloads.
//!
//! Containment cannot be escaped: a caught payload is dropped inside a
//! guard of its own, and a payload whose `Drop` panics again is leaked
//! (never dropped, never unwinding). Code that must not unwind at all
//! (`Pool::scope` finishing its tasks) runs under [`or_abort`], which
//! aborts the process as `std::thread::scope` does.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

/// Runs `f`, turning a panic into its message.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let text = message(&*payload);
        drop_payload(payload);
        text
    })
}

/// Drops a caught panic payload. Its `Drop` is user code and may panic
/// again: that second payload is leaked, so nothing escapes.
pub(crate) fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(again) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
        report_error!("pymt: a panic payload panicked when dropped; it was leaked");
    }
}

/// Renders a panic payload as text, as the default panic hook does.
pub(crate) fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

/// Runs user code whose panic must not hurt the task or the pool: the
/// panic is caught and logged with `what` naming the code.
pub(crate) fn contain(what: &str, f: impl FnOnce()) {
    if let Err(message) = catch(f) {
        report_error!("pymt: {what} panicked: {message}");
    }
}

/// Drops `value` (user code may run in its `Drop`), containing a panic.
pub(crate) fn drop_contained<T>(what: &str, value: T) {
    contain(what, move || drop(value));
}

/// Runs `f`, aborting the process if it unwinds: for code whose unwinding
/// would break an invariant others rely on (a scope returning while its
/// tasks still borrow the caller's stack).
pub(crate) fn or_abort<R>(what: &'static str, f: impl FnOnce() -> R) -> R {
    let guard = AbortOnPanic(what);
    let out = f();
    std::mem::forget(guard);
    out
}

/// Aborts the process if dropped while unwinding: an internal panic would
/// otherwise leave counters and waiters in a state where handles hang.
pub(crate) struct AbortOnPanic(pub(crate) &'static str);

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("pymt: {} unwound; aborting", self.0);
            std::process::abort();
        }
    }
}
