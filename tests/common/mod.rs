//! Helpers shared by the facade's test files.
#![allow(dead_code)]

use std::panic;
use std::sync::Once;

/// Keeps the default panic hook quiet for panics whose message is exactly
/// `deliberate` (the tests' own), so real failures stand out in the output.
pub(crate) fn quiet_deliberate_panics(deliberate: &'static str) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let text = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            if text != Some(deliberate) {
                default(info);
            }
        }));
    });
}
