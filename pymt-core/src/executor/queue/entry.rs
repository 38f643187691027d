//! What a pool's queue holds: tasks (with handles), handle-less jobs from
//! `execute`, and wake-up tokens for workers blocked on the queue.

use std::any::Any;

use crate::task::task_ref::TaskRef;

/// One queued item.
pub(crate) enum Entry {
    /// A task; possibly stale (already claimed by a canceller or a waiting
    /// worker), which the worker notices when its claim fails.
    Task(TaskRef),
    /// A closure without a handle (`Pool::execute`).
    Job(Job),
    /// Makes a worker blocked on the queue look at the pool again (a ranked
    /// push, a lifecycle change, a resize). Never counted as queued.
    Wake,
}

/// A boxed `execute` closure that can still be handed back to its caller
/// as the concrete type it was submitted as.
pub(crate) struct Job(Box<dyn JobFn>);

trait JobFn: Send {
    fn call(self: Box<Self>);
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

impl<F: FnOnce() + Send + 'static> JobFn for F {
    fn call(self: Box<Self>) {
        (*self)()
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

impl Job {
    pub(crate) fn new<F: FnOnce() + Send + 'static>(f: F) -> Job {
        Job(Box::new(f))
    }

    pub(crate) fn call(self) {
        self.0.call()
    }

    /// The closure as submitted, if it was an `F`.
    pub(crate) fn into_inner<F: FnOnce() + Send + 'static>(self) -> Option<F> {
        self.0.into_any().downcast::<F>().ok().map(|f| *f)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn round_trip<F: FnOnce() + Send + 'static>(f: F) -> Option<F> {
        Job::new(f).into_inner::<F>()
    }

    #[test]
    fn job_gives_back_its_closure() {
        let (tx, rx) = std::sync::mpsc::channel();
        let back = round_trip(move || tx.send(1).unwrap()).expect("same type");
        back();
        assert_eq!(rx.recv(), Ok(1));
        assert!(Job::new(|| {}).into_inner::<fn()>().is_none());
    }

    #[test]
    fn job_runs_once() {
        let (tx, rx) = std::sync::mpsc::channel();
        Job::new(move || tx.send(7).unwrap()).call();
        assert_eq!(rx.recv(), Ok(7));
    }
}
