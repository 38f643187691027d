//! A completion signal shared by many tasks: each finishing task pushes its
//! index, one waiter pops indices in completion order.

use std::collections::VecDeque;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker};

use crate::sync::{Condvar, Instant, Mutex, MutexGuard};

#[derive(Default)]
struct State {
    ready: VecDeque<usize>,
    sleeping: bool,
    /// An async waiter (`TaskSet::join_next_async`).
    waker: Option<Waker>,
}

/// Completion order of a group of tasks (used by `wait`, `as_completed` and
/// `TaskSet`). Notifying costs no syscall unless the waiter sleeps.
#[derive(Default)]
pub(crate) struct Signal {
    state: Mutex<State>,
    cond: Condvar,
}

impl Signal {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that the task at `index` finished.
    pub(crate) fn notify(&self, index: usize) {
        if let Some(waker) = self.push(index) {
            waker.wake();
        }
    }

    /// Records that the task at `index` is finishing and wakes a sleeping
    /// thread; returns the async waiter's waker for the caller to wake once
    /// it holds no lock (a waker may poll inline).
    ///
    /// Whoever pops `index` must `wait` on that task before reading its
    /// state: the finishing thread publishes the result right after this.
    pub(crate) fn push(&self, index: usize) -> Option<Waker> {
        let mut state = self.lock();
        state.ready.push_back(index);
        if state.sleeping {
            self.cond.notify_one();
        }
        state.waker.take()
    }

    /// The next finished index, or registers `cx`'s waker.
    pub(crate) fn poll_next(&self, cx: &mut Context<'_>) -> Poll<usize> {
        let mut state = self.lock();
        match state.ready.pop_front() {
            Some(index) => Poll::Ready(index),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// The next finished index, if any, without blocking.
    pub(crate) fn try_next(&self) -> Option<usize> {
        self.lock().ready.pop_front()
    }

    /// The next finished index; `None` once `deadline` passes.
    pub(crate) fn next(&self, deadline: Option<Instant>) -> Option<usize> {
        let mut state = self.lock();
        if let Some(index) = state.ready.pop_front() {
            return Some(index);
        }
        state.sleeping = true;
        let (mut state, _) =
            crate::deadline::wait_on(&self.cond, state, deadline, |state| !state.ready.is_empty());
        state.sleeping = false;
        state.ready.pop_front()
    }
}
