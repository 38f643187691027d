//! Creating a task and handing it to where it runs: a new thread, a pool's
//! queue, or a limiter that launches it when a permit frees.

use std::borrow::Cow;
use std::sync::Arc;

use super::cell::{Cell, Header, Run, TaskCell};
use super::handle::Task;
use super::listener::Listener;
use super::state::{DEFERRED, QUEUED, RUNNING};
use crate::error::{SubmitError, TaskError};
use crate::limiter::{Limiter, Permit};
use crate::pool::entry::Entry;
use crate::pool::shared::{Blocking, Refusal, Shared};
use crate::sync::thread;
use crate::task::context;

/// Where a task runs.
#[derive(Clone)]
pub(crate) enum Target {
    /// A new thread of its own.
    Thread,
    /// A pool's (or dedicated worker's) queue.
    Pool(Arc<Shared>),
}

impl Target {
    pub(crate) fn executor(&self) -> Option<Arc<Shared>> {
        match self {
            Target::Thread => None,
            Target::Pool(shared) => Some(Arc::clone(shared)),
        }
    }
}

/// Everything about a task except its closure.
pub(crate) struct Spec<T> {
    pub(crate) name: Option<Cow<'static, str>>,
    pub(crate) priority: i32,
    pub(crate) listener: Option<Listener<T>>,
    pub(crate) permit: Option<Permit>,
}

impl<T> Spec<T> {
    pub(crate) fn new(priority: i32) -> Self {
        Spec {
            name: None,
            priority,
            listener: None,
            permit: None,
        }
    }
}

// Inlined into `launch` and `launch_deferred` alike: when both are
// instantiated (as for `#[threaded]` calls) an outlined `build` took the
// spec through memory and tested its listener and permit at run time, about
// 50 instructions a call that `Pool::submit` folds away.
#[inline(always)]
fn build<T, F>(spec: Spec<T>, raw_state: u8, target: &Target, f: F) -> (Arc<Cell<T, F>>, Task<T>)
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let header = Header::new(spec.name, spec.priority, raw_state, target.executor());
    let cell = Cell::new(header, f);
    if let Some(listener) = spec.listener {
        cell.completion().listen(listener);
    }
    if let Some(permit) = spec.permit {
        drop(cell.set_permit(permit));
    }
    let task = Task::from_cell(Arc::clone(&cell) as Arc<dyn TaskCell<T>>);
    (cell, task)
}

/// Creates a task and starts it on `target` (blocking while a bounded queue
/// is full). A refused task comes back already `Rejected`.
pub(crate) fn launch<T, F>(spec: Spec<T>, target: &Target, f: F) -> Task<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let priority = spec.priority;
    let (cell, task) = build(spec, QUEUED, target, f);
    dispatch(cell, priority, target);
    task
}

/// Starts a `QUEUED` cell on `target`; rejects it if that fails.
pub(crate) fn dispatch(cell: Arc<dyn Run>, priority: i32, target: &Target) {
    match target {
        Target::Pool(shared) => {
            if shared
                .enqueue(priority, Entry::Task(Arc::clone(&cell)), Blocking::Wait)
                .is_err()
            {
                reject(&*cell);
            }
        }
        Target::Thread => spawn_thread(cell),
    }
}

fn reject(cell: &dyn Run) {
    if cell.header().state.claim_pending().is_some() {
        cell.abort_claimed(TaskError::Rejected);
    }
}

fn spawn_thread(cell: Arc<dyn Run>) {
    let mut builder = thread::Builder::new();
    if let Some(name) = cell.header().name() {
        builder = builder.name(crate::unwind::thread_name(name));
    }
    let runner = Arc::clone(&cell);
    let spawned = builder.spawn(move || {
        if runner.header().state.transition(QUEUED, RUNNING) {
            context::run_claimed(runner);
        }
    });
    if let Err(error) = spawned {
        report_error!(
            "pymt: could not start a thread for {}: {error}",
            cell.header().describe()
        );
        reject(&*cell);
    }
}

/// Never blocks: hands the closure back if the queue is full or closed.
pub(crate) fn try_submit<T, F>(
    spec: Spec<T>,
    shared: &Arc<Shared>,
    f: F,
) -> Result<Task<T>, SubmitError<F>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let priority = spec.priority;
    let target = Target::Pool(Arc::clone(shared));
    let (cell, task) = build(spec, QUEUED, &target, f);
    let entry = Entry::Task(Arc::clone(&cell) as Arc<dyn Run>);
    let refusal = match shared.enqueue(priority, entry, Blocking::Never) {
        Ok(()) => return Ok(task),
        Err((refusal, entry)) => {
            drop(entry);
            refusal
        }
    };
    // Nobody else saw the cell: take the closure back out of it.
    drop(task);
    let f = match cell.into_job() {
        Some(f) => f,
        None => unreachable!("a refused cell has exactly one owner"),
    };
    Err(match refusal {
        Refusal::Full => SubmitError::Full(f),
        Refusal::Closed => SubmitError::Shutdown(f),
    })
}

/// Creates a task that waits in `limiter` (state `Pending`, cancellable, not
/// in any queue) and is started on `target` when a permit frees; the permit
/// is released when the task ends.
pub(crate) fn launch_deferred<T, F>(
    spec: Spec<T>,
    limiter: &Limiter,
    target: Target,
    f: F,
) -> Task<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let priority = spec.priority;
    let (cell, task) = build(spec, DEFERRED, &target, f);
    let cell: Arc<dyn Run> = cell;
    limiter.launch_when_free(Box::new(move |permit: Permit| {
        if let Some(unused) = cell.set_permit(permit) {
            return Some(unused); // cancelled meanwhile: pass the permit on
        }
        if cell.header().state.transition(DEFERRED, QUEUED) {
            dispatch(cell, priority, &target);
        }
        // Otherwise a canceller owns the task and releases the permit.
        None
    }));
    task
}
