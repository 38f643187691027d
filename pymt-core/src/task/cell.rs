//! The one allocation per task: its header, its options, and under one
//! lock its slot (stage, permit slot and extras). The completion protocol is in `completion.rs`, the
//! waiting policy in `waiting.rs`.
//!
//! Queues see a cell as `Arc<dyn Run>` (wrapped in a [`TaskRef`]), handles
//! as `Arc<dyn TaskCell<T>>` (whose outcome side is [`Completion<T>`],
//! blind to the closure type). Every outstanding task costs this
//! allocation, so its layout is kept tight: see the size test at the end.
//!
//! [`TaskRef`]: super::task_ref::TaskRef

use std::cell::Cell as StdCell;
use std::sync::{Arc, PoisonError};
use std::task::Waker;

use super::context;
use super::header::Header;
use super::listener::Listener;
use super::locked::Locked;
use super::options::Options;
use super::waiting::backoff_until;
use crate::error::TaskError;
use crate::limiter::Permit;
use crate::sync::{thread_local, Instant, Mutex, MutexGuard};
use crate::unwind;
use crate::wait::signal::Signal;

thread_local! {
    /// The task whose callbacks this thread is running, so a callback that
    /// waits on its own task fails loudly instead of deadlocking.
    static IN_CALLBACK: StdCell<usize> = const { StdCell::new(0) };
}

/// Marks this thread as running the callbacks of the task at an address.
pub(super) struct CallbackScope(usize);

impl CallbackScope {
    pub(super) fn enter(address: usize) -> Self {
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
    /// Waits (until `deadline`) while the value is lent to a callback
    /// running on another thread (see `Stage::Lent`); false if it still is.
    fn read_with(
        &self,
        deadline: Option<Instant>,
        f: &mut dyn FnMut(Result<&T, &TaskError>),
    ) -> bool;
    /// Adds a listener, or runs it now (without the lock) if already final.
    fn listen(&self, listener: Listener<T>);
    /// Removes the listeners pointing at `signal` (a wait that gave up).
    fn unlisten(&self, signal: &Arc<Signal>);
    /// `Future::poll`: the value if final, else registers `waker`.
    fn poll_take(&self, waker: &Waker) -> Option<Result<T, TaskError>>;
    /// The last handle is gone: log a panic nobody read.
    fn last_handle_dropped(&self);
}

impl<T> dyn Completion<T> + '_ {
    /// Reads a final task's outcome through `f`, waiting until `deadline`
    /// at most for a value lent to a callback.
    pub(crate) fn read<R>(
        &self,
        deadline: Option<Instant>,
        f: impl FnOnce(Result<&T, &TaskError>) -> R,
    ) -> Option<R> {
        let mut f = Some(f);
        let mut out = None;
        self.read_with(deadline, &mut |outcome| out = f.take().map(|f| f(outcome)));
        out
    }
}

pub(super) fn report_unread_panic(header: &Header, name: Option<&str>, message: &str) {
    report_error!(
        "pymt: {} panicked and every handle was dropped without reading the failure: {message}",
        header.describe(name)
    );
}

/// Queue-side view of a task, independent of its result type. Executors
/// reach it only through [`TaskRef`](super::task_ref::TaskRef).
pub(crate) trait Run: Send + Sync {
    fn header(&self) -> &Header;
    /// The name given at launch, if any (one of the task's options).
    fn name(&self) -> Option<&str>;
    /// "task#3 'name' in pool 'p'", for log lines.
    fn describe(&self) -> String {
        self.header().describe(self.name())
    }
    /// Runs the body of a task this thread started (`try_start` won).
    fn run_started(&self);
    /// Ends a task claimed by `try_claim_pending` without running it.
    fn abort_claimed(&self, error: TaskError);
    /// Hands a limiter permit to the task; returns it if the task already
    /// ended (or is ending).
    fn set_permit(&self, permit: Permit) -> Option<Permit>;
    /// Takes back a permit given by `set_permit` (a launch that failed).
    fn take_permit(&self) -> Option<Permit>;
    /// Blocks until the task is final (no inline help).
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

/// The one allocation per task. `O` is what the task was given at launch
/// (`options.rs`): nothing for most tasks, so it adds nothing to the cell.
pub(crate) struct Cell<T, F, O: Options<T> = ()> {
    header: Header,
    options: O,
    slot: Mutex<Locked<T, F, O::Permit>>,
}

impl<T, F, O: Options<T>> Cell<T, F, O> {
    pub(super) fn address(&self) -> usize {
        &self.header as *const Header as usize
    }

    pub(crate) fn header(&self) -> &Header {
        &self.header
    }

    pub(crate) fn options(&self) -> &O {
        &self.options
    }

    pub(super) fn lock_raw(&self) -> MutexGuard<'_, Locked<T, F, O::Permit>> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks for reading or waiting; refuses (with a panic that the
    /// callback runner contains) when called from this task's own callback.
    #[track_caller]
    fn lock(&self) -> MutexGuard<'_, Locked<T, F, O::Permit>> {
        if IN_CALLBACK.with(StdCell::get) == self.address() {
            panic!("pymt: a task's on_done callback cannot wait on or read that same task; use the result passed to the callback");
        }
        self.lock_raw()
    }
}

#[cfg(test)]
impl<T, F> Cell<T, F>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    /// A cell without options.
    pub(crate) fn new(header: Header, job: F) -> Arc<Self> {
        Arc::new(Cell::unshared(header, (), (), job))
    }
}

impl<T, F, O> Cell<T, F, O>
where
    T: Send,
    F: FnOnce() -> T + Send,
    O: Options<T>,
{
    /// A cell with `options`, holding `permit` (if its options have room).
    pub(crate) fn with(header: Header, options: O, permit: O::Permit, job: F) -> Arc<Self> {
        Arc::new(Cell::unshared(header, options, permit, job))
    }

    /// The cell by value, for wrappers (scoped tasks) that allocate it.
    pub(crate) fn unshared(header: Header, options: O, permit: O::Permit, job: F) -> Self {
        Cell {
            header,
            options,
            slot: Mutex::new(Locked::new(job, permit)),
        }
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

    fn take_job(&self) -> Option<F> {
        self.lock_raw().stage.take_job()
    }

    /// Runs a callback registered after the end, without the lock: the
    /// value is lent to it (readers on other threads wait until it comes
    /// back). Callbacks registered meanwhile (by it, or by other threads)
    /// run next, here.
    fn call_late<'a>(
        &'a self,
        listener: Listener<T>,
        mut slot: MutexGuard<'a, Locked<T, F, O::Permit>>,
    ) {
        let mut pending = vec![listener];
        while !pending.is_empty() {
            let Some(result) = slot.stage.lend() else {
                return;
            };
            drop(slot);
            {
                let _scope = CallbackScope::enter(self.address());
                for listener in pending {
                    listener.call(&result);
                }
            }
            slot = self.lock_raw();
            slot.stage.give_back(result);
            pending = slot.take_code_listeners();
        }
        if slot.has_sleepers() {
            self.header.cond.notify_all();
        }
        // Futures that polled while the value was lent.
        let wakers = slot.take_listeners();
        drop(slot);
        for waker in wakers {
            unwind::contain("a task's waker", || waker.wake());
        }
    }
}

impl<T, F, O> Completion<T> for Cell<T, F, O>
where
    T: Send,
    F: FnOnce() -> T + Send,
    O: Options<T>,
{
    fn wait(&self, deadline: Option<Instant>) -> bool {
        let header = &self.header;
        if backoff_until(|| header.state.is_final()) {
            return true;
        }
        if deadline.is_none() && context::is_running(header) {
            panic!(
                "pymt: a task cannot wait on itself: {} would never finish",
                header.describe(self.options.name())
            );
        }
        let slot = self.lock();
        self.sleep_until(slot, deadline, |slot| slot.stage.is_final())
            .1
    }

    fn take(&self) -> Option<Result<T, TaskError>> {
        let slot = self.lock();
        self.until_returned(slot, None).stage.take()
    }

    fn read_with(
        &self,
        deadline: Option<Instant>,
        f: &mut dyn FnMut(Result<&T, &TaskError>),
    ) -> bool {
        let slot = self.lock();
        let mut slot = self.until_returned(slot, deadline);
        let Some(outcome) = slot.stage.outcome() else {
            return false;
        };
        f(outcome);
        slot.stage.observe();
        true
    }

    fn listen(&self, listener: Listener<T>) {
        // Not `lock()`: a callback may register more on its own task. While
        // the value is lent to a late callback, a new callback joins the
        // queue that callback's thread drains next (waiting for it could
        // deadlock: it may be waiting for us).
        let mut slot = self.lock_raw();
        if !slot.stage.is_final() || (slot.stage.is_lent() && listener.runs_code()) {
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
            code => self.call_late(code, slot),
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
        {
            let mut slot = self.lock();
            if slot.stage.is_final() && !slot.stage.is_lent() {
                return slot.stage.take();
            }
            let registered = slot.extras().listeners.iter().any(
                |listener| matches!(listener, Listener::Waker(known) if known.will_wake(waker)),
            );
            if registered {
                return None;
            }
        }
        // Cloning a waker is user code: not under the task's lock.
        let waker = waker.clone();
        let mut slot = self.lock();
        if slot.stage.is_final() && !slot.stage.is_lent() {
            let outcome = slot.stage.take();
            drop(slot);
            drop(waker);
            return outcome;
        }
        slot.extras().listeners.push(Listener::Waker(waker));
        None
    }

    fn last_handle_dropped(&self) {
        let message = self.lock_raw().stage.claim_unread_panic();
        if let Some(message) = message {
            report_unread_panic(&self.header, self.options.name(), &message);
        }
    }
}

impl<T, F, O> Run for Cell<T, F, O>
where
    T: Send,
    F: FnOnce() -> T + Send,
    O: Options<T>,
{
    fn header(&self) -> &Header {
        &self.header
    }

    fn name(&self) -> Option<&str> {
        self.options.name()
    }

    fn run_started(&self) {
        let result = match self.take_job() {
            Some(job) => unwind::catch(job).map_err(|message| TaskError::Panicked { message }),
            // Unreachable by the claim protocol; ending the task beats hanging it.
            None => Err(TaskError::Cancelled),
        };
        self.complete(result);
    }

    fn abort_claimed(&self, error: TaskError) {
        let job = self.take_job();
        unwind::drop_contained("dropping a cancelled task's closure", job);
        self.complete(Err(error));
    }

    fn set_permit(&self, permit: Permit) -> Option<Permit> {
        let mut slot = self.lock_raw();
        if !slot.stage.accepts_permit() {
            return Some(permit);
        }
        slot.put_permit(permit);
        None
    }

    fn take_permit(&self) -> Option<Permit> {
        self.lock_raw().take_permit()
    }

    fn wait_final(&self) {
        let slot = self.lock_raw();
        drop(self.sleep_until(slot, None, |slot| slot.stage.is_final()));
    }

    fn discard(&self) {
        let slot = self.lock_raw();
        let value = self.until_returned(slot, None).stage.take_value();
        unwind::drop_contained("dropping a scoped task's value", value);
    }
}

impl<T, F, O> TaskCell<T> for Cell<T, F, O>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
    O: Options<T> + 'static,
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
    use crate::task::state::Start;

    /// The W6 benchmark's budget is 96 bytes of heap per outstanding
    /// `Task<u64>`, and this allocation (plus `Arc`'s two counts) is all of
    /// it: a field that makes it grow should be a deliberate choice.
    #[test]
    fn a_u64_task_fits_its_memory_budget() {
        let value = 7_u64;
        let cell = Cell::new(Header::new(0, Start::Queued, None), move || value);
        assert_eq!(std::mem::size_of_val(&*cell), 64);
    }
}
