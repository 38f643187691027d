//! `PoolBuilder::from_env` and the `PYMT_*` variables.
//!
//! The environment is process-wide and tests run on parallel threads, so
//! every test here holds one `Mutex` while it sets variables, and removes
//! them again (even when it fails).

use pymt_core as pymt;

mod common;

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;

use common::{join, occupy, wait_for_at_most, OpenOnDrop, Started, LONG};
use pymt::Pool;

const VARS: [&str; 4] = [
    "PYMT_MAX_WORKERS",
    "PYMT_MIN_WORKERS",
    "PYMT_IDLE_TIMEOUT_MS",
    "PYMT_QUEUE_CAPACITY",
];

static ENV: Mutex<()> = Mutex::new(());

/// Exclusive use of the `PYMT_*` variables; all unset on entry and on drop.
struct Env(#[allow(dead_code)] MutexGuard<'static, ()>);

impl Env {
    fn lock() -> Env {
        let guard = ENV.lock().unwrap_or_else(PoisonError::into_inner);
        clear();
        Env(guard)
    }

    fn set(&self, var: &str, value: &str) -> &Self {
        std::env::set_var(var, value);
        self
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        clear();
    }
}

fn clear() {
    for var in VARS {
        std::env::remove_var(var);
    }
}

fn parallelism() -> usize {
    thread::available_parallelism().map_or(1, usize::from)
}

#[test]
fn without_variables_from_env_changes_nothing() {
    let _env = Env::lock();
    let pool = Pool::builder().from_env().build().unwrap();
    assert_eq!(pool.max_workers(), parallelism());
    assert_eq!(pool.stats().workers, 0);
    let pool = Pool::builder().max_workers(3).from_env().build().unwrap();
    assert_eq!(pool.max_workers(), 3);
}

#[test]
fn max_workers_variable() {
    let env = Env::lock();
    env.set("PYMT_MAX_WORKERS", "5");
    assert_eq!(Pool::builder().from_env().build().unwrap().max_workers(), 5);
}

#[test]
fn min_workers_variable() {
    let env = Env::lock();
    env.set("PYMT_MIN_WORKERS", "2");
    let pool = Pool::builder().max_workers(4).from_env().build().unwrap();
    assert_eq!(pool.stats().workers, 2, "min workers started at build");
    assert!(pool.join(LONG));
    // An unset max is raised to the variable's min.
    env.set("PYMT_MIN_WORKERS", &(parallelism() + 1).to_string());
    let pool = Pool::builder().from_env().build().unwrap();
    assert_eq!(pool.max_workers(), parallelism() + 1);
    assert!(pool.join(LONG));
}

#[test]
fn idle_timeout_variable() {
    let env = Env::lock();
    env.set("PYMT_IDLE_TIMEOUT_MS", "20");
    let pool = Pool::builder().max_workers(2).from_env().build().unwrap();
    assert_eq!(join(pool.submit(|| 1)), Ok(1));
    // With the default (10 s) the worker would still be there.
    wait_for_at_most("the idle worker to be reaped", LONG / 2, || {
        pool.stats().workers == 0
    });
}

#[test]
fn queue_capacity_variable() {
    let env = Env::lock();
    env.set("PYMT_QUEUE_CAPACITY", "1");
    let pool = Pool::builder().max_workers(1).from_env().build().unwrap();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let queued = pool.try_submit(|| 1).expect("one place");
    assert!(pool.try_submit(|| 2).unwrap_err().is_full());
    gate.open();
    assert_eq!(join(queued), Ok(1));
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn a_variable_overrides_an_earlier_setter() {
    let env = Env::lock();
    env.set("PYMT_MAX_WORKERS", "5")
        .set("PYMT_MIN_WORKERS", "1")
        .set("PYMT_QUEUE_CAPACITY", "1");
    let pool = Pool::builder()
        .max_workers(2)
        .min_workers(0)
        .queue_capacity(100)
        .from_env()
        .build()
        .unwrap();
    assert_eq!(pool.max_workers(), 5);
    assert_eq!(pool.stats().workers, 1);
    // The capacity is the variable's 1, not 100.
    pool.set_max_workers(1);
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let queued = pool.try_submit(|| 1).expect("one place");
    assert!(pool.try_submit(|| 2).unwrap_err().is_full());
    gate.open();
    assert_eq!(join(queued), Ok(1));
    assert_eq!(join(blocker), Ok(true));
    assert!(pool.join(LONG));
}

#[test]
fn a_later_setter_overrides_the_variable() {
    let env = Env::lock();
    env.set("PYMT_MAX_WORKERS", "5")
        .set("PYMT_MIN_WORKERS", "3")
        .set("PYMT_QUEUE_CAPACITY", "1")
        .set("PYMT_IDLE_TIMEOUT_MS", "1");
    let pool = Pool::builder()
        .from_env()
        .max_workers(2)
        .min_workers(1)
        .queue_capacity(100)
        .idle_timeout(LONG * 6)
        .build()
        .unwrap();
    assert_eq!(pool.max_workers(), 2);
    assert_eq!(pool.stats().workers, 1);
    // Capacity 100, not 1: many tasks queue behind two busy workers.
    let gate = common::Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let started = Started::new();
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let (g, tx) = (gate.clone(), started.sender());
            pool.submit(move || {
                tx.send(()).unwrap();
                g.wait()
            })
        })
        .collect();
    started.wait(2);
    let queued: Vec<_> = (0..10)
        .map(|i| pool.try_submit(move || i).expect("capacity 100"))
        .collect();
    gate.open();
    for (i, t) in queued.into_iter().enumerate() {
        assert_eq!(join(t), Ok(i));
    }
    for t in busy {
        assert_eq!(join(t), Ok(true));
    }
    // Idle timeout is the setter's minute, not the variable's 1 ms: the
    // second worker stays (the sleep gives reaping the chance to happen).
    thread::sleep(common::ms(100));
    assert_eq!(pool.stats().workers, 2);
    assert!(pool.join(LONG));
}

#[test]
fn each_bad_variable_is_an_error_naming_it() {
    let env = Env::lock();
    for var in VARS {
        for bad in ["abc", "-1", "", "1.5", "99999999999999999999999"] {
            clear();
            env.set(var, bad);
            let err = Pool::builder()
                .from_env()
                .build()
                .map(|p| p.max_workers())
                .expect_err(&format!("{var}={bad:?} was accepted"));
            let text = err.to_string();
            assert!(text.contains(var), "{var}={bad:?}: {text}");
        }
    }
}

#[test]
fn a_bad_variable_is_an_error_even_when_a_later_setter_covers_it() {
    let env = Env::lock();
    env.set("PYMT_MAX_WORKERS", "many");
    let err = Pool::builder()
        .from_env()
        .max_workers(2)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("PYMT_MAX_WORKERS"), "{err}");
}

#[test]
fn variables_are_validated_like_setters() {
    let env = Env::lock();
    env.set("PYMT_MAX_WORKERS", "0");
    assert!(Pool::builder().from_env().build().is_err());
    clear();
    env.set("PYMT_QUEUE_CAPACITY", "0");
    assert!(Pool::builder().from_env().build().is_err());
    clear();
    env.set("PYMT_MAX_WORKERS", "1")
        .set("PYMT_MIN_WORKERS", "2");
    assert!(Pool::builder().from_env().build().is_err());
}

#[test]
fn from_env_reads_the_variables_when_called() {
    let env = Env::lock();
    let builder = Pool::builder().from_env();
    env.set("PYMT_MAX_WORKERS", "6");
    assert_eq!(builder.build().unwrap().max_workers(), parallelism());
}

#[test]
fn pool_named_reads_the_variables() {
    let env = Env::lock();
    env.set("PYMT_MAX_WORKERS", "3")
        .set("PYMT_MIN_WORKERS", "1");
    let pool = Pool::named("env-named");
    assert_eq!(pool.max_workers(), 3);
    assert_eq!(pool.stats().workers, 1);
    assert!(pool.join(LONG));
}

#[test]
fn pool_named_with_a_bad_variable_does_not_panic() {
    let env = Env::lock();
    env.set("PYMT_MAX_WORKERS", "-4");
    let pool = Pool::named("env-named-bad");
    assert!(pool.max_workers() >= 1);
    assert_eq!(join(pool.submit(|| 1)), Ok(1));
    assert!(pool.join(LONG));
}
