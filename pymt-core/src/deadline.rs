//! Timeouts as deadlines. A timeout too large for `Instant` (such as
//! `Duration::MAX`) means "no limit", as in std's `recv_timeout`.

use std::time::Duration;

use crate::sync::Instant;

/// The deadline `timeout` from now; `None` when it is beyond representation.
pub(crate) fn after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Time left until `deadline` (`Duration::MAX` for no deadline).
pub(crate) fn left(deadline: Option<Instant>) -> Duration {
    deadline.map_or(Duration::MAX, |d| {
        d.saturating_duration_since(Instant::now())
    })
}
