//! Creating a task and handing it to where it runs: a new thread, an
//! executor's queue, or a limiter that launches it when a permit frees.

use std::sync::Arc;

use super::cell::{Cell, Run, TaskCell};
use super::handle::Task;
use super::header::Header;
use super::options::Options;
use super::state::Start;
use super::task_ref::TaskRef;
use crate::error::{SubmitError, TaskError};
use crate::executor::config::thread_name;
use crate::executor::queue::Entry;
use crate::executor::{Admission, Executor, Refusal};
use crate::limiter::{Limiter, Permit};
use crate::sync::thread;
use crate::unwind;

/// Where a task runs, borrowed for the launch: the borrow keeps the
/// executor alive while the task is handed over (a worker may run and drop
/// the task before the hand-over returns), so a launch costs the executor's
/// shared count one increment, the task's own reference.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    /// A new thread of its own.
    Thread,
    /// A pool's (or dedicated worker's) executor.
    Executor(&'a Arc<Executor>),
}

impl<'a> Target<'a> {
    pub(crate) fn of(executor: Option<&'a Arc<Executor>>) -> Self {
        match executor {
            Some(executor) => Target::Executor(executor),
            None => Target::Thread,
        }
    }

    pub(crate) fn executor(self) -> Option<&'a Arc<Executor>> {
        match self {
            Target::Thread => None,
            Target::Executor(executor) => Some(executor),
        }
    }
}

/// Everything about a task except its closure: its priority, its options
/// (`options.rs`) and the permit it holds from the start, if any.
pub(crate) struct Spec<T, O: Options<T> = ()> {
    pub(crate) priority: i32,
    pub(crate) options: O,
    pub(crate) permit: O::Permit,
}

impl<T> Spec<T> {
    /// No options.
    pub(crate) fn new(priority: i32) -> Self {
        Spec {
            priority,
            options: (),
            permit: (),
        }
    }
}

// Inlined into `launch` and `launch_deferred` alike: an outlined `build`
// took the spec through memory, about 50 instructions a call that
// `Pool::submit` folds away.
#[inline(always)]
fn build<T, F, O>(
    spec: Spec<T, O>,
    start: Start,
    target: Target<'_>,
    f: F,
) -> (Arc<Cell<T, F, O>>, Task<T>)
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
    O: Options<T> + 'static,
{
    let executor = target.executor().map(Arc::clone);
    let header = Header::new(spec.priority, start, executor);
    let cell = Cell::with(header, spec.options, spec.permit, f);
    let task = Task::from_cell(Arc::clone(&cell) as Arc<dyn TaskCell<T>>);
    (cell, task)
}

/// Creates a task and starts it on `target` (blocking while a bounded queue
/// is full). A refused task comes back already `Rejected`.
pub(crate) fn launch<T, F, O>(spec: Spec<T, O>, target: Target<'_>, f: F) -> Task<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
    O: Options<T> + 'static,
{
    let (cell, task) = build(spec, Start::Queued, target, f);
    dispatch(TaskRef::new(cell), target);
    task
}

/// Starts a queued task on `target`; rejects it if that fails.
pub(crate) fn dispatch(task: TaskRef, target: Target<'_>) {
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
pub(crate) fn try_submit<T, F, O>(
    spec: Spec<T, O>,
    executor: &Arc<Executor>,
    f: F,
) -> Result<Task<T>, SubmitError<F>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
    O: Options<T> + 'static,
{
    let priority = spec.priority;
    let (cell, task) = build(spec, Start::Queued, Target::Executor(executor), f);
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
/// is released when the task ends. The limiter's queue holds the cell
/// itself (a `WaitingLaunch`): nothing is allocated beside it.
pub(crate) fn launch_deferred<T, F, O>(
    spec: Spec<T, O>,
    limiter: &Limiter,
    target: Target<'_>,
    f: F,
) -> Task<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
    O: Options<T> + 'static,
{
    let (cell, task) = build(spec, Start::Waiting, target, f);
    limiter.launch_when_free(WaitingLaunch(cell));
    task
}

/// A task waiting in a limiter for a permit. Where it starts is the
/// executor in its header (none: a thread of its own).
pub(crate) struct WaitingLaunch(Arc<dyn Run>);

impl WaitingLaunch {
    /// Starts the task with `permit`; gives the permit back if it could
    /// not use it (see `start_waiting`).
    pub(crate) fn start(self, permit: Permit) -> Option<Permit> {
        start_waiting(self.0, permit)
    }
}

/// A permit freed for a waiting task: the task takes it and is queued (or
/// given its thread). The permit comes back when the task cannot use it
/// (cancelled meanwhile, or refused by a closed pool, and then the task
/// ends `Rejected` without it), so the limiter passes it on in its release
/// loop: a backlog of refused tasks never recurses through their
/// completions. Queuing never waits for room: this runs on whatever thread
/// released the permit, maybe the one that would make room.
fn start_waiting(cell: Arc<dyn Run>, permit: Permit) -> Option<Permit> {
    if let Some(unused) = cell.set_permit(permit) {
        return Some(unused); // ended meanwhile: pass the permit on
    }
    // Our own reference keeps the header's executor alive while the task
    // is handed over (a worker may run and drop it meanwhile).
    let task = TaskRef::new(Arc::clone(&cell));
    let refused = match &cell.header().executor {
        Some(executor) => executor.schedule(task).err().map(|(_, task)| task),
        None if task.try_schedule() => spawn_thread(task).err(),
        // Cancelled meanwhile: its canceller releases the permit.
        None => None,
    };
    // Ours may be the last reference now, and a value's `Drop` is user code.
    unwind::drop_contained("dropping a finished task", cell);
    let task = refused?;
    let permit = task.take_permit();
    task.try_abort(TaskError::Rejected);
    permit
}
