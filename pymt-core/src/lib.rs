//! The runtime of [pymt](https://docs.rs/pymt): `Task<T>` handles, priority
//! `Pool`s with a registry of named pools, dedicated `Worker`s, `Limiter`s,
//! and waiting on many tasks.
//!
//! Users normally depend on the `pymt` facade, which re-exports everything
//! here together with the `#[threaded]` and `#[limiter]` attributes.
//!
//! ```
//! # use pymt_core as pymt;
//! let pool = pymt::Pool::new();
//! let task = pool.submit(|| 6 * 7);
//! assert_eq!(task.join(), Ok(42));
//! ```
//!
//! # Guarantees
//!
//! - Every task ends in exactly one of `Succeeded`, `Panicked`, `Cancelled`
//!   or `Rejected`; no handle waits forever because of a shutdown, a
//!   timeout, a panic or a dropped pool.
//! - A panic in user code (a body, a callback, a `Drop` of a closure, a
//!   value or a panic payload) is contained: it never kills a worker or
//!   leaves a task unfinished.
//! - Waiting never deadlocks a pool: a worker that waits without a timeout
//!   on a task still queued in its own pool runs that task itself; a timed
//!   wait never runs anything inline (it returns by its deadline), and the
//!   pool may start one worker beyond its maximum while it waits.
//! - A panic nobody read is logged once (through `log`) when its last handle
//!   is dropped.
//! - Nothing polls or sleeps: every wait is woken by the event it waits for.
// The one exception, with its invariant, is in `scope.rs`.
#![deny(unsafe_code)]

#[macro_use]
mod report;

mod daemon;
mod deadline;
mod error;
mod executor;
mod generations;
mod limiter;
mod pool;
mod task;
mod unwind;
mod wait;
mod worker;

#[doc(hidden)]
pub mod __private {
    //! Support for the attribute macros' expansions. Not public API.
    pub use crate::attr_support::*;
    pub use crate::private::*;
}
mod attr_support;
mod private;
#[allow(unsafe_code)] // lifetime erasure for scoped tasks; see the module docs
mod scope;
mod sync;

pub use crate::daemon::join_daemons;
pub use crate::error::{BuildError, SubmitError, TaskError};
/// Workers started by workers leaving idle, on this OS thread (loom models).
#[cfg(loom)]
#[doc(hidden)]
pub use crate::executor::population::grown_leaving_idle as loom_grown_leaving_idle;
/// A pool's main lane over numbers (loom models of the FIFO and its parking).
#[cfg(loom)]
#[doc(hidden)]
pub use crate::executor::queue::LoomLane;
/// How many limiters' shared parts this OS thread reclaimed (loom models).
#[cfg(loom)]
#[doc(hidden)]
pub use crate::limiter::reclaimed as loom_limiters_reclaimed;
pub use crate::limiter::{Limiter, Permit};
pub use crate::pool::builder::PoolBuilder;
pub use crate::pool::{Pool, PoolStats};
pub use crate::scope::{Scope, ScopedTask};
pub use crate::task::context::{current_task, stop_requested, TaskContext};
pub use crate::task::state::{TaskId, TaskState};
pub use crate::task::{spawn, Task, TaskBuilder};
pub use crate::wait::{as_completed, wait, AsCompleted, ReturnWhen, TaskSet};
pub use crate::worker::{Worker, WorkerBuilder};
