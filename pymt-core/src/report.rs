//! Where the runtime reports failures nobody else will see (an unread panic,
//! a panicking callback, a thread that could not start): the `log` facade at
//! error level with the default `log` feature, standard error without it, so
//! no failure vanishes silently either way.
//!
//! A logger is user code: a panic inside it is caught here (and its payload
//! leaked rather than dropped), so reporting never unwinds into the runtime.

/// Reports a runtime failure; arguments as `format!`.
macro_rules! report_error {
    ($($arg:tt)*) => {
        $crate::report::emit(format_args!($($arg)*))
    };
}

/// Sends one report to its sink, containing a panicking logger.
pub(crate) fn emit(args: std::fmt::Arguments<'_>) {
    let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        #[cfg(feature = "log")]
        {
            log::error!("{args}");
        }
        #[cfg(not(feature = "log"))]
        {
            eprintln!("{args}");
        }
    }));
    if let Err(payload) = sent {
        // Dropping it could panic again; a leaked payload is the one
        // outcome that cannot escape.
        std::mem::forget(payload);
    }
}
