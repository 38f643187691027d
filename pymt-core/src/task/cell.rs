//! The shared state behind a task: its header and, under one lock, its
//! stage (closure, then outcome) with the rarely needed extras.
//!
//! One allocation holds it all (`Arc<Cell<T, F>>`); queues see it as
//! `Arc<dyn Run>`, handles as `Arc<dyn TaskCell<T>>` (whose outcome side is
//! [`Completion<T>`], blind to the closure type). Every outstanding task
//! costs this allocation, so its layout is kept tight: see the size test at
//! the bottom.

use std::borrow::Cow;
use std::cell::Cell as StdCell;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::task::Waker;

use super::listener::Listener;
use super::stage::Stage;
use super::state::{AtomicState, TaskId, CANCELLED, PANICKED, REJECTED, SUCCEEDED};
use crate::error::TaskError;
use crate::limiter::Permit;
use crate::pool::shared::Shared;
use crate::sync::{thread_local, AtomicBool, AtomicU32, Condvar, Instant, Mutex, MutexGuard};
use crate::unwind;
use crate::wait::signal::Signal;

/// How a waiter backs off before parking, as crossbeam's channels do:
/// spins doubling up to 2^SPIN_STEPS, then up to YIELD_STEPS yields (which
/// let the thread finishing the task run on a busy core), then it parks.
/// Enough to catch a result that is microseconds away without burning a
/// core; bounded, so a long wait is a real sleep.
#[cfg(not(loom))]
const SPIN_STEPS: u32 = 6;
#[cfg(not(loom))]
const YIELD_STEPS: u32 = 4;

/// Re-checks `is_final` with the backoff above; true once it holds.
#[cfg(not(loom))]
fn backoff_until(is_final: impl Fn() -> bool) -> bool {
    for step in 0..=SPIN_STEPS + YIELD_STEPS {
        if is_final() {
            return true;
        }
        if step <= SPIN_STEPS {
            for _ in 0..1u32 << step {
                crate::sync::spin_loop();
            }
        } else {
            std::thread::yield_now();
        }
    }
    is_final()
}

/// Under loom one check covers the fast path; more would only multiply the
/// interleavings to explore.
#[cfg(loom)]
fn backoff_until(is_final: impl Fn() -> bool) -> bool {
    is_final()
}

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
    /// Where threads blocked on the outcome sleep. It belongs with the slot
    /// but lives here, in what would otherwise be the header's padding.
    cond: Condvar,
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
            cond: Condvar::new(),
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

/// The part of a task guarded by its lock.
struct Slot<T, F> {
    stage: Stage<T, F>,
    /// What few tasks need, allocated on first use: most tasks never get a
    /// listener, a permit or a sleeping waiter, and an empty `Vec` alone
    /// would cost each of them 24 bytes.
    extras: Option<Box<Extras<T>>>,
}

struct Extras<T> {
    listeners: Vec<Listener<T>>,
    permit: Option<Permit>,
    /// Threads blocked on the condvar: no notify syscall when zero.
    sleepers: u32,
}

impl<T, F> Slot<T, F> {
    fn extras(&mut self) -> &mut Extras<T> {
        self.extras.get_or_insert_with(Box::default)
    }

    fn has_code_listeners(&self) -> bool {
        self.extras
            .as_ref()
            .is_some_and(|extras| extras.listeners.iter().any(Listener::runs_code))
    }

    fn take_listeners(&mut self) -> Vec<Listener<T>> {
        self.extras
            .as_mut()
            .map(|extras| std::mem::take(&mut extras.listeners))
            .unwrap_or_default()
    }

    fn has_sleepers(&self) -> bool {
        self.extras
            .as_ref()
            .is_some_and(|extras| extras.sleepers > 0)
    }
}

impl<T> Default for Extras<T> {
    fn default() -> Self {
        Extras {
            listeners: Vec::new(),
            permit: None,
            sleepers: 0,
        }
    }
}

thread_local! {
    /// The task whose callbacks this thread is running, so a callback that
    /// waits on its own task fails loudly instead of deadlocking.
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

/// Handle-side view of a task's outcome, independent of its closure type.
pub(crate) trait Completion<T> {
    /// Blocks until the task is final or `deadline` passes; true if final.
    fn wait(&self, deadline: Option<Instant>) -> bool;
    /// Moves the value out of a final task (later readers get `Taken`).
    fn take(&self) -> Option<Result<T, TaskError>>;
    /// Calls `f` with a final task's outcome; false (without calling) if
    /// not final. Callers use `read`, its typed wrapper: a generic method
    /// would not be object safe.
    fn read_with(&self, f: &mut dyn FnMut(Result<&T, &TaskError>)) -> bool;
    /// Adds a listener, or runs it now (under the lock) if already final.
    fn listen(&self, listener: Listener<T>);
    /// Removes the listeners pointing at `signal` (a wait that gave up).
    fn unlisten(&self, signal: &Arc<Signal>);
    /// `Future::poll`: the value if final, else registers `waker`.
    fn poll_take(&self, waker: &Waker) -> Option<Result<T, TaskError>>;
    /// The last handle is gone: log a panic nobody read.
    fn last_handle_dropped(&self);
}

impl<T> dyn Completion<T> + '_ {
    /// Reads a final task's outcome through `f`.
    pub(crate) fn read<R>(&self, f: impl FnOnce(Result<&T, &TaskError>) -> R) -> Option<R> {
        let mut f = Some(f);
        let mut out = None;
        self.read_with(&mut |outcome| out = f.take().map(|f| f(outcome)));
        out
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
    /// Hands a limiter permit to the task; returns it if the task already
    /// ended (or is ending).
    fn set_permit(&self, permit: Permit) -> Option<Permit>;
    /// Blocks until the task is final (no inline help: see `help`).
    fn wait_final(&self);
    /// Drops the value of a final task, leaving it `Taken` (a scope's
    /// borrowed results must not outlive the scope).
    fn discard(&self);
}

/// Handle-side view of a task.
pub(crate) trait TaskCell<T>: Run {
    fn completion(&self) -> &dyn Completion<T>;
    fn into_run(self: Arc<Self>) -> Arc<dyn Run>;
}

/// The one allocation per task.
pub(crate) struct Cell<T, F> {
    header: Header,
    slot: Mutex<Slot<T, F>>,
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
            slot: Mutex::new(Slot {
                stage: Stage::Job(job),
                extras: None,
            }),
        }
    }

    pub(crate) fn header(&self) -> &Header {
        &self.header
    }

    /// Gives the closure back from a cell nobody else has seen.
    pub(crate) fn into_job(self: Arc<Self>) -> Option<F> {
        Arc::into_inner(self)?
            .slot
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
            .stage
            .into_job()
    }

    fn address(&self) -> usize {
        &self.header as *const Header as usize
    }

    fn lock_raw(&self) -> MutexGuard<'_, Slot<T, F>> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks for a handle operation; refuses (with a panic that the callback
    /// runner contains) when called from this task's own callback.
    #[track_caller]
    fn lock(&self) -> MutexGuard<'_, Slot<T, F>> {
        if IN_CALLBACK.with(StdCell::get) == self.address() {
            panic!("pymt: a task's on_done callback cannot wait on or read that same task; use the result passed to the callback");
        }
        self.lock_raw()
    }

    fn take_job(&self) -> Option<F> {
        self.lock_raw().stage.take_job()
    }

    /// Finishes the task with `result`: runs callbacks, releases the permit,
    /// records pool statistics, publishes, then wakes sleepers and listeners.
    fn complete(&self, result: Result<T, TaskError>) {
        let header = &self.header;
        let raw = match &result {
            Ok(_) => SUCCEEDED,
            Err(TaskError::Panicked { .. }) => PANICKED,
            Err(TaskError::Cancelled) => CANCELLED,
            Err(_) => REJECTED,
        };
        // Whether a callback read the panic; the stage records it on publishing.
        let mut observed = false;
        loop {
            let mut slot = self.lock_raw();
            if slot.has_code_listeners() {
                let (code, rest): (Vec<_>, Vec<_>) = slot
                    .take_listeners()
                    .into_iter()
                    .partition(Listener::runs_code);
                slot.extras().listeners = rest;
                if raw == PANICKED && code.iter().any(Listener::reads_failure) {
                    observed = true;
                }
                drop(slot);
                let _scope = CallbackScope::enter(self.address());
                for listener in code {
                    listener.call(&result);
                }
                continue;
            }
            if !matches!(slot.stage, Stage::Closing) {
                slot.stage = Stage::Closing;
                if let Some(permit) = slot.extras.as_mut().and_then(|e| e.permit.take()) {
                    drop(slot);
                    drop(permit);
                    continue;
                }
            }
            if let Some(executor) = &header.executor {
                executor.record_outcome(raw);
            }
            let report = raw == PANICKED && !observed && !header.has_handles();
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
            slot.stage = Stage::finished(result, observed || report);
            header.state.finish(raw);
            if slot.has_sleepers() {
                header.cond.notify_all();
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
}

impl<T, F> Completion<T> for Cell<T, F>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    fn wait(&self, deadline: Option<Instant>) -> bool {
        let header = &self.header;
        if backoff_until(|| header.state.is_final()) {
            return true;
        }
        let mut slot = self.lock();
        while !slot.stage.is_final() {
            let timeout = match deadline {
                None => None,
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    Some(deadline - now)
                }
            };
            slot.extras().sleepers += 1;
            slot = match timeout {
                None => header
                    .cond
                    .wait(slot)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(timeout) => {
                    header
                        .cond
                        .wait_timeout(slot, timeout)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            slot.extras().sleepers -= 1;
        }
        true
    }

    fn take(&self) -> Option<Result<T, TaskError>> {
        self.lock().stage.take()
    }

    fn read_with(&self, f: &mut dyn FnMut(Result<&T, &TaskError>)) -> bool {
        let mut slot = self.lock();
        let Some(outcome) = slot.stage.outcome() else {
            return false;
        };
        f(outcome);
        slot.stage.observe();
        true
    }

    #[track_caller]
    fn listen(&self, listener: Listener<T>) {
        let mut slot = self.lock();
        if !slot.stage.is_final() {
            return slot.extras().listeners.push(listener);
        }
        if listener.reads_failure() {
            slot.stage.observe();
        }
        match listener {
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
                slot.stage.with_result(|result| code.call(result));
            }
        }
    }

    fn unlisten(&self, signal: &Arc<Signal>) {
        if let Some(extras) = self.lock_raw().extras.as_mut() {
            extras
                .listeners
                .retain(|l| !matches!(l, Listener::Signal(s, _) if Arc::ptr_eq(s, signal)));
        }
    }

    fn poll_take(&self, waker: &Waker) -> Option<Result<T, TaskError>> {
        let mut slot = self.lock();
        if slot.stage.is_final() {
            return slot.stage.take();
        }
        let listeners = &mut slot.extras().listeners;
        if !listeners
            .iter()
            .any(|l| matches!(l, Listener::Waker(w) if w.will_wake(waker)))
        {
            listeners.push(Listener::Waker(waker.clone()));
        }
        None
    }

    fn last_handle_dropped(&self) {
        let message = self.lock_raw().stage.claim_unread_panic();
        if let Some(message) = message {
            report_unread_panic(&self.header, &message);
        }
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
        self.complete(result);
    }

    fn abort_claimed(&self, error: TaskError) {
        let job = self.take_job();
        unwind::contain("dropping a cancelled task's closure", move || drop(job));
        self.complete(Err(error));
    }

    fn set_permit(&self, permit: Permit) -> Option<Permit> {
        let mut slot = self.lock_raw();
        if !slot.stage.accepts_permit() {
            return Some(permit);
        }
        slot.extras().permit = Some(permit);
        None
    }

    fn wait_final(&self) {
        self.wait(None);
    }

    fn discard(&self) {
        let value = self.lock_raw().stage.take_value();
        unwind::contain("dropping a scoped task's value", move || drop(value));
    }
}

impl<T, F> TaskCell<T> for Cell<T, F>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    fn completion(&self) -> &dyn Completion<T> {
        self
    }

    fn into_run(self: Arc<Self>) -> Arc<dyn Run> {
        self
    }
}

#[cfg(all(test, not(loom), target_os = "linux", target_pointer_width = "64"))]
mod test {
    use super::*;
    use crate::task::state::QUEUED;

    /// The W6 benchmark's budget is 96 bytes of heap per outstanding
    /// `Task<u64>`, and this allocation (plus `Arc`'s two counts) is all of
    /// it: a field that makes it grow should be a deliberate choice.
    #[test]
    fn a_u64_task_fits_its_memory_budget() {
        let value = 7_u64;
        let cell = Cell::new(Header::new(None, 0, QUEUED, None), move || value);
        assert_eq!(std::mem::size_of_val(&*cell), 72);
    }
}
