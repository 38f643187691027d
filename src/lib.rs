//! pymt: run a function on another thread and get a typed handle back.
//!
//! pymt brings the Worker / Pool / Task / Decorator paradigm of Python's
//! PyMultiTasking to Rust: put `#[threaded]` on a function and every call
//! returns a [`Task<R>`](Task) handle while the body runs on another thread.
//! Around that core it carries what the other Python thread-pool libraries
//! of its lineage offer: priority executors, the `concurrent.futures`
//! future / [`wait`] / [`as_completed`] model, adaptive min/max pools, and
//! callback-driven work requests — with typed results, panics captured as
//! values, no polling anywhere, and `.await`-able handles.
//!
//! # Hello, world!
//!
//! ```
//! #[pymt::threaded]
//! fn greet(name: String) -> String {
//!     format!("hello, {name}, from {:?}", std::thread::current().id())
//! }
//!
//! let task = greet("world".to_owned());
//! println!("{}", task.join().unwrap());
//! ```
//!
//! # Pools and priorities
//!
//! A [`Pool`] feeds its workers from one priority queue: higher priority
//! first, submission order among equals. Workers start on demand up to
//! `max_workers` and exit after `idle_timeout` above `min_workers`.
//!
//! ```
//! # use std::time::Duration;
//! let pool = pymt::Pool::builder().max_workers(2).build().unwrap();
//! let low = pool.submit_with_priority(-1, || "later");
//! let high = pool.submit_with_priority(10, || "sooner");
//! assert_eq!(high.join(), Ok("sooner"));
//! assert_eq!(low.join(), Ok("later"));
//! assert!(pool.join(Duration::from_secs(10)));
//! ```
//!
//! # Named pools
//!
//! Pools with a name live in a process-wide registry, shared by every
//! function that names them, until joined.
//!
//! ```
//! # use std::time::Duration;
//! #[pymt::threaded(pool_name = "guide-io", max_workers = 2)]
//! fn fetch(n: u32) -> u32 {
//!     n * 2
//! }
//!
//! let tasks: Vec<_> = (0..4).map(fetch).collect();
//! let pool = pymt::Pool::get_pool_by_name("guide-io").expect("created on first call");
//! assert!(pool.wait_completion(Duration::from_secs(10)));
//! assert_eq!(tasks.into_iter().map(|t| t.join().unwrap()).sum::<u32>(), 12);
//! assert!(pymt::Pool::join_pools(Duration::from_secs(10)));
//! ```
//!
//! # Daemon tasks
//!
//! `#[threaded(daemon)]` gives the function one long-lived [`Worker`]
//! thread; [`join_daemons`] finishes and stops them all.
//!
//! ```
//! # use std::time::Duration;
//! #[pymt::threaded(daemon)]
//! fn log_line(line: String) -> usize {
//!     line.len()
//! }
//!
//! assert_eq!(log_line("hello".into()).join(), Ok(5));
//! assert!(pymt::join_daemons(Duration::from_secs(10)));
//! ```
//!
//! # Limiting concurrency
//!
//! A [`Limiter`] is a counting semaphore; `#[limiter(n)]` puts one around a
//! function. Above `#[threaded]` with `blocking = false`, calls return at once
//! and the tasks wait in the limiter, not on worker threads.
//!
//! ```
//! static DB: pymt::Limiter = pymt::Limiter::new(2);
//!
//! #[pymt::limiter(DB)]
//! fn query(n: u32) -> u32 {
//!     n + 1
//! }
//!
//! #[pymt::limiter(1, blocking = false)]
//! #[pymt::threaded]
//! fn one_at_a_time(n: u32) -> u32 {
//!     n
//! }
//!
//! assert_eq!(query(1), 2);
//! let tasks: Vec<_> = (0..3).map(one_at_a_time).collect();
//! assert_eq!(tasks.into_iter().map(|t| t.join().unwrap()).sum::<u32>(), 3);
//! ```
//!
//! # Panics and errors
//!
//! A panic in a task is caught and becomes [`TaskError::Panicked`]; it never
//! kills a worker. Every task ends in exactly one of `Succeeded`, `Panicked`,
//! `Cancelled` or `Rejected`, and a panic nobody read is logged once (through
//! the `log` crate) when its last handle is dropped.
//!
//! ```
//! let task = pymt::spawn(|| -> u32 { panic!("disk on fire") });
//! let error = task.join().unwrap_err();
//! assert!(error.is_panic());
//! assert_eq!(error.panic_message(), Some("disk on fire"));
//! ```
//!
//! Waiting never deadlocks a pool: a task running on a pool's worker that
//! waits on a task still queued in the same pool runs it itself.
//!
//! ```
//! # use std::time::Duration;
//! let pool = pymt::Pool::builder().max_workers(1).build().unwrap();
//! let p = pool.clone();
//! let parent = pool.submit(move || {
//!     let children: Vec<_> = (0..100).map(|i| p.submit(move || i)).collect();
//!     children.into_iter().map(|c| c.join().unwrap()).sum::<u32>()
//! });
//! assert_eq!(parent.result_timeout(Duration::from_secs(10)), Ok(4950));
//! ```
//!
//! # What the macros expand to
//!
//! See [`threaded`] and [`limiter`]: each form's documentation shows the
//! equivalent hand-written code.
//!
//! # Stacking, renamed imports and editions
//!
//! `#[limiter]` and `#[threaded]` find each other by what the other one
//! generated, not by name, so they stack the same way under any import name.
//! Expansions name nothing but `::pymt::__private` (or the `crate = ".."`
//! override), so they work in every edition, 2015 included:
//!
//! ```edition2015
//! extern crate pymt;
//! use pymt::limiter as throttle;
//! use pymt::threaded as background;
//!
//! #[throttle(2)]
//! #[background(pool, max_workers = 2)]
//! fn measure<T: AsRef<str>>(text: T) -> usize {
//!     text.as_ref().len()
//! }
//!
//! fn main() {
//!     let task = measure("four");
//!     assert_eq!(task.result_timeout(std::time::Duration::from_secs(10)), Ok(4));
//! }
//! ```
#![forbid(unsafe_code)]

pub use pymt_core::*;
pub use pymt_macros::{limiter, threaded};

#[doc(hidden)]
pub mod __private {
    //! What macro expansions refer to. Not public API.
    pub use pymt_core::__private::*;
}

/// Compiles and runs the README's examples as doc tests, so it stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
