//! What the review files' loom models share (`tests/loom.rs` keeps its own
//! `model`, which also counts the interleavings it explored).
#![allow(dead_code)]

use pymt_core::Pool;

/// Checks `f` under loom at 2 preemptions unless `LOOM_MAX_PREEMPTIONS`
/// says otherwise, with room for the real FIFO's longer executions.
pub(crate) fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.max_branches = builder.max_branches.max(20_000);
    builder.check(f);
}

/// A pool of exactly one worker, started up front.
pub(crate) fn one_worker_pool() -> Pool {
    Pool::builder()
        .min_workers(1)
        .max_workers(1)
        .build()
        .unwrap()
}
