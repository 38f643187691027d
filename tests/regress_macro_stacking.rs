//! Issue 12's runtime reproductions (`regressions/macros/runtime_defects.rs`):
//! stacking through renamed imports, `#[threaded(pool)]` pools private to
//! each function. (A generic limit is now a compile error: `tests/ui/lim-generic.rs`.)

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use common::{within, LONG};

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("?").to_owned()
}

/// The pool part of a worker's thread name (`pool-name-3` -> `pool-name`).
fn pool_of(thread: &str) -> &str {
    thread.rsplit_once('-').map_or(thread, |(pool, _)| pool)
}

mod pool_identity {
    pub(crate) struct A;
    pub(crate) struct B;
    impl A {
        #[pymt::threaded(pool, max_workers = 1)]
        pub(crate) fn run(self) -> String {
            super::thread_name()
        }
    }
    impl B {
        #[pymt::threaded(pool, max_workers = 3)]
        pub(crate) fn run(self) -> String {
            super::thread_name()
        }
    }
}

#[test]
fn same_named_methods_get_pools_of_their_own() {
    let a = pool_identity::A.run().result_timeout(LONG).unwrap();
    let b = pool_identity::B.run().result_timeout(LONG).unwrap();
    assert_ne!(pool_of(&a), pool_of(&b), "A::run and B::run share a pool");
    let first = pymt::Pool::get_pool_by_name("regress_macro_stacking::pool_identity::run")
        .expect("the first caller's pool keeps the plain name");
    let second = pymt::Pool::get_pool_by_name("regress_macro_stacking::pool_identity::run#2")
        .expect("the second gets a suffix");
    assert_eq!(first.max_workers(), 1, "A's max_workers");
    assert_eq!(second.max_workers(), 3, "B's max_workers is not ignored");
}

/// Runs `work` six times and returns the most bodies seen at once.
fn peak_of(work: fn(&'static AtomicUsize, &'static AtomicUsize) -> pymt::Task<()>) -> usize {
    let running: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
    let peak: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
    let tasks: Vec<_> = within("six calls", move || {
        (0..6).map(|_| work(running, peak)).collect::<Vec<_>>()
    });
    for task in tasks {
        task.result_timeout(LONG).unwrap();
    }
    peak.load(SeqCst)
}

fn body(running: &AtomicUsize, peak: &AtomicUsize) {
    let now = running.fetch_add(1, SeqCst) + 1;
    peak.fetch_max(now, SeqCst);
    std::thread::sleep(Duration::from_millis(30));
    running.fetch_sub(1, SeqCst);
}

mod renamed {
    use pymt::limiter as throttle;
    use pymt::threaded as background;
    use std::sync::atomic::AtomicUsize;

    // Below `#[threaded]`: the body holds the permit.
    #[pymt::threaded]
    #[throttle(1)]
    pub(crate) fn below(running: &'static AtomicUsize, peak: &'static AtomicUsize) {
        super::body(running, peak)
    }

    // Above a renamed `#[threaded]`: the caller waits for the permit.
    #[pymt::limiter(1)]
    #[background]
    pub(crate) fn above(gate: std::sync::mpsc::Receiver<()>) {
        let _ = gate.recv_timeout(crate::LONG);
    }

    // Both renamed, deferred: the call returns at once, one body at a time.
    #[throttle(1, blocking = false)]
    #[background(pool_name = "regress-macro-stacking")]
    pub(crate) fn deferred(running: &'static AtomicUsize, peak: &'static AtomicUsize) {
        super::body(running, peak)
    }
}

#[test]
fn a_renamed_limiter_below_threaded_limits_the_bodies() {
    assert_eq!(peak_of(renamed::below), 1);
}

#[test]
fn a_limiter_above_a_renamed_threaded_makes_the_caller_wait() {
    let (open_first, first_gate) = std::sync::mpsc::channel();
    let first = renamed::above(first_gate);
    // The first task holds the only permit until its gate opens, so a second
    // call waits in the caller; were the permit taken in the body, it would
    // return at once.
    let second = common::bounded(Duration::from_millis(300), || {
        let (_open, gate) = std::sync::mpsc::channel();
        drop(_open);
        renamed::above(gate)
    });
    assert!(
        second.is_none(),
        "the second call did not wait for the permit"
    );
    open_first.send(()).unwrap();
    first.result_timeout(LONG).unwrap();
}

#[test]
fn renamed_deferred_stacking_limits_the_bodies() {
    assert_eq!(peak_of(renamed::deferred), 1);
}

/// A foreign attribute that happens to be called `limiter` is not taken for
/// pymt's: it stays on the function, and here simply runs.
mod foreign {
    pub(crate) use self::limiter_impl::limiter;
    mod limiter_impl {
        pub(crate) use pymt::threaded as limiter;
    }
}

#[pymt::threaded]
#[foreign::limiter]
fn nested_threaded() -> u32 {
    7
}

#[test]
fn an_attribute_named_limiter_is_recognised_by_what_it_does() {
    // `foreign::limiter` is really `#[threaded]`: two nested tasks.
    let inner = nested_threaded().result_timeout(LONG).unwrap();
    assert_eq!(inner.result_timeout(LONG), Ok(7));
}
