//! Creating a task and handing it to where it runs: a new thread, an
//! executor's queue, or a limiter that launches it when a permit frees.

use std::borrow::Cow;
use std::sync::Arc;

use super::cell::{Cell, Run, TaskCell};
use super::handle::Task;
use super::header::Header;
use super::listener::Listener;
use super::state::Start;
use super::task_ref::TaskRef;
use crate::error::{SubmitError, TaskError};
use crate::executor::config::thread_name;
use crate::executor::queue::Entry;
use crate::executor::{Admission, Executor, Refusal};
use crate::limiter::{Limiter, Permit};
use crate::sync::thread;

/// Where a task runs.
#[derive(Clone)]
pub(crate) enum Target {
    /// A new thread of its own.
    Thread,
    /// A pool's (or dedicated worker's) executor.
    Executor(Arc<Executor>),
}

impl Target {
    pub(crate) fn executor(&self) -> Option<Arc<Executor>> {
        match self {
            Target::Thread => None,
            Target::Executor(executor) => Some(Arc::clone(executor)),
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
fn build<T, F>(spec: Spec<T>, start: Start, target: &Target, f: F) -> (Arc<Cell<T, F>>, Task<T>)
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let header = Header::new(spec.name, spec.priority, start, target.executor());
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
    let (cell, task) = build(spec, Start::Queued, target, f);
    dispatch(TaskRef::new(cell), target);
    task
}

/// Starts a queued task on `target`; rejects it if that fails.
pub(crate) fn dispatch(task: TaskRef, target: &Target) {
    match target {
        Target::Executor(executor) => {
            if let Err((_, Entry::Task(task))) =
                executor.submit(task.priority(), Entry::Task(task), Admission::Wait)
            {
                task.try_abort(TaskError::Rejected);
            }
        }
        Target::Thread => {
            if let Err(task) = spawn_thread(task) {
                task.try_abort(TaskError::Rejected);
            }
        }
    }
}

/// Runs a queued task on a thread of its own; gives it back if no thread
/// could be started.
fn spawn_thread(task: TaskRef) -> Result<(), TaskRef> {
    let mut builder = thread::Builder::new();
    if let Some(name) = task.name() {
        builder = builder.name(thread_name(name));
    }
    let runner = task.clone_ref();
    let spawned = builder.spawn(move || {
        if runner.try_start() {
            runner.run();
        }
    });
    match spawned {
        Ok(_) => Ok(()),
        Err(error) => {
            report_error!(
                "pymt: could not start a thread for {}: {error}",
                task.describe()
            );
            Err(task)
        }
    }
}

/// Never blocks: hands the closure back if the queue is full or closed.
pub(crate) fn try_submit<T, F>(
    spec: Spec<T>,
    executor: &Arc<Executor>,
    f: F,
) -> Result<Task<T>, SubmitError<F>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let priority = spec.priority;
    let target = Target::Executor(Arc::clone(executor));
    let (cell, task) = build(spec, Start::Queued, &target, f);
    let entry = Entry::Task(TaskRef::new(Arc::clone(&cell) as Arc<dyn Run>));
    let refusal = match executor.submit(priority, entry, Admission::Never) {
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
    let (cell, task) = build(spec, Start::Waiting, &target, f);
    let cell: Arc<dyn Run> = cell;
    limiter.launch_when_free(Box::new(move |permit| start_waiting(cell, permit, &target)));
    task
}

/// A permit freed for a waiting task: the task takes it and is queued (or
/// given its thread). The permit comes back when the task cannot use it
/// (cancelled meanwhile, or refused by a closed pool, and then the task
/// ends `Rejected` without it), so the limiter passes it on in its release
/// loop: a backlog of refused tasks never recurses through their
/// completions. Queuing never waits for room: this runs on whatever thread
/// released the permit, maybe the one that would make room.
fn start_waiting(cell: Arc<dyn Run>, permit: Permit, target: &Target) -> Option<Permit> {
    if let Some(unused) = cell.set_permit(permit) {
        return Some(unused); // ended meanwhile: pass the permit on
    }
    let task = TaskRef::new(cell);
    let refused = match target {
        Target::Executor(executor) => executor.schedule(task).err().map(|(_, task)| task),
        Target::Thread if task.try_schedule() => spawn_thread(task).err(),
        // Cancelled meanwhile: its canceller releases the permit.
        Target::Thread => None,
    };
    let task = refused?;
    let permit = task.take_permit();
    task.try_abort(TaskError::Rejected);
    permit
}
