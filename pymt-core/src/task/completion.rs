//! The completion protocol: how a task that ran (or was aborted) ends.
//!
//! Its phases, in this order:
//!
//! 1. **Callbacks.** The attribute's hooks (inline in the cell's options),
//!    then `on_done` callbacks, run on the finishing thread, without the
//!    task's lock, borrowing the result. A callback may register more; they
//!    run too (the loop below).
//! 2. **Release.** The stage closes to permits (a permit arriving later is
//!    refused) and a permit the task held is released. Releasing may launch
//!    the limiter's next waiting task: that launch never blocks and never
//!    runs a task on this stack (see `launch.rs`).
//! 3. **Record.** The executor counts the outcome (`PoolStats`).
//! 4. **Publish.** Stage and state word take their final values under the
//!    lock; signals (`wait`, `as_completed`, `TaskSet`) hear of the end
//!    first, so "done" never precedes their notice.
//! 5. **Wake.** Sleepers are notified; wakers and signal wakers run once
//!    the lock is released (a waker may poll inline).
//! 6. **Report.** A panic that no callback read and no handle remains to
//!    read is logged.

use std::task::Waker;

use super::cell::{CallbackScope, Cell};
use super::listener::Listener;
use super::options::Options;
use super::stage::{Read, Stage};
use super::state::Outcome;
use crate::error::TaskError;
use crate::limiter::Permit;
use crate::unwind;

/// What the publishing step found it must do first.
enum Step<T> {
    /// Callbacks were registered meanwhile (phase 1 again).
    Callbacks(Result<T, TaskError>),
    /// A permit to release (phase 2), then try again.
    Release(Result<T, TaskError>, Permit),
    /// Published: what is left to wake.
    Published(Wakes<T>),
}

/// Phase 5 and 6: what the publisher wakes and reports after unlocking.
struct Wakes<T> {
    listeners: Vec<Listener<T>>,
    signal_wakers: Vec<Waker>,
    unread_panic: Option<String>,
}

impl<T: Send, F, O: Options<T>> Cell<T, F, O> {
    /// Ends the task with `result`, through the phases above. Called once
    /// per task (by the thread that claimed it), so the hooks run once.
    pub(super) fn complete(&self, mut result: Result<T, TaskError>) {
        let outcome = Outcome::of(&result);
        let mut read = self.run_hooks(&result, outcome);
        loop {
            if self.run_callbacks(&result, outcome) == Read::Yes {
                read = Read::Yes;
            }
            result = match self.publish(result, outcome, read) {
                Step::Callbacks(result) => result,
                Step::Release(result, permit) => {
                    drop(permit);
                    result
                }
                Step::Published(wakes) => return self.wake(wakes),
            };
        }
    }

    /// Phase 1, first: the attribute's hooks; whether `on_error` read a panic.
    fn run_hooks(&self, result: &Result<T, TaskError>, outcome: Outcome) -> Read {
        let Some(hooks) = self.options().hooks() else {
            return Read::No;
        };
        {
            let _scope = CallbackScope::enter(self.address());
            hooks.call(result);
        }
        if outcome == Outcome::Panicked && hooks.reads_failure() {
            Read::Yes
        } else {
            Read::No
        }
    }

    /// Phase 1: runs the callbacks registered so far; whether one of them
    /// read a panic (so it is not reported as unread).
    fn run_callbacks(&self, result: &Result<T, TaskError>, outcome: Outcome) -> Read {
        let code = {
            let mut slot = self.lock_raw();
            if !slot.has_code_listeners() {
                return Read::No;
            }
            slot.take_code_listeners()
        };
        let read = if outcome == Outcome::Panicked && code.iter().any(Listener::reads_failure) {
            Read::Yes
        } else {
            Read::No
        };
        let _scope = CallbackScope::enter(self.address());
        for listener in code {
            listener.call(result);
        }
        read
    }

    /// Phases 2 to 4 under the lock, or the step that must come first.
    fn publish(&self, result: Result<T, TaskError>, outcome: Outcome, read: Read) -> Step<T> {
        let header = self.header();
        let mut slot = self.lock_raw();
        if slot.has_code_listeners() {
            return Step::Callbacks(result);
        }
        if !matches!(slot.stage, Stage::Closing) {
            slot.stage = Stage::Closing;
            if let Some(permit) = slot.take_permit() {
                return Step::Release(result, permit);
            }
        }
        if let Some(executor) = &header.executor {
            executor.record(outcome);
        }
        let report = outcome == Outcome::Panicked && read == Read::No && !header.has_handles();
        let unread_panic = match (&result, report) {
            (Err(TaskError::Panicked { message }), true) => Some(message.clone()),
            _ => None,
        };
        let mut listeners = slot.take_listeners();
        let mut signal_wakers = Vec::new();
        listeners.retain(|listener| match listener {
            Listener::Signal(signal, index) => {
                signal_wakers.extend(signal.push(*index));
                false
            }
            _ => true,
        });
        let read = if report { Read::Yes } else { read };
        slot.stage = Stage::finished(result, read);
        header.state.publish(outcome);
        if slot.has_sleepers() {
            header.cond.notify_all();
        }
        Step::Published(Wakes {
            listeners,
            signal_wakers,
            unread_panic,
        })
    }

    /// Phases 5 and 6, with no lock held.
    fn wake(&self, wakes: Wakes<T>) {
        // A waker is user code: its panic must not unwind into the worker.
        for listener in wakes.listeners {
            unwind::contain("a task's waker", || listener.wake());
        }
        for waker in wakes.signal_wakers {
            unwind::contain("a waiter's waker", || waker.wake());
        }
        if let Some(message) = wakes.unread_panic {
            super::cell::report_unread_panic(self.header(), self.options().name(), &message);
        }
    }
}
