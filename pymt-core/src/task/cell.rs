//! The shared state behind a task: its header, its job, and its completion
//! (result slot, sleepers, listeners).
//!
//! One allocation holds all three (`Arc<Cell<T, F>>`); queues see it as
//! `Arc<dyn Run>`, handles as `Arc<dyn TaskCell<T>>`.

use std::borrow::Cow;
use std::cell::Cell as StdCell;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::task::Waker;

use super::state::{AtomicState, TaskId, CANCELLED, PANICKED, REJECTED, SUCCEEDED};
use crate::error::TaskError;
use crate::limiter::Permit;
use crate::pool::shared::Shared;
use crate::sync::{
    spin_loop, thread_local, AtomicBool, AtomicU32, Condvar, Instant, Mutex, MutexGuard,
};
use crate::unwind;
use crate::wait::signal::Signal;

/// How many times a waiter re-checks the state before parking: enough to
/// catch a result that is microseconds away without burning a core.
#[cfg(not(loom))]
const SPIN_LIMIT: u32 = 200;
/// Under loom one check covers the fast path; more would only multiply the
/// interleavings to explore.
#[cfg(loom)]
const SPIN_LIMIT: u32 = 1;

/// What every task carries besides its result type.
pub(crate) struct Header {
    pub(crate) id: TaskId,
    pub(crate) priority: i32,
    /// Boxed: a thin pointer costs the many unnamed tasks 8 bytes, not 24.
    name: Option<Box<Cow<'static, str>>>,
    pub(crate) state: AtomicState,
    stop: AtomicBool,
    /// Live `Task<T>` handles; when it drops to zero an unread panic is logged.
    /// 32 bits: overflowing it takes 2^32 live handles (64 GiB of them).
    handles: AtomicU32,
    /// The pool or worker the task belongs to (none for a thread per task).
    pub(crate) executor: Option<Arc<Shared>>,
}

impl Header {
    pub(crate) fn new(
        name: Option<Cow<'static, str>>,
        priority: i32,
        raw_state: u8,
        executor: Option<Arc<Shared>>,
    ) -> Self {
        Header {
            id: TaskId::next(),
            priority,
            name: name.map(Box::new),
            state: AtomicState::new(raw_state),
            stop: AtomicBool::new(false),
            handles: AtomicU32::new(1),
            executor,
        }
    }

    /// The name given at submission, if any.
    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref().map(|name| &**name)
    }

    pub(crate) fn request_stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// True if this task or its pool was asked to stop.
    pub(crate) fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Acquire)
            || self
                .executor
                .as_ref()
                .is_some_and(|executor| executor.stop_requested())
    }

    pub(crate) fn add_handle(&self) {
        if self.handles.fetch_add(1, Ordering::Relaxed) == u32::MAX {
            // Wrapped: the count would lie about the last handle. Like `Arc`
            // on overflow, stop rather than go on with a broken count.
            std::process::abort();
        }
    }

    /// Returns true when the last handle went away.
    pub(crate) fn drop_handle(&self) -> bool {
        self.handles.fetch_sub(1, Ordering::AcqRel) == 1
    }

    fn has_handles(&self) -> bool {
        self.handles.load(Ordering::Acquire) > 0
    }

    /// "task#3 'name' in pool 'p'", for log lines.
    pub(crate) fn describe(&self) -> String {
        let mut text = self.id.to_string();
        if let Some(name) = self.name() {
            text.push_str(&format!(" '{name}'"));
        }
        match &self.executor {
            Some(executor) => text.push_str(&format!(" in pool '{}'", executor.name())),
            None => text.push_str(" on its own thread"),
        }
        text
    }
}

/// An `on_done` callback.
pub(crate) type DoneCallback<T> = Box<dyn FnOnce(&Result<T, TaskError>) + Send>;

/// Something notified when a task finishes.
pub(crate) enum Listener<T> {
    /// `on_done`: runs before the result is published, on the finishing thread.
    Callback(DoneCallback<T>),
    /// The attribute macro's `callback` / `on_error`, without an allocation.
    Hooks {
        on_success: Option<fn(&T)>,
        on_error: Option<fn(&TaskError)>,
    },
    Waker(Waker),
    Signal(Arc<Signal>, usize),
}

impl<T> Listener<T> {
    fn runs_code(&self) -> bool {
        matches!(self, Listener::Callback(_) | Listener::Hooks { .. })
    }

    fn reads_failure(&self) -> bool {
        match self {
            Listener::Callback(_) => true,
            Listener::Hooks { on_error, .. } => on_error.is_some(),
            _ => false,
        }
    }

    /// Wakes a waker or signal listener (code listeners never reach here).
    fn wake(self) {
        match self {
            Listener::Waker(waker) => waker.wake(),
            Listener::Signal(signal, index) => signal.notify(index),
            Listener::Callback(_) | Listener::Hooks { .. } => {}
        }
    }

    fn call(self, result: &Result<T, TaskError>) {
        match self {
            Listener::Callback(f) => unwind::contain("an on_done callback", || f(result)),
            Listener::Hooks {
                on_success,
                on_error,
            } => match (result, on_success, on_error) {
                (Ok(value), Some(f), _) => unwind::contain("a task callback", || f(value)),
                (Err(e @ TaskError::Panicked { .. }), _, Some(f)) => {
                    unwind::contain("a task on_error callback", || f(e))
                }
                _ => {}
            },
            Listener::Waker(waker) => waker.wake(),
            Listener::Signal(signal, index) => signal.notify(index),
        }
    }
}

struct Slot<T> {
    /// `None` until the task is final; `Some(Err(Taken))` after `join`.
    result: Option<Result<T, TaskError>>,
    /// Threads blocked on the condvar: no notify syscall when zero.
    sleepers: u32,
    /// Whether a panic was read by someone (else it is logged once).
    observed: bool,
    /// Set once the permit was released: a permit arriving later is refused.
    permit_closed: bool,
    /// What few tasks need, allocated on first use: most tasks never get a
    /// listener or a permit, and an empty `Vec` alone would cost them 24 bytes.
    extras: Option<Box<Extras<T>>>,
}

struct Extras<T> {
    listeners: Vec<Listener<T>>,
    permit: Option<Permit>,
}

impl<T> Slot<T> {
    fn extras(&mut self) -> &mut Extras<T> {
        self.extras.get_or_insert_with(|| {
            Box::new(Extras {
                listeners: Vec::new(),
                permit: None,
            })
        })
    }

    fn listeners(&self) -> &[Listener<T>] {
        self.extras.as_ref().map_or(&[], |extras| &extras.listeners)
    }

    fn take_listeners(&mut self) -> Vec<Listener<T>> {
        self.extras
            .as_mut()
            .map(|extras| std::mem::take(&mut extras.listeners))
            .unwrap_or_default()
    }
}

thread_local! {
    /// The completion whose callbacks this thread is running, so a callback
    /// that waits on its own task fails loudly instead of deadlocking.
    static IN_CALLBACK: StdCell<usize> = const { StdCell::new(0) };
}

struct CallbackScope(usize);

impl CallbackScope {
    fn enter(address: usize) -> Self {
        CallbackScope(IN_CALLBACK.with(|c| c.replace(address)))
    }
}

impl Drop for CallbackScope {
    fn drop(&mut self) {
        IN_CALLBACK.with(|c| c.set(self.0));
    }
}

/// Result slot and wake-up machinery of one task.
pub(crate) struct Completion<T> {
    slot: Mutex<Slot<T>>,
    cond: Condvar,
}

impl<T> Completion<T> {
    pub(crate) fn new() -> Self {
        Completion {
            slot: Mutex::new(Slot {
                result: None,
                sleepers: 0,
                observed: false,
                permit_closed: false,
                extras: None,
            }),
            cond: Condvar::new(),
        }
    }

    fn address(&self) -> usize {
        self as *const Self as usize
    }

    fn lock_raw(&self) -> MutexGuard<'_, Slot<T>> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks for a handle operation; refuses (with a panic that the callback
    /// runner contains) when called from this task's own callback.
    #[track_caller]
    fn lock(&self) -> MutexGuard<'_, Slot<T>> {
        if IN_CALLBACK.with(StdCell::get) == self.address() {
            panic!("pymt: a task's on_done callback cannot wait on or read that same task; use the result passed to the callback");
        }
        self.lock_raw()
    }

    /// Finishes the task with `result`: runs callbacks, releases the permit,
    /// records pool statistics, publishes, then wakes sleepers and listeners.
    pub(crate) fn complete(&self, header: &Header, result: Result<T, TaskError>) {
        let raw = match &result {
            Ok(_) => SUCCEEDED,
            Err(TaskError::Panicked { .. }) => PANICKED,
            Err(TaskError::Cancelled) => CANCELLED,
            Err(_) => REJECTED,
        };
        loop {
            let mut slot = self.lock_raw();
            if slot.listeners().iter().any(Listener::runs_code) {
                let (code, rest): (Vec<_>, Vec<_>) = slot
                    .take_listeners()
                    .into_iter()
                    .partition(Listener::runs_code);
                slot.extras().listeners = rest;
                if raw == PANICKED && code.iter().any(Listener::reads_failure) {
                    slot.observed = true;
                }
                drop(slot);
                let _scope = CallbackScope::enter(self.address());
                for listener in code {
                    listener.call(&result);
                }
                continue;
            }
            if !slot.permit_closed {
                slot.permit_closed = true;
                if let Some(permit) = slot.extras.as_mut().and_then(|e| e.permit.take()) {
                    drop(slot);
                    drop(permit);
                    continue;
                }
            }
            if let Some(executor) = &header.executor {
                executor.record_outcome(raw);
            }
            let report = raw == PANICKED && !slot.observed && !header.has_handles();
            if report {
                slot.observed = true;
            }
            let message = match (&result, report) {
                (Err(TaskError::Panicked { message }), true) => Some(message.clone()),
                _ => None,
            };
            // Signals (TaskSet, as_completed, wait) hear of the end before
            // any handle can see it, so "done" never precedes the notice;
            // their async wakers run below, once the lock is released.
            let mut listeners = slot.take_listeners();
            let mut signal_wakers = Vec::new();
            listeners.retain(|listener| match listener {
                Listener::Signal(signal, index) => {
                    signal_wakers.extend(signal.push(*index));
                    false
                }
                _ => true,
            });
            slot.result = Some(result);
            header.state.finish(raw);
            if slot.sleepers > 0 {
                self.cond.notify_all();
            }
            drop(slot);
            for listener in listeners {
                listener.wake();
            }
            for waker in signal_wakers {
                waker.wake();
            }
            if let Some(message) = message {
                report_unread_panic(header, &message);
            }
            return;
        }
    }

    /// Blocks until the task is final or `deadline` passes; true if final.
    pub(crate) fn wait(&self, header: &Header, deadline: Option<Instant>) -> bool {
        for _ in 0..SPIN_LIMIT {
            if header.state.is_final() {
                return true;
            }
            spin_loop();
        }
        let mut slot = self.lock();
        while slot.result.is_none() {
            slot.sleepers += 1;
            slot = match deadline {
                None => self.cond.wait(slot).unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        slot.sleepers -= 1;
                        return false;
                    }
                    self.cond
                        .wait_timeout(slot, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            slot.sleepers -= 1;
        }
        true
    }

    /// Moves the value out of a final task (later readers get `Taken`).
    pub(crate) fn take(&self) -> Option<Result<T, TaskError>> {
        let mut slot = self.lock();
        let outcome = match slot.result.as_mut()? {
            Ok(_) => slot.result.replace(Err(TaskError::Taken)),
            Err(error) => Some(Err(error.clone())),
        };
        if matches!(outcome, Some(Err(TaskError::Panicked { .. }))) {
            slot.observed = true;
        }
        outcome
    }

    /// Reads a final task's outcome through `f`.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Result<T, TaskError>) -> R) -> Option<R> {
        let mut slot = self.lock();
        let result = slot.result.as_ref()?;
        let panicked = matches!(result, Err(TaskError::Panicked { .. }));
        let out = f(result);
        if panicked {
            slot.observed = true;
        }
        Some(out)
    }

    /// Adds a listener, or runs it now (under the lock) if already final.
    #[track_caller]
    pub(crate) fn listen(&self, listener: Listener<T>) {
        let mut slot = self.lock();
        let panicked = match slot.result.as_ref() {
            None => return slot.extras().listeners.push(listener),
            Some(result) => matches!(result, Err(TaskError::Panicked { .. })),
        };
        if panicked && listener.reads_failure() {
            slot.observed = true;
        }
        match slot.result.as_ref() {
            None => unreachable!("checked above, under the same lock"),
            Some(result) => match listener {
                Listener::Signal(signal, index) => {
                    drop(slot);
                    signal.notify(index);
                }
                Listener::Waker(waker) => {
                    drop(slot);
                    waker.wake();
                }
                code => {
                    let _scope = CallbackScope::enter(self.address());
                    code.call(result);
                }
            },
        }
    }

    /// Drops the value of a final task, leaving it `Taken` (a scope's
    /// borrowed results must not outlive the scope).
    pub(crate) fn discard(&self) {
        let value = {
            let mut slot = self.lock_raw();
            match slot.result {
                Some(Ok(_)) => slot.result.replace(Err(TaskError::Taken)),
                _ => None,
            }
        };
        unwind::contain("dropping a scoped task's value", move || drop(value));
    }

    /// Removes the listeners pointing at `signal` (a wait that gave up).
    pub(crate) fn unlisten(&self, signal: &Arc<Signal>) {
        if let Some(extras) = self.lock_raw().extras.as_mut() {
            extras
                .listeners
                .retain(|l| !matches!(l, Listener::Signal(s, _) if Arc::ptr_eq(s, signal)));
        }
    }

    /// `Future::poll`: the value if final, else registers `waker`.
    pub(crate) fn poll_take(&self, waker: &Waker) -> Option<Result<T, TaskError>> {
        {
            let mut slot = self.lock();
            if slot.result.is_none() {
                let listeners = &mut slot.extras().listeners;
                if !listeners
                    .iter()
                    .any(|l| matches!(l, Listener::Waker(w) if w.will_wake(waker)))
                {
                    listeners.push(Listener::Waker(waker.clone()));
                }
                return None;
            }
        }
        self.take()
    }

    /// Hands a limiter permit to the task; returns it if the task already ended.
    pub(crate) fn set_permit(&self, permit: Permit) -> Option<Permit> {
        let mut slot = self.lock_raw();
        if slot.permit_closed || slot.result.is_some() {
            return Some(permit);
        }
        slot.extras().permit = Some(permit);
        None
    }

    /// The last handle is gone: log a panic nobody read.
    pub(crate) fn last_handle_dropped(&self, header: &Header) {
        let mut slot = self.lock_raw();
        if slot.observed {
            return;
        }
        if let Some(Err(TaskError::Panicked { message })) = &slot.result {
            let message = message.clone();
            slot.observed = true;
            drop(slot);
            report_unread_panic(header, &message);
        }
    }
}

fn report_unread_panic(header: &Header, message: &str) {
    report_error!(
        "pymt: {} panicked and every handle was dropped without reading the failure: {message}",
        header.describe()
    );
}

/// Queue-side view of a task, independent of its result type.
pub(crate) trait Run: Send + Sync {
    fn header(&self) -> &Header;
    /// Runs the job of a task this thread claimed (state `RUNNING`).
    fn run_claimed(&self);
    /// Ends a task claimed for abort (state `ABORTING`) without running it.
    fn abort_claimed(&self, error: TaskError);
    /// See [`Completion::set_permit`].
    fn set_permit(&self, permit: Permit) -> Option<Permit>;
    /// Blocks until the task is final (no inline help: see `help`).
    fn wait_final(&self);
    /// See [`Completion::discard`].
    fn discard(&self);
}

/// Handle-side view of a task.
pub(crate) trait TaskCell<T>: Run {
    fn completion(&self) -> &Completion<T>;
    fn into_run(self: Arc<Self>) -> Arc<dyn Run>;
}

/// The one allocation per task.
pub(crate) struct Cell<T, F> {
    header: Header,
    completion: Completion<T>,
    job: Mutex<Option<F>>,
}

impl<T, F> Cell<T, F>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    pub(crate) fn new(header: Header, job: F) -> Arc<Self> {
        Arc::new(Cell::unshared(header, job))
    }

    /// The cell by value, for wrappers (scoped tasks) that allocate it.
    pub(crate) fn unshared(header: Header, job: F) -> Self {
        Cell {
            header,
            completion: Completion::new(),
            job: Mutex::new(Some(job)),
        }
    }

    pub(crate) fn completion(&self) -> &Completion<T> {
        &self.completion
    }

    pub(crate) fn header(&self) -> &Header {
        &self.header
    }

    fn take_job(&self) -> Option<F> {
        self.job
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Gives the closure back from a cell nobody else has seen.
    pub(crate) fn into_job(self: Arc<Self>) -> Option<F> {
        Arc::into_inner(self)?
            .job
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T, F> Run for Cell<T, F>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    fn header(&self) -> &Header {
        &self.header
    }

    fn run_claimed(&self) {
        let result = match self.take_job() {
            Some(job) => unwind::catch(job).map_err(|message| TaskError::Panicked { message }),
            // Unreachable by the claim protocol; ending the task beats hanging it.
            None => Err(TaskError::Cancelled),
        };
        self.completion.complete(&self.header, result);
    }

    fn abort_claimed(&self, error: TaskError) {
        let job = self.take_job();
        unwind::contain("dropping a cancelled task's closure", move || drop(job));
        self.completion.complete(&self.header, Err(error));
    }

    fn set_permit(&self, permit: Permit) -> Option<Permit> {
        self.completion.set_permit(permit)
    }

    fn wait_final(&self) {
        self.completion.wait(&self.header, None);
    }

    fn discard(&self) {
        self.completion.discard();
    }
}

impl<T, F> TaskCell<T> for Cell<T, F>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    fn completion(&self) -> &Completion<T> {
        Cell::completion(self)
    }

    fn into_run(self: Arc<Self>) -> Arc<dyn Run> {
        self
    }
}
