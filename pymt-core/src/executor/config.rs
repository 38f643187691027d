//! The fixed settings of an executor.

use std::time::Duration;

/// How worker threads are named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThreadNaming {
    /// `<name>-<n>`: a pool's workers.
    Numbered,
    /// Exactly `<name>`: a dedicated `Worker`'s one thread.
    Exact,
}

/// Whether a worker blocked in a wait that cannot help lets another start
/// (see `population.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compensation {
    /// A pool: one more worker may run while one is blocked.
    Allowed,
    /// A dedicated `Worker`: its tasks run on its one thread, always.
    Never,
}

/// Fixed settings of a pool or dedicated worker.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) name: String,
    pub(crate) min_workers: usize,
    pub(crate) max_workers: usize,
    /// `None`: idle workers never exit (dedicated `Worker`).
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) queue_capacity: Option<usize>,
    pub(crate) thread_naming: ThreadNaming,
    pub(crate) compensation: Compensation,
}

/// A name std accepts for a thread: interior NUL bytes (which make
/// `thread::Builder::spawn` panic) become U+FFFD.
pub(crate) fn thread_name(name: &str) -> String {
    name.replace('\0', "\u{FFFD}")
}

impl Config {
    /// The name of the `index`th worker thread.
    pub(crate) fn worker_thread_name(&self, index: usize) -> String {
        match self.thread_naming {
            ThreadNaming::Exact => thread_name(&self.name),
            ThreadNaming::Numbered => thread_name(&format!("{}-{index}", self.name)),
        }
    }
}
