//! The lock-free MPMC FIFO queues of a pool's rarest paths: the inbox of
//! ranked entries outside the levels' span and the `returned` lane.
//! Neither needs the pool mutex to push. (Priority 0, nearly every
//! submission, has its own lane, `main_lane.rs`, and each common non-zero
//! priority a level on the same FIFO, `levels.rs`.)
//!
//! A normal build uses a crossbeam channel. Under loom a mutex-and-condvar
//! queue with the same contract stands in (loom cannot see inside
//! crossbeam); it also stands in for the main lane and the levels in the
//! engine's models, with a blocking pop.

#[cfg(loom)]
use std::time::Duration;

/// Why a blocking pop returned without an entry.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unblocked {
    /// The timeout passed.
    TimedOut,
    /// Woken with the lane empty (another consumer took what the wake-up
    /// was for) while the caller's `elsewhere` saw entries in other lanes,
    /// which nothing else may wake this consumer for: it looks there.
    Elsewhere,
}

#[cfg(not(loom))]
pub(crate) struct Lane<T> {
    tx: crossbeam_channel::Sender<T>,
    rx: crossbeam_channel::Receiver<T>,
}

#[cfg(not(loom))]
impl<T> Lane<T> {
    pub(crate) fn new() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        Lane { tx, rx }
    }

    pub(crate) fn push(&self, entry: T) {
        // Both ends live in the same `Lane`: the channel cannot disconnect.
        if self.tx.send(entry).is_err() {
            unreachable!("the lane holds its own receiver");
        }
    }

    #[inline]
    pub(crate) fn try_pop(&self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

#[cfg(loom)]
pub(crate) struct Lane<T> {
    entries: crate::sync::Mutex<std::collections::VecDeque<T>>,
    ready: crate::sync::Condvar,
}

#[cfg(loom)]
impl<T> Lane<T> {
    pub(crate) fn new() -> Self {
        Lane {
            entries: crate::sync::Mutex::new(std::collections::VecDeque::new()),
            ready: crate::sync::Condvar::new(),
        }
    }

    fn lock(&self) -> crate::sync::MutexGuard<'_, std::collections::VecDeque<T>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn push(&self, entry: T) {
        self.lock().push_back(entry);
        self.ready.notify_one();
    }

    pub(crate) fn try_pop(&self) -> Option<T> {
        self.lock().pop_front()
    }

    /// As `try_pop`: nothing is ever half-pushed here.
    #[cfg_attr(pymt_loom_fifo, allow(dead_code))]
    pub(crate) fn drain_one(&self) -> Option<T> {
        self.try_pop()
    }

    /// Whether no entry is queued.
    #[cfg_attr(pymt_loom_fifo, allow(dead_code))]
    pub(crate) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// As the FIFO's: nothing is ever half-pushed here.
    #[cfg_attr(pymt_loom_fifo, allow(dead_code))]
    pub(crate) fn head_being_written(&self) -> bool {
        false
    }

    /// Loom's timed waits never time out: modelled as untimed.
    #[cfg_attr(pymt_loom_fifo, allow(dead_code))]
    pub(crate) fn pop_wait(
        &self,
        _timeout: Option<Duration>,
        elsewhere: impl Fn() -> bool,
    ) -> Result<T, Unblocked> {
        let mut entries = self.lock();
        let mut woken = false;
        loop {
            if let Some(entry) = entries.pop_front() {
                return Ok(entry);
            }
            if woken && elsewhere() {
                return Err(Unblocked::Elsewhere);
            }
            entries = self
                .ready
                .wait(entries)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            woken = true;
        }
    }
}
