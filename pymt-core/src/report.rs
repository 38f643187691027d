//! Where the runtime reports failures nobody else will see (an unread panic,
//! a panicking callback, a thread that could not start): the `log` facade at
//! error level with the default `log` feature, standard error without it, so
//! no failure vanishes silently either way.

/// Reports a runtime failure; arguments as `format!`.
macro_rules! report_error {
    ($($arg:tt)*) => {{
        #[cfg(feature = "log")]
        {
            log::error!($($arg)*);
        }
        #[cfg(not(feature = "log"))]
        {
            eprintln!($($arg)*);
        }
    }};
}
