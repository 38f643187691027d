//! `Pool`: building, workers on demand, idle reaping, thread names, the
//! bounded queue, priorities, `map`, `map_chunked`, `wait_completion`,
//! `drain`, `join`, `shutdown`, `set_max_workers`, `stats`, `as_completed`
//! and dropping the last handle.

use pymt_core as pymt;

mod common;

use std::collections::HashSet;
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use common::{
    join, join_thread, live_threads, ms, occupy, spawn_blocked, wait_for, wait_for_threads, within,
    Gate, OpenOnDrop, Record, Started, LONG,
};
use pymt::{Pool, PoolStats, SubmitError, TaskError, TaskState};

fn pool_of(max: usize) -> Pool {
    Pool::builder().max_workers(max).build().unwrap()
}

fn parallelism() -> usize {
    thread::available_parallelism().map_or(1, usize::from)
}

/// Submits `n` tasks that each report their start, then block on `gate`.
fn blocked_tasks(pool: &Pool, gate: &Gate, n: usize) -> (Started, Vec<pymt::Task<bool>>) {
    let started = Started::new();
    let tasks = (0..n)
        .map(|_| {
            let (g, tx) = (gate.clone(), started.sender());
            pool.submit(move || {
                tx.send(()).unwrap();
                g.wait()
            })
        })
        .collect();
    (started, tasks)
}

// ===== types =====

fn assert_pool_traits<T: Clone + Send + Sync + std::fmt::Debug>() {}
fn assert_stats_traits<T: Clone + std::fmt::Debug>() {}
fn assert_build_error_traits<T: std::fmt::Debug + std::fmt::Display + std::error::Error>() {}

#[test]
fn pool_types_have_the_contract_traits() {
    assert_pool_traits::<Pool>();
    assert_stats_traits::<PoolStats>();
    assert_build_error_traits::<pymt::BuildError>();
}

// ===== building =====

#[test]
fn new_uses_the_defaults() {
    let pool = Pool::new();
    assert_eq!(pool.max_workers(), parallelism());
    assert!(!pool.name().is_empty());
    let stats = pool.stats();
    assert_eq!(
        (stats.workers, stats.active, stats.queued),
        (0, 0, 0),
        "no worker before the first task"
    );
    assert_eq!(
        (stats.completed, stats.panicked, stats.cancelled),
        (0, 0, 0)
    );
    assert_eq!(join(pool.submit(|| 1)), Ok(1));
    assert_eq!(Pool::default().max_workers(), parallelism());
}

#[test]
fn unnamed_pools_get_distinct_names() {
    let names: HashSet<String> = (0..5).map(|_| Pool::new().name().to_owned()).collect();
    assert_eq!(names.len(), 5);
}

#[test]
fn build_rejects_max_workers_zero() {
    let err = Pool::builder().max_workers(0).build().unwrap_err();
    assert!(err.to_string().contains("max_workers"), "{err}");
}

#[test]
fn build_rejects_an_explicit_max_below_min() {
    let err = Pool::builder()
        .min_workers(3)
        .max_workers(2)
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("max_workers") && text.contains("min_workers"),
        "{text}"
    );
    // Setter order does not matter.
    assert!(Pool::builder()
        .max_workers(2)
        .min_workers(3)
        .build()
        .is_err());
}

#[test]
fn an_unset_max_is_raised_to_min() {
    let min = parallelism() + 2;
    let pool = Pool::builder().min_workers(min).build().unwrap();
    assert_eq!(pool.max_workers(), min);
    assert_eq!(pool.stats().workers, min);
    assert!(pool.join(LONG));
}

#[test]
fn max_equal_to_min_is_fine() {
    let pool = Pool::builder()
        .min_workers(2)
        .max_workers(2)
        .build()
        .unwrap();
    assert_eq!(pool.max_workers(), 2);
    assert!(pool.join(LONG));
}

#[test]
fn build_rejects_queue_capacity_zero() {
    let err = Pool::builder().queue_capacity(0).build().unwrap_err();
    assert!(err.to_string().contains("queue_capacity"), "{err}");
    assert!(Pool::builder().queue_capacity(1).build().is_ok());
}

#[test]
fn builder_is_reusable_through_clone() {
    let builder = Pool::builder().max_workers(3);
    let a = builder.clone().build().unwrap();
    let b = builder.build().unwrap();
    assert_eq!((a.max_workers(), b.max_workers()), (3, 3));
    assert_ne!(a.name(), b.name());
}

// ===== workers on demand =====

#[test]
fn workers_start_only_with_load_and_never_exceed_max() {
    let pool = Pool::builder()
        .max_workers(3)
        .idle_timeout(LONG * 6)
        .build()
        .unwrap();
    assert_eq!(pool.stats().workers, 0);
    // Sequential work is served by one worker.
    for i in 0..10 {
        assert_eq!(join(pool.submit(move || i)), Ok(i));
        assert!(pool.wait_completion(LONG));
        assert_eq!(pool.stats().workers, 1, "round {i}");
    }
    // Load grows the pool, up to max and no further.
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let (started, tasks) = blocked_tasks(&pool, &gate, 7);
    started.wait(3);
    let stats = pool.stats();
    assert_eq!(stats.workers, 3, "{stats:?}");
    assert_eq!(stats.active, 3, "{stats:?}");
    assert_eq!(stats.queued, 4, "{stats:?}");
    assert!(started.none_within(ms(20)), "a fourth task ran beyond max");
    gate.open();
    for t in tasks {
        assert_eq!(join(t), Ok(true));
        assert!(pool.stats().workers <= 3);
    }
    assert!(pool.wait_completion(LONG));
    assert!(pool.stats().workers <= 3);
}

#[test]
fn min_workers_are_started_at_build() {
    let pool = Pool::builder()
        .min_workers(2)
        .max_workers(4)
        .idle_timeout(LONG * 6)
        .build()
        .unwrap();
    assert_eq!(pool.stats().workers, 2);
    wait_for_threads(&format!("{}-", pool.name()), 2);
    // They are real threads: two blocking tasks, submitted one after the
    // other, run at once without growing the pool.
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let (first_started, first) = blocked_tasks(&pool, &gate, 1);
    first_started.wait(1);
    let (second_started, second) = blocked_tasks(&pool, &gate, 1);
    second_started.wait(1);
    assert_eq!(pool.stats().workers, 2);
    let tasks = first.into_iter().chain(second);
    gate.open();
    for t in tasks {
        assert_eq!(join(t), Ok(true));
    }
    assert!(pool.join(LONG));
    assert_eq!(pool.stats().workers, 0);
}

#[test]
fn idle_workers_above_min_are_reaped() {
    let pool = Pool::builder()
        .min_workers(1)
        .max_workers(3)
        .idle_timeout(ms(30))
        .build()
        .unwrap();
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let (started, tasks) = blocked_tasks(&pool, &gate, 3);
    started.wait(3);
    assert_eq!(pool.stats().workers, 3);
    gate.open();
    for t in tasks {
        assert_eq!(join(t), Ok(true));
    }
    wait_for("idle workers to be reaped down to min", || {
        pool.stats().workers == 1
    });
    wait_for_threads(&format!("{}-", pool.name()), 1);
    // The minimum is never reaped (the sleep gives it the chance to be).
    thread::sleep(ms(100));
    assert_eq!(pool.stats().workers, 1);
    assert_eq!(join(pool.submit(|| 5)), Ok(5));
}

#[test]
fn without_min_every_idle_worker_is_reaped() {
    let pool = Pool::builder()
        .max_workers(2)
        .idle_timeout(ms(20))
        .build()
        .unwrap();
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let (started, tasks) = blocked_tasks(&pool, &gate, 2);
    started.wait(2);
    gate.open();
    for t in tasks {
        assert_eq!(join(t), Ok(true));
    }
    wait_for("every idle worker to be reaped", || {
        pool.stats().workers == 0
    });
    // A reaped pool starts workers again on demand.
    assert_eq!(join(pool.submit(|| 6)), Ok(6));
}

// ===== thread names =====

#[test]
fn worker_threads_are_named_after_the_pool() {
    let pool = pool_of(3);
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let started = Started::new();
    let names: Vec<_> = (0..3)
        .map(|_| {
            let (g, tx) = (gate.clone(), started.sender());
            pool.submit(move || {
                tx.send(()).unwrap();
                g.wait();
                thread::current().name().map(str::to_owned)
            })
        })
        .collect();
    started.wait(3);
    gate.open();
    let prefix = format!("{}-", pool.name());
    let mut seen = HashSet::new();
    for t in names {
        let name = join(t).unwrap().expect("worker threads are named");
        let n = name
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{name} is not <{}>-<n>", pool.name()));
        assert!(n.parse::<usize>().is_ok(), "{name}: suffix is not a number");
        seen.insert(name);
    }
    assert_eq!(seen.len(), 3, "three workers, three names: {seen:?}");
}

// ===== bounded queue =====

#[test]
fn try_submit_on_a_full_queue_hands_the_closure_back() {
    let pool = Pool::builder()
        .max_workers(1)
        .queue_capacity(2)
        .build()
        .unwrap();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let a = pool.try_submit(|| 1).expect("room for two");
    let b = pool
        .try_submit_with_priority(5, || 2)
        .expect("room for two");
    assert_eq!(b.priority(), 5);
    assert_eq!(pool.stats().queued, 2);
    let value = String::from("given back");
    match pool.try_submit(move || value) {
        Err(err @ SubmitError::Full(_)) => {
            assert!(err.is_full() && !err.is_shutdown());
            assert!(!err.to_string().is_empty());
            assert!(format!("{err:?}").contains("Full"));
            assert_eq!(err.into_inner()(), "given back");
        }
        Err(other) => panic!("expected Full, got {other:?}"),
        Ok(task) => panic!("queue over capacity accepted {task:?}"),
    }
    // A cancelled task frees its place.
    assert!(a.cancel());
    let c = pool.try_submit(|| 3).expect("a place was freed");
    gate.open();
    assert_eq!(join(b), Ok(2));
    assert_eq!(join(c), Ok(3));
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn submit_blocks_while_the_queue_is_full() {
    let pool = Pool::builder()
        .max_workers(1)
        .queue_capacity(1)
        .build()
        .unwrap();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let first = pool.submit(|| 1);
    let returned = Record::new();
    let (p, r) = (pool.clone(), returned.clone());
    let submitter = spawn_blocked("blocked-submitter", move || {
        let t = p.submit(|| 2);
        r.push("submit returned");
        t
    });
    assert!(
        returned.get().is_empty(),
        "submit returned while the queue was full"
    );
    assert_eq!(pool.stats().queued, 1);
    gate.open();
    let second = join_thread(submitter);
    assert_eq!(join(first), Ok(1));
    assert_eq!(join(second), Ok(2));
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn a_submission_blocked_on_a_full_queue_is_rejected_by_shutdown() {
    let pool = Pool::builder()
        .max_workers(1)
        .queue_capacity(1)
        .build()
        .unwrap();
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let first = pool.submit(|| 1);
    let p = pool.clone();
    let submitter = spawn_blocked("blocked-submitter", move || p.submit(|| 2));
    let shutdown = {
        let p = pool.clone();
        thread::spawn(move || p.shutdown(LONG))
    };
    let second = join_thread(submitter);
    assert_eq!(join(second), Err(TaskError::Rejected));
    assert_eq!(join(first), Err(TaskError::Cancelled));
    gate.open();
    assert!(join_thread(shutdown));
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn try_submit_after_shutdown_hands_the_closure_back() {
    let pool = Pool::new();
    assert!(pool.shutdown(LONG));
    match pool.try_submit(|| 7) {
        Err(err @ SubmitError::Shutdown(_)) => {
            assert!(err.is_shutdown() && !err.is_full());
            assert!(!err.to_string().is_empty());
            assert_eq!(err.into_inner()(), 7);
        }
        Err(other) => panic!("expected Shutdown, got {other:?}"),
        Ok(task) => panic!("a shut-down pool accepted {task:?}"),
    }
    let joined = Pool::new();
    assert!(joined.join(LONG));
    assert!(joined.try_submit(|| 8).unwrap_err().is_shutdown());
}

// ===== priorities =====

#[test]
fn higher_priority_first_and_fifo_among_equals() {
    let pool = pool_of(1);
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let order = Record::new();
    let priorities = [0, 5, -2, 5, 0, 9, -2, 5, 1, 0, i32::MAX, i32::MIN];
    let tasks: Vec<_> = priorities
        .iter()
        .enumerate()
        .map(|(seq, &p)| {
            let o = order.clone();
            pool.submit_with_priority(p, move || o.push((p, seq)))
        })
        .collect();
    gate.open();
    for t in tasks {
        assert_eq!(join(t), Ok(()));
    }
    let mut expected: Vec<(i32, usize)> = priorities
        .iter()
        .enumerate()
        .map(|(seq, &p)| (p, seq))
        .collect();
    // A stable sort keeps submission order among equal priorities.
    expected.sort_by_key(|&(p, _)| std::cmp::Reverse(p));
    assert_eq!(order.get(), expected);
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn default_priority_is_zero_and_submit_is_fifo() {
    let pool = pool_of(1);
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let order = Record::new();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let o = order.clone();
            pool.submit(move || o.push(i))
        })
        .collect();
    assert!(tasks.iter().all(|t| t.priority() == 0));
    gate.open();
    for t in tasks {
        assert_eq!(join(t), Ok(()));
    }
    assert_eq!(order.get(), (0..20).collect::<Vec<_>>());
    assert_eq!(join(blocker), Ok(true));
}

// ===== map / map_chunked =====

#[test]
fn map_returns_one_task_per_item_in_input_order() {
    let pool = pool_of(4);
    let tasks = pool.map(
        |x: u64| {
            // Later items finish first, so input order is not completion order.
            thread::sleep(ms(20u64.saturating_sub(x)));
            x * x
        },
        0..20,
    );
    assert_eq!(tasks.len(), 20);
    let results: Vec<u64> = tasks.into_iter().map(|t| join(t).unwrap()).collect();
    assert_eq!(results, (0..20).map(|x| x * x).collect::<Vec<_>>());
    assert!(pool.map(|x: u8| x, Vec::new()).is_empty());
}

#[test]
fn map_captures_panics_per_item() {
    let pool = pool_of(2);
    let results: Vec<_> = pool
        .map(
            |x: i32| {
                assert!(x != 2, "item two");
                x
            },
            0..4,
        )
        .into_iter()
        .map(join)
        .collect();
    assert_eq!(results[0], Ok(0));
    assert_eq!(results[1], Ok(1));
    assert!(results[2].as_ref().unwrap_err().is_panic());
    assert_eq!(results[3], Ok(3));
}

fn chunk_sizes(pool: &Pool, len: u32, chunk: usize) -> (Vec<usize>, Vec<u32>) {
    let tasks = pool.map_chunked(|x: u32| x + 100, 0..len, chunk);
    let chunks: Vec<Vec<u32>> = tasks.into_iter().map(|t| join(t).unwrap()).collect();
    let sizes = chunks.iter().map(Vec::len).collect();
    (sizes, chunks.into_iter().flatten().collect())
}

#[test]
fn map_chunked_with_an_explicit_chunk() {
    let pool = pool_of(4);
    let expected: Vec<u32> = (100..110).collect();
    assert_eq!(
        chunk_sizes(&pool, 10, 3),
        (vec![3, 3, 3, 1], expected.clone())
    );
    assert_eq!(chunk_sizes(&pool, 10, 5), (vec![5, 5], expected.clone()));
    assert_eq!(chunk_sizes(&pool, 10, 1), (vec![1; 10], expected.clone()));
    assert_eq!(chunk_sizes(&pool, 10, 50), (vec![10], expected));
    assert_eq!(chunk_sizes(&pool, 0, 3), (vec![], vec![]));
}

#[test]
fn map_chunked_zero_spreads_evenly_over_max_workers() {
    let expected: Vec<u32> = (100..110).collect();
    // ceil(10 / 4) = 3
    assert_eq!(
        chunk_sizes(&pool_of(4), 10, 0),
        (vec![3, 3, 3, 1], expected.clone())
    );
    // ceil(10 / 3) = 4
    assert_eq!(
        chunk_sizes(&pool_of(3), 10, 0),
        (vec![4, 4, 2], expected.clone())
    );
    // ceil(10 / 1) = 10
    assert_eq!(chunk_sizes(&pool_of(1), 10, 0), (vec![10], expected));
    // ceil(2 / 4) = 1
    assert_eq!(chunk_sizes(&pool_of(4), 2, 0), (vec![1, 1], vec![100, 101]));
    assert_eq!(chunk_sizes(&pool_of(4), 0, 0), (vec![], vec![]));
}

// ===== wait_completion / drain =====

#[test]
fn wait_completion_waits_for_queued_and_running_tasks() {
    let pool = pool_of(1);
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let queued: Vec<_> = (0..3).map(|i| pool.submit(move || i)).collect();
    assert!(!pool.wait_completion(ms(20)), "a task is still running");
    gate.open();
    assert!(pool.wait_completion(LONG));
    let stats = pool.stats();
    assert_eq!((stats.queued, stats.active), (0, 0), "{stats:?}");
    assert!(queued.iter().all(pymt::Task::is_done));
    assert!(blocker.is_done());
    // On an idle pool it returns at once; the pool stays open.
    assert!(pool.wait_completion(ms(0)));
    assert!(!pool.is_closed());
    assert_eq!(join(pool.submit(|| 4)), Ok(4));
}

#[test]
fn drain_holds_back_outside_submissions_until_it_returns() {
    let pool = pool_of(1);
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let queued = pool.submit(|| 1);
    let events = Record::new();

    let (p, e) = (pool.clone(), events.clone());
    let drainer = spawn_blocked("drainer", move || {
        let done = p.drain(LONG);
        e.push("drain returned");
        done
    });
    let (p, e) = (pool.clone(), events.clone());
    let submitter = spawn_blocked("submitter", move || {
        let t = p.submit(|| 2);
        e.push("submit returned");
        t
    });
    assert!(
        events.get().is_empty(),
        "a submission went through during drain: {:?}",
        events.get()
    );
    gate.open();
    assert!(join_thread(drainer), "drain finished the work");
    let late = join_thread(submitter);
    let mut seen = events.get();
    seen.sort_unstable();
    assert_eq!(seen, ["drain returned", "submit returned"]);
    assert_eq!(join(queued), Ok(1));
    assert_eq!(join(late), Ok(2), "the held-back submission runs after");
    assert_eq!(join(blocker), Ok(true));
    assert!(!pool.is_closed(), "drain does not close the pool");
}

#[test]
fn drain_times_out_while_work_remains() {
    let pool = pool_of(1);
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    assert!(!pool.drain(ms(20)));
    // After a timed-out drain, submissions flow again.
    let t = pool.try_submit(|| 3).expect("drain is over");
    gate.open();
    assert_eq!(join(t), Ok(3));
    assert_eq!(join(blocker), Ok(true));
}

// ===== join =====

#[test]
fn join_finishes_queued_work_then_rejects() {
    let pool = pool_of(1);
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let queued: Vec<_> = (0..5).map(|i| pool.submit(move || i)).collect();
    let p = pool.clone();
    let joiner = spawn_blocked("joiner", move || p.join(LONG));
    assert!(pool.is_closed(), "join stops accepting at once");
    let late = pool.submit(|| 99);
    assert_eq!(late.state(), TaskState::Rejected);
    assert_eq!(join(late), Err(TaskError::Rejected));
    gate.open();
    assert!(join_thread(joiner));
    for (i, t) in queued.into_iter().enumerate() {
        assert_eq!(join(t), Ok(i));
    }
    assert_eq!(join(blocker), Ok(true));
    assert_eq!(pool.stats().workers, 0, "the workers stopped");
    wait_for_threads(&format!("{}-", pool.name()), 0);
    assert_eq!(join(pool.submit(|| 100)), Err(TaskError::Rejected));
    assert!(pool.join(LONG), "joining again is harmless");
}

#[test]
fn join_on_an_idle_or_unused_pool() {
    let unused = Pool::new();
    assert!(unused.join(LONG));
    assert!(unused.is_closed());
    let used = pool_of(2);
    assert_eq!(join(used.submit(|| 1)), Ok(1));
    assert!(used.join(LONG));
    assert_eq!(used.stats().workers, 0);
}

#[test]
fn join_timeout_cancels_what_is_still_queued() {
    let pool = pool_of(1);
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let queued: Vec<_> = (0..3).map(|i| pool.submit(move || i)).collect();
    assert!(!pool.join(ms(30)), "the running task outlives the timeout");
    for t in &queued {
        assert_eq!(t.state(), TaskState::Cancelled);
    }
    assert!(!blocker.is_done(), "the running task is left to finish");
    gate.open();
    assert_eq!(join(blocker), Ok(true));
    for t in queued {
        assert_eq!(join(t), Err(TaskError::Cancelled));
    }
    assert_eq!(pool.stats().cancelled, 3);
    assert_eq!(join(pool.submit(|| 4)), Err(TaskError::Rejected));
}

// ===== shutdown =====

#[test]
fn shutdown_cancels_queued_and_stops_running_tasks() {
    let pool = pool_of(1);
    let started = Started::new();
    let tx = started.sender();
    let running = pool.submit(move || {
        tx.send(()).unwrap();
        let deadline = Instant::now() + LONG;
        while !pymt::stop_requested() {
            if Instant::now() > deadline {
                return false;
            }
            thread::yield_now();
        }
        pymt::current_task().unwrap().stop_requested()
    });
    started.wait(1);
    let queued: Vec<_> = (0..3).map(|i| pool.submit(move || i)).collect();
    assert!(pool.shutdown(LONG));
    assert_eq!(join(running), Ok(true), "the running task saw the stop");
    for t in queued {
        assert_eq!(join(t), Err(TaskError::Cancelled));
    }
    assert!(pool.is_closed());
    let stats = pool.stats();
    assert_eq!((stats.workers, stats.cancelled, stats.completed), (0, 3, 1));
    assert_eq!(join(pool.submit(|| 1)), Err(TaskError::Rejected));
}

#[test]
fn shutdown_is_false_when_a_running_task_ignores_the_stop() {
    let pool = pool_of(1);
    let (gate, stubborn) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    assert!(!pool.shutdown(ms(30)));
    assert!(!stubborn.is_done());
    assert_eq!(join(pool.submit(|| 1)), Err(TaskError::Rejected));
    gate.open();
    assert_eq!(join(stubborn), Ok(true), "the task still ends normally");
    wait_for("the worker to exit", || pool.stats().workers == 0);
}

#[test]
fn shutdown_of_an_unused_pool() {
    let pool = Pool::new();
    assert!(pool.shutdown(LONG));
    assert!(pool.is_closed());
    assert!(pool.shutdown(LONG), "shutting down twice is harmless");
    assert!(pool.join(LONG));
}

// ===== set_max_workers =====

#[test]
fn growing_starts_workers_for_queued_tasks() {
    let pool = pool_of(1);
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let (started, queued) = blocked_tasks(&pool, &gate, 2);
    assert!(started.none_within(ms(20)), "one worker, already busy");
    pool.set_max_workers(3);
    assert_eq!(pool.max_workers(), 3);
    // Both queued tasks run while the first worker is still blocked.
    started.wait(2);
    let stats = pool.stats();
    assert_eq!((stats.workers, stats.active, stats.queued), (3, 3, 0));
    gate.open();
    for t in queued {
        assert_eq!(join(t), Ok(true));
    }
    assert_eq!(join(blocker), Ok(true));
}

#[test]
fn shrinking_retires_idle_workers_promptly() {
    let pool = Pool::builder()
        .max_workers(4)
        .idle_timeout(LONG * 6) // reaping must not be what shrinks the pool
        .build()
        .unwrap();
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let (started, tasks) = blocked_tasks(&pool, &gate, 4);
    started.wait(4);
    gate.open();
    for t in tasks {
        assert_eq!(join(t), Ok(true));
    }
    assert!(pool.wait_completion(LONG));
    assert_eq!(pool.stats().workers, 4);
    pool.set_max_workers(1);
    assert_eq!(pool.max_workers(), 1);
    wait_for("surplus idle workers to retire", || {
        pool.stats().workers == 1
    });
    wait_for_threads(&format!("{}-", pool.name()), 1);
    assert_eq!(join(pool.submit(|| 1)), Ok(1));
    assert_eq!(pool.stats().workers, 1);
}

#[test]
fn shrinking_retires_busy_workers_after_their_task() {
    let pool = Pool::builder()
        .max_workers(3)
        .idle_timeout(LONG * 6)
        .build()
        .unwrap();
    let gate = Gate::new();
    let _open = OpenOnDrop(gate.clone());
    let (started, tasks) = blocked_tasks(&pool, &gate, 3);
    started.wait(3);
    pool.set_max_workers(1);
    // Running tasks are not interrupted.
    assert!(tasks.iter().all(|t| !t.is_done()));
    gate.open();
    for t in tasks {
        assert_eq!(join(t), Ok(true));
    }
    wait_for("busy surplus workers to retire", || {
        pool.stats().workers == 1
    });
    // And the pool now runs one task at a time.
    let gate = Gate::new();
    let _open2 = OpenOnDrop(gate.clone());
    let (started, tasks) = blocked_tasks(&pool, &gate, 2);
    started.wait(1);
    assert!(started.none_within(ms(20)));
    assert_eq!(pool.stats().workers, 1);
    gate.open();
    for t in tasks {
        assert_eq!(join(t), Ok(true));
    }
}

// ===== stats =====

#[test]
fn stats_count_completed_panicked_and_cancelled_exactly() {
    let pool = pool_of(1);
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let ok: Vec<_> = (0..3).map(|i| pool.submit(move || i)).collect();
    let bad: Vec<_> = (0..2)
        .map(|_| pool.submit(|| -> i32 { panic!("stats-panic") }))
        .collect();
    let cancelled: Vec<_> = (0..4).map(|i| pool.submit(move || i)).collect();
    let stats = pool.stats();
    assert_eq!((stats.active, stats.queued), (1, 9), "{stats:?}");
    for t in &cancelled {
        assert!(t.cancel());
    }
    assert_eq!(pool.stats().queued, 5);
    assert_eq!(pool.stats().cancelled, 4);
    gate.open();
    assert!(pool.wait_completion(LONG));
    let stats = pool.stats();
    assert_eq!(stats.completed, 4, "3 + the blocker: {stats:?}");
    assert_eq!(stats.panicked, 2, "{stats:?}");
    assert_eq!(stats.cancelled, 4, "{stats:?}");
    assert_eq!((stats.active, stats.queued), (0, 0), "{stats:?}");
    assert!(stats.workers <= 1);
    // Rejections are none of these.
    assert!(pool.join(LONG));
    assert_eq!(join(pool.submit(|| 0)), Err(TaskError::Rejected));
    let after = pool.stats();
    assert_eq!(
        (after.completed, after.panicked, after.cancelled),
        (4, 2, 4)
    );
    drop((ok, bad, blocker));
}

#[test]
fn stats_is_clone_and_debug() {
    let pool = Pool::new();
    let stats = pool.stats();
    let copy = stats.clone();
    assert_eq!(copy.workers, stats.workers);
    let text = format!("{stats:?}");
    for field in [
        "workers",
        "active",
        "queued",
        "completed",
        "panicked",
        "cancelled",
    ] {
        assert!(text.contains(field), "{text}");
    }
    assert!(format!("{pool:?}").contains(pool.name()));
}

// ===== as_completed =====

#[test]
fn pool_as_completed_yields_in_completion_order() {
    let pool = pool_of(3);
    let done_first = pool.submit(|| 0);
    assert!(done_first.wait_timeout(LONG));
    let (g1, g2) = (Gate::new(), Gate::new());
    let _open = (OpenOnDrop(g1.clone()), OpenOnDrop(g2.clone()));
    let started = Started::new();
    let make = |gate: &Gate, value: u32| {
        let (g, tx) = (gate.clone(), started.sender());
        pool.submit(move || {
            tx.send(()).unwrap();
            assert!(g.wait());
            value
        })
    };
    let t1 = make(&g1, 1);
    let t2 = make(&g2, 2);
    started.wait(2);
    let (tx, rx) = mpsc::channel();
    let consumer = thread::spawn(move || {
        for t in Pool::as_completed(vec![t1, t2, done_first]) {
            tx.send(join(t).unwrap()).unwrap();
        }
    });
    assert_eq!(rx.recv_timeout(LONG), Ok(0), "already finished first");
    assert!(
        rx.recv_timeout(ms(20)).is_err(),
        "nothing else has finished"
    );
    g2.open();
    assert_eq!(rx.recv_timeout(LONG), Ok(2));
    g1.open();
    assert_eq!(rx.recv_timeout(LONG), Ok(1));
    join_thread(consumer);
}

#[test]
fn pool_as_completed_of_finished_tasks_and_of_none() {
    let pool = pool_of(1);
    let (gate, blocker) = occupy(&pool);
    let tasks: Vec<_> = (0..5).map(|i| pool.submit(move || i)).collect();
    gate.open();
    for t in &tasks {
        assert!(t.wait_timeout(LONG));
    }
    // One worker ran them in submission order, so they completed in order.
    let it = Pool::as_completed(tasks);
    assert_eq!(it.len(), 5);
    let order: Vec<i32> = it.map(|t| t.join().unwrap()).collect();
    assert_eq!(order, [0, 1, 2, 3, 4]);
    let empty: Vec<pymt::Task<()>> = Vec::new();
    assert_eq!(
        within("as_completed of nothing", move || Pool::as_completed(empty)
            .count()),
        0
    );
    assert_eq!(join(blocker), Ok(true));
}

// ===== handles and dropping =====

#[test]
fn clones_share_one_pool() {
    let pool = pool_of(2);
    let other = pool.clone();
    assert_eq!(other.name(), pool.name());
    other.set_max_workers(5);
    assert_eq!(pool.max_workers(), 5);
    drop(other);
    assert!(!pool.is_closed(), "dropping a clone closes nothing");
    assert_eq!(join(pool.submit(|| 1)), Ok(1));
    assert_eq!(pool.stats().completed, 1);
}

#[test]
fn dropping_the_last_handle_does_not_block_and_queued_work_finishes() {
    let pool = pool_of(1);
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let queued: Vec<_> = (0..4).map(|i| pool.submit(move || i * 2)).collect();
    let threads = format!("{}-", pool.name());
    assert_eq!(live_threads(&threads).unwrap_or(1), 1);
    within("dropping the last handle of a busy pool", move || {
        drop(pool)
    });
    assert!(!blocker.is_done());
    gate.open();
    assert_eq!(join(blocker), Ok(true));
    for (i, t) in queued.into_iter().enumerate() {
        assert_eq!(join(t), Ok(i * 2));
    }
    wait_for_threads(&threads, 0);
}

#[test]
fn the_last_handle_may_drop_inside_the_pools_own_task() {
    let pool = pool_of(1);
    let (gate, blocker) = occupy(&pool);
    let _open = OpenOnDrop(gate.clone());
    let p = pool.clone();
    let task = pool.submit(move || {
        drop(p); // by then the last handle: it goes away on the pool's own worker
        5
    });
    drop(pool);
    gate.open();
    assert_eq!(join(blocker), Ok(true));
    assert_eq!(join(task), Ok(5));
}
