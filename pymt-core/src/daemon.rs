//! Daemon workers behind `#[threaded(daemon)]`, and `join_daemons`.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::generations::Generations;
use crate::task::launch::Target;
use crate::worker::Worker;

/// Every daemon slot whose worker was ever started: one entry per
/// `#[threaded(daemon)]` function, so the list is bounded by the program.
static DAEMONS: Mutex<Vec<&'static DaemonSlot>> = Mutex::new(Vec::new());

/// The long-lived worker of one `#[threaded(daemon)]` function, started on
/// first call.
#[doc(hidden)]
pub struct DaemonSlot {
    name: &'static str,
    /// The worker, replaced once joined; a joined worker is kept (without
    /// its thread), so a call reads the slot without a lock.
    workers: Generations<Worker>,
}

impl DaemonSlot {
    /// A slot whose worker (named `name`) starts on first use.
    pub const fn new(name: &'static str) -> Self {
        DaemonSlot {
            name,
            workers: Generations::new(),
        }
    }

    /// Where the next call runs. The per-call check is a few atomic loads
    /// (the slot's newest worker and its closed flag), without a lock.
    #[inline]
    pub(crate) fn target(&'static self) -> Target<'static> {
        let mut started = false;
        let worker = self.workers.get(Worker::accepts_work, || {
            started = true;
            Worker::builder().name(self.name).build()
        });
        if started {
            self.register();
        }
        worker.target()
    }

    /// Listed after its worker is published: a `join_daemons` running
    /// meanwhile may miss the new worker (as it would a call made just
    /// after it), and the next one joins it.
    #[cold]
    fn register(&'static self) {
        let mut daemons = DAEMONS.lock().unwrap_or_else(PoisonError::into_inner);
        if !daemons.iter().any(|slot| std::ptr::eq(*slot, self)) {
            daemons.push(self);
        }
    }
}

impl std::fmt::Debug for DaemonSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonSlot")
            .field("name", &self.name)
            .finish()
    }
}

/// Finishes and stops every `#[threaded(daemon)]` worker; true if all
/// finished within `timeout`. A later call of such a function starts a
/// fresh worker.
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// # use std::time::Duration;
/// assert!(pymt::join_daemons(Duration::from_secs(10)));
/// ```
pub fn join_daemons(timeout: Duration) -> bool {
    let deadline = crate::deadline::after(timeout);
    // A copy, not the list itself: a `join_daemons` running at the same time
    // must find (and wait for) the same workers.
    let slots: Vec<&'static DaemonSlot> = DAEMONS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut all_done = true;
    for slot in slots {
        if let Some(worker) = slot.workers.newest() {
            all_done &= worker.join(crate::deadline::left(deadline));
        }
    }
    all_done
}
