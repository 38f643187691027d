//! Catching user panics and turning their payloads into messages.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

/// Runs `f`, turning a panic into its message.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| message(&*payload))
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

/// Runs a user callback whose panic must not hurt the task or the pool:
/// the panic is caught and logged with `what` naming the callback.
pub(crate) fn contain(what: &str, f: impl FnOnce()) {
    if let Err(message) = catch(f) {
        report_error!("pymt: {what} panicked: {message}");
    }
}

/// A name std accepts for a thread: interior NUL bytes (which make
/// `thread::Builder::spawn` panic) become U+FFFD.
pub(crate) fn thread_name(name: &str) -> String {
    name.replace('\0', "\u{FFFD}")
}

/// Aborts the process if pool-internal code unwinds: an internal panic would
/// otherwise leave counters and waiters in a state where handles hang.
pub(crate) struct AbortOnPanic;

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("pymt: internal invariant broken while unwinding; aborting");
            std::process::abort();
        }
    }
}
