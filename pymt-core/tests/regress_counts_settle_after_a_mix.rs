//! Attack: counts after everything settles, under a random mix of ranked
//! and plain submissions, cancels, timed and untimed waits from workers,
//! bounded queues and resizes.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::{Pool, Task, TaskError};
use std::thread;
use std::time::Instant;

fn settle(pool: &Pool, max: usize) -> pymt::PoolStats {
    let start = Instant::now();
    loop {
        let s = pool.stats();
        if (s.queued == 0 && s.active == 0 && s.workers <= max) || start.elapsed() > ms(3000) {
            return s;
        }
        thread::sleep(ms(5));
    }
}

#[test]
fn counts_settle_after_a_random_mix() {
    let rounds = env_knob("ATTACK_ROUNDS", 30u64);
    for round in 0..rounds {
        let mut rng = Rng::new(round * 7919 + 1);
        let max = 1 + rng.below(3) as usize;
        let pool = Pool::builder()
            .max_workers(max)
            .queue_capacity(8)
            .idle_timeout(ms(50))
            .build()
            .unwrap();
        let mut tasks: Vec<Task<u64>> = Vec::new();
        let mut cancelled = 0usize;
        for i in 0..200u64 {
            let prio = match rng.below(4) {
                0 => 0,
                1 => 3,
                2 => -2,
                _ => 200, // an outlier
            };
            let kind = rng.below(5);
            let p = pool.clone();
            let seed = rng.next();
            let t = pool.submit_with_priority(prio, move || {
                let mut r = Rng::new(seed);
                match kind {
                    0 => {
                        // A timed wait on a sub-task of the same pool.
                        let sub = p.submit_with_priority(1, move || i);
                        let _ = sub.wait_timeout(ms(r.below(3)));
                        sub.join().unwrap_or(0)
                    }
                    1 => {
                        // An untimed wait: helps inline.
                        let sub = p.submit(move || i);
                        sub.join().unwrap_or(0)
                    }
                    2 => {
                        let subs: Vec<_> = (0..3)
                            .map(|k| p.submit_with_priority(-1, move || k))
                            .collect();
                        let _ = pymt::wait(&subs, pymt::ReturnWhen::AllCompleted, ms(r.below(3)));
                        subs.into_iter().map(|s| s.join().unwrap_or(0)).sum()
                    }
                    _ => {
                        spin_ns(r.below(20_000));
                        i
                    }
                }
            });
            if rng.below(6) == 0 && t.cancel() {
                cancelled += 1;
            }
            if rng.below(40) == 0 {
                pool.set_max_workers(1 + rng.below(3) as usize);
            }
            tasks.push(t);
        }
        pool.set_max_workers(max);
        for t in &tasks {
            assert!(t.wait_timeout(LONG), "round {round}: a task never ended");
        }
        for t in tasks {
            match t.join() {
                Ok(_) | Err(TaskError::Cancelled) => {}
                other => panic!("round {round}: unexpected {other:?}"),
            }
        }
        assert!(pool.wait_completion(LONG), "round {round}: never settled");
        let s = settle(&pool, max);
        assert_eq!(
            (s.queued, s.active),
            (0, 0),
            "round {round}: counts drifted: {s:?}"
        );
        assert!(s.workers <= max, "round {round}: workers above max: {s:?}");
        assert!(
            s.cancelled >= cancelled,
            "round {round}: {s:?} vs {cancelled}"
        );
        // Idle workers retire (min 0).
        let start = Instant::now();
        while pool.stats().workers > 0 && start.elapsed() < ms(3000) {
            thread::sleep(ms(10));
        }
        assert_eq!(
            pool.stats().workers,
            0,
            "round {round}: idle workers stayed: {:?}",
            pool.stats()
        );
        assert!(pool.join(LONG));
        let s = pool.stats();
        assert_eq!(
            (s.queued, s.active, s.workers),
            (0, 0, 0),
            "round {round}: after join {s:?}"
        );
    }
}
