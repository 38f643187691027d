//! The lock-free MPMC FIFO queues of a pool: the lane for priority 0
//! (nearly every submission), which workers block on, and the inbox of
//! ranked entries, which a worker moves into the ordered queue under the
//! lock. Neither needs the pool mutex to push.
//!
//! A normal build uses a crossbeam channel: it spins briefly before
//! parking and wakes a receiver only when one is registered, which is what
//! gives the round trip its speed and an idle pool its zero CPU. Under loom
//! a mutex-and-condvar queue with the same contract stands in (loom cannot
//! see inside crossbeam).

use std::time::Duration;

/// Why a blocking pop returned without an entry.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TimedOut;

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

    pub(crate) fn try_pop(&self) -> Option<T> {
        self.rx.try_recv().ok()
    }

    /// Blocks until an entry arrives, or `timeout` passes (`None`: no limit).
    pub(crate) fn pop_wait(&self, timeout: Option<Duration>) -> Result<T, TimedOut> {
        match timeout {
            None => self.rx.recv().map_err(|_| TimedOut),
            Some(timeout) => self.rx.recv_timeout(timeout).map_err(|_| TimedOut),
        }
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

    /// Loom's timed waits never time out: modelled as untimed.
    pub(crate) fn pop_wait(&self, _timeout: Option<Duration>) -> Result<T, TimedOut> {
        let mut entries = self.lock();
        loop {
            if let Some(entry) = entries.pop_front() {
                return Ok(entry);
            }
            entries = self
                .ready
                .wait(entries)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}
