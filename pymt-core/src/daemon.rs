//! Daemon workers behind `#[threaded(daemon)]`, and `join_daemons`.

use std::sync::{Mutex, PoisonError, RwLock};
use std::time::Duration;

use crate::task::launch::Target;
use crate::worker::Worker;

/// Every daemon slot that ever started a worker.
static DAEMONS: Mutex<Vec<&'static DaemonSlot>> = Mutex::new(Vec::new());

/// The long-lived worker of one `#[threaded(daemon)]` function, started on
/// first call.
#[doc(hidden)]
#[derive(Debug)]
pub struct DaemonSlot {
    name: &'static str,
    worker: RwLock<Option<Worker>>,
}

impl DaemonSlot {
    /// A slot whose worker (named `name`) starts on first use.
    pub const fn new(name: &'static str) -> Self {
        DaemonSlot {
            name,
            worker: RwLock::new(None),
        }
    }

    /// Where the next call runs. The per-call check is one atomic load
    /// (the worker's closed flag), under a read lock that `join_daemons`
    /// needs in order to take the worker out.
    pub(crate) fn target(&'static self) -> Target {
        if let Some(worker) = &*self.worker.read().unwrap_or_else(PoisonError::into_inner) {
            if worker.accepts_work() {
                return worker.target();
            }
        }
        let mut slot = self.worker.write().unwrap_or_else(PoisonError::into_inner);
        match &*slot {
            Some(worker) if worker.accepts_work() => worker.target(),
            _ => {
                let worker = Worker::builder().name(self.name).build();
                let target = worker.target();
                let fresh = slot.replace(worker).is_none();
                drop(slot);
                if fresh {
                    DAEMONS
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(self);
                }
                target
            }
        }
    }

    fn take(&self) -> Option<Worker> {
        self.worker
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
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
    let slots: Vec<&'static DaemonSlot> =
        std::mem::take(&mut *DAEMONS.lock().unwrap_or_else(PoisonError::into_inner));
    let mut all_done = true;
    for slot in slots {
        if let Some(worker) = slot.take() {
            all_done &= worker.join(crate::deadline::left(deadline));
        }
    }
    all_done
}
