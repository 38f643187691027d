//! The process-wide registry of named pools.
//!
//! `Pool::join_pools` joins every registered pool of the process, so the
//! tests here run one at a time (a `Mutex`), each with pool names of its own.

use pymt_core as pymt;

mod common;

use std::sync::{Arc, Barrier, Mutex, MutexGuard, PoisonError};
use std::thread;

use common::{join, join_thread, ms, occupy, OpenOnDrop, LONG};
use pymt::{Pool, TaskError};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// True if `a` and `b` are handles to the same pool (a setting changed
/// through one is seen through the other).
fn same_pool(a: &Pool, b: &Pool) -> bool {
    let before = a.max_workers();
    a.set_max_workers(before + 17);
    let same = b.max_workers() == before + 17;
    a.set_max_workers(before);
    same
}

fn registered(name: &str) -> bool {
    Pool::pools().iter().any(|p| p.name() == name)
}

#[test]
fn named_creates_once_and_returns_the_same_pool() {
    let _serial = serial();
    assert!(Pool::get_pool_by_name("reg-once").is_none());
    let a = Pool::named("reg-once");
    let b = Pool::named("reg-once");
    assert_eq!(a.name(), "reg-once");
    assert!(same_pool(&a, &b));
    assert_eq!(join(b.submit(|| 1)), Ok(1));
    assert_eq!(a.stats().completed, 1, "one pool behind both handles");
    assert!(a.join(LONG));
}

#[test]
fn named_from_many_threads_at_once_creates_one_pool() {
    let _serial = serial();
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let b = Arc::clone(&barrier);
            thread::spawn(move || {
                b.wait();
                Pool::named("reg-race")
            })
        })
        .collect();
    let pools: Vec<Pool> = handles.into_iter().map(join_thread).collect();
    for p in &pools[1..] {
        assert!(same_pool(&pools[0], p));
    }
    assert_eq!(
        Pool::pools()
            .iter()
            .filter(|p| p.name() == "reg-race")
            .count(),
        1
    );
    assert!(pools[0].join(LONG));
}

#[test]
fn builder_name_registers_the_pool() {
    let _serial = serial();
    let pool = Pool::builder()
        .name("reg-built")
        .max_workers(3)
        .build()
        .unwrap();
    assert_eq!(pool.name(), "reg-built");
    let found = Pool::get_pool_by_name("reg-built").expect("registered");
    assert!(same_pool(&pool, &found));
    assert!(same_pool(&pool, &Pool::named("reg-built")));
    assert_eq!(found.max_workers(), 3);
    assert!(registered("reg-built"));
    assert!(pool.join(LONG));
}

#[test]
fn a_registered_name_cannot_be_built_twice() {
    let _serial = serial();
    let first = Pool::builder().name("reg-dup").build().unwrap();
    let err = Pool::builder().name("reg-dup").build().unwrap_err();
    assert!(err.to_string().contains("reg-dup"), "{err}");
    // The first pool is untouched.
    assert!(same_pool(
        &first,
        &Pool::get_pool_by_name("reg-dup").unwrap()
    ));
    assert_eq!(join(first.submit(|| 1)), Ok(1));

    let by_named = Pool::named("reg-dup-2");
    assert!(Pool::builder().name("reg-dup-2").build().is_err());
    assert!(first.join(LONG));
    assert!(by_named.join(LONG));
}

#[test]
fn an_empty_name_is_an_error() {
    let _serial = serial();
    assert!(Pool::builder().name("").build().is_err());
}

#[test]
fn get_pool_by_name_only_looks_up() {
    let _serial = serial();
    assert!(Pool::get_pool_by_name("reg-absent").is_none());
    assert!(Pool::get_pool_by_name("reg-absent").is_none());
    assert!(!registered("reg-absent"), "look-up creates nothing");
}

#[test]
fn pools_lists_registered_pools_only() {
    let _serial = serial();
    let a = Pool::named("reg-list-a");
    let b = Pool::builder().name("reg-list-b").build().unwrap();
    let unnamed = Pool::new();
    let names: Vec<String> = Pool::pools().iter().map(|p| p.name().to_owned()).collect();
    assert!(names.contains(&"reg-list-a".to_owned()), "{names:?}");
    assert!(names.contains(&"reg-list-b".to_owned()), "{names:?}");
    assert!(!names.contains(&unnamed.name().to_owned()), "{names:?}");
    assert!(a.join(LONG) && b.join(LONG));
    assert!(!registered("reg-list-a") && !registered("reg-list-b"));
}

#[test]
fn join_and_shutdown_remove_the_pool_from_the_registry() {
    let _serial = serial();
    let joined = Pool::named("reg-joined");
    let t = joined.submit(|| 1);
    assert!(joined.join(LONG));
    assert_eq!(join(t), Ok(1));
    assert!(Pool::get_pool_by_name("reg-joined").is_none());
    assert!(!registered("reg-joined"));

    let shut = Pool::builder().name("reg-shut").build().unwrap();
    assert!(shut.shutdown(LONG));
    assert!(Pool::get_pool_by_name("reg-shut").is_none());
}

#[test]
fn a_named_pool_is_created_afresh_after_join() {
    let _serial = serial();
    let old = Pool::named("reg-again");
    assert!(old.join(LONG));
    let new = Pool::named("reg-again");
    assert!(!new.is_closed());
    assert!(!same_pool(&old, &new));
    assert_eq!(join(new.submit(|| 2)), Ok(2));
    assert_eq!(join(old.submit(|| 3)), Err(TaskError::Rejected));
    // The builder may take the name again too.
    assert!(new.join(LONG));
    let built = Pool::builder().name("reg-again").build().unwrap();
    assert!(built.join(LONG));
}

#[test]
fn a_stale_join_does_not_remove_the_new_pool() {
    let _serial = serial();
    let old = Pool::named("reg-stale");
    assert!(old.join(LONG));
    let new = Pool::named("reg-stale");
    assert!(old.join(LONG));
    assert!(
        Pool::get_pool_by_name("reg-stale").is_some(),
        "joining the old pool again must not unregister its successor"
    );
    assert!(new.join(LONG));
}

#[test]
fn named_pools_outlive_their_handles() {
    let _serial = serial();
    let t = Pool::named("reg-kept").submit(|| 5);
    // Every user handle is gone; the registry keeps the pool alive.
    assert_eq!(join(t), Ok(5));
    let pool = Pool::get_pool_by_name("reg-kept").expect("still registered");
    assert!(!pool.is_closed());
    assert_eq!(join(pool.submit(|| 6)), Ok(6));
    assert!(pool.join(LONG));
}

#[test]
fn named_pool_threads_are_named_after_it() {
    let _serial = serial();
    let pool = Pool::named("reg-threads");
    let name = join(pool.submit(|| thread::current().name().map(str::to_owned)))
        .unwrap()
        .expect("named thread");
    let n = name.strip_prefix("reg-threads-").expect(&name);
    assert!(n.parse::<usize>().is_ok(), "{name}");
    assert!(pool.join(LONG));
}

#[test]
fn join_pools_joins_every_registered_pool() {
    let _serial = serial();
    let a = Pool::named("reg-all-a");
    let b = Pool::builder().name("reg-all-b").build().unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            if i % 2 == 0 {
                a.submit(move || i)
            } else {
                b.submit(move || i)
            }
        })
        .collect();
    assert!(Pool::join_pools(LONG));
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(
            t.try_result(),
            Some(Ok(i)),
            "finished when join_pools returned"
        );
    }
    assert!(a.is_closed() && b.is_closed());
    assert!(Pool::pools().is_empty(), "every registered pool was joined");
    assert!(Pool::join_pools(LONG), "nothing left to join");
}

#[test]
fn join_pools_is_safe_from_several_threads_at_once() {
    let _serial = serial();
    let pools: Vec<Pool> = (0..4)
        .map(|i| Pool::named(&format!("reg-conc-{i}")))
        .collect();
    let tasks: Vec<_> = pools
        .iter()
        .flat_map(|p| (0..5).map(move |i| p.submit(move || i)))
        .collect();
    let barrier = Arc::new(Barrier::new(4));
    let joiners: Vec<_> = (0..4)
        .map(|_| {
            let b = Arc::clone(&barrier);
            thread::spawn(move || {
                b.wait();
                Pool::join_pools(LONG)
            })
        })
        .collect();
    for j in joiners {
        assert!(join_thread(j));
    }
    for t in tasks {
        assert!(join(t).is_ok());
    }
    assert!(pools.iter().all(Pool::is_closed));
    assert!(Pool::pools().is_empty());
}

#[test]
fn join_pools_is_false_when_a_pool_outlives_the_timeout() {
    let _serial = serial();
    let pool = Pool::builder()
        .name("reg-slow")
        .max_workers(1)
        .build()
        .unwrap();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let queued = pool.submit(|| 1);
    assert!(!Pool::join_pools(ms(30)));
    assert_eq!(join(queued), Err(TaskError::Cancelled));
    assert!(Pool::get_pool_by_name("reg-slow").is_none());
    gate.open();
    assert_eq!(join(blocker), Ok(true));
}
