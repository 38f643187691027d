//! Review of 72ad36d (`MainLane::pop_wait` returns `Unblocked::Elsewhere`
//! when a woken waiter finds the priority-0 lane empty while other lanes
//! hold entries; the worker loop re-scans, still idle and asleep).
//!
//! 1. A surplus worker woken for ranked entries others take still retires
//!    on its idle timeout once traffic stops; an idle pool burns no CPU.
//! 2. After Elsewhere exits, a later priority-0 push still wakes a
//!    sleeping worker (no lost wake-up from `waiting`/`notified`).
//! 3. Shutdown and join racing that traffic: every task ends in exactly
//!    one final state, nothing hangs.
//!
//! Every wait is bounded.

#[cfg(not(loom))]
mod common;

#[cfg(not(loom))]
mod threads {
    use pymt_core as pymt;

    use super::common::*;

    use pymt::{Pool, TaskState};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::thread;
    use std::time::{Duration, Instant};

    /// Priorities that exercise every lane: levels both sides, outliers
    /// (beyond the level span) and the main lane.
    const MIX: &[i32] = &[0, 0, 3, -2, 1, -1, 100, -100, 7];

    fn noise(pool: &Pool, stop: &Arc<AtomicBool>, seed: u64) -> thread::JoinHandle<usize> {
        let (pool, stop) = (pool.clone(), stop.clone());
        thread::spawn(move || {
            let mut rng = Rng::new(seed + 5);
            let outstanding = Arc::new(AtomicUsize::new(0));
            let mut n = 0;
            while !stop.load(SeqCst) {
                if outstanding.load(SeqCst) > 6 {
                    thread::yield_now();
                    continue;
                }
                outstanding.fetch_add(1, SeqCst);
                let o = outstanding.clone();
                let p = MIX[rng.below(MIX.len() as u64) as usize];
                drop(pool.submit_with_priority(p, move || {
                    o.fetch_sub(1, SeqCst);
                }));
                n += 1;
            }
            n
        })
    }

    /// User+system CPU time of this process's threads named `prefix*`
    /// (the pool's workers; other tests run in parallel), in clock ticks.
    fn cpu_ticks(prefix: &str) -> Option<u64> {
        let mut sum = 0;
        for t in std::fs::read_dir("/proc/self/task")
            .ok()?
            .filter_map(Result::ok)
        {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            if !comm.starts_with(prefix) {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
                continue;
            };
            let rest = stat.rsplit_once(") ")?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            sum += f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
        }
        Some(sum)
    }

    // ===== suspicion 1: idle timeout and idle CPU =====

    #[test]
    fn surplus_worker_retires_after_ranked_traffic_and_idles_cold() {
        let pool = Pool::builder()
            .name("elsw-idle")
            .min_workers(1)
            .max_workers(2)
            .idle_timeout(ms(100))
            .build()
            .unwrap();
        for round in 0..3u64 {
            let stop = Arc::new(AtomicBool::new(false));
            let threads: Vec<_> = (0..2).map(|s| noise(&pool, &stop, s + round * 7)).collect();
            // Make sure the surplus worker exists.
            let gates: Vec<_> = (0..2).map(|_| occupy(&pool)).collect();
            assert_eq!(pool.stats().workers, 2);
            for (gate, task) in gates {
                gate.open();
                assert_eq!(join(task), Ok(true));
            }
            thread::sleep(ms(250));
            stop.store(true, SeqCst);
            for t in threads {
                join_thread(t);
            }
            assert!(pool.wait_completion(ms(2000)), "traffic settles");
            let stopped = Instant::now();
            wait_for_at_most("the surplus worker to retire", ms(1500), || {
                pool.stats().workers == 1
            });
            let took = stopped.elapsed();
            assert!(took < ms(1000), "retired only after {took:?}");
            // Idle: the remaining worker (and nothing else) sleeps.
            if let (Some(a), _) = (cpu_ticks("elsw-idle"), thread::sleep(ms(300))) {
                let b = cpu_ticks("elsw-idle").unwrap_or(a).max(a);
                assert!(b - a <= 6, "idle pool used {} ticks in 300 ms", b - a);
            }
            let s = pool.stats();
            assert_eq!((s.active, s.queued), (0, 0));
        }
        assert!(pool.join(ms(2000)));
    }

    /// A surplus worker asleep on its idle timeout while ranked entries
    /// keep arriving and the other worker keeps taking them: it must not
    /// spin (Elsewhere -> re-scan -> block) while the traffic lasts.
    #[test]
    fn woken_surplus_worker_does_not_spin_under_ranked_trickle() {
        let pool = Pool::builder()
            .name("elsw-trk")
            .min_workers(1)
            .max_workers(2)
            .idle_timeout(ms(150))
            .build()
            .unwrap();
        let gates: Vec<_> = (0..2).map(|_| occupy(&pool)).collect();
        for (gate, task) in gates {
            gate.open();
            assert_eq!(join(task), Ok(true));
        }
        let a = cpu_ticks("elsw-trk");
        let end = Instant::now() + ms(400);
        let mut tasks = Vec::new();
        while Instant::now() < end {
            tasks.push(pool.submit_with_priority(if tasks.len() % 2 == 0 { 5 } else { -5 }, || ()));
            thread::sleep(ms(5));
        }
        for t in tasks {
            assert!(t.wait_timeout(ms(2000)));
        }
        if let Some(a) = a {
            let used = cpu_ticks("elsw-trk").unwrap_or(a).saturating_sub(a);
            // ~80 tiny tasks over 400 ms: far below one core's 40 ticks.
            assert!(used <= 25, "trickle used {used} ticks in 400 ms");
        }
        wait_for_at_most("retire after trickle", ms(1500), || {
            pool.stats().workers == 1
        });
        assert!(pool.join(ms(2000)));
    }

    // ===== suspicion 2: lost wake-up after an Elsewhere exit =====

    /// Bursts of ranked and priority-0 entries from several threads (so
    /// woken workers often find the lane emptied by the other and leave
    /// through Elsewhere), then, once everything sleeps, a single
    /// priority-0 push must run promptly; so must a single ranked one.
    #[test]
    fn lone_push_after_elsewhere_bursts_is_served() {
        let pool = Pool::builder()
            .name("elsw-lost")
            .min_workers(2)
            .max_workers(2)
            .build()
            .unwrap();
        let end = Instant::now() + ms(2500);
        let mut rounds = 0;
        while Instant::now() < end {
            rounds += 1;
            let hs: Vec<_> = (0..2u64)
                .map(|s| {
                    let pool = pool.clone();
                    thread::spawn(move || {
                        let mut rng = Rng::new(rounds * 3 + s);
                        (0..6)
                            .map(|_| {
                                let p = MIX[rng.below(MIX.len() as u64) as usize];
                                pool.submit_with_priority(p, || ())
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in hs {
                for t in join_thread(h) {
                    assert!(
                        t.wait_timeout(ms(1000)),
                        "burst task stuck (round {rounds})"
                    );
                }
            }
            // Let both workers fall asleep, sometimes.
            if rounds % 4 == 0 {
                thread::sleep(ms(3));
            }
            let p = if rounds % 2 == 0 { 0 } else { -1 };
            let lone = pool.submit_with_priority(p, || ());
            assert!(
                lone.wait_timeout(ms(1000)),
                "lone priority-{p} push not run (round {rounds}): lost wake-up"
            );
        }
        assert!(pool.wait_completion(ms(2000)));
        let s = pool.stats();
        assert_eq!((s.active, s.queued), (0, 0));
        assert!(pool.join(ms(2000)));
    }

    /// Both workers asleep after ranked traffic; two priority-0 tasks that
    /// each wait for the other to start need both workers awake.
    #[test]
    fn two_lane_pushes_wake_two_sleepers_after_elsewhere() {
        let pool = Pool::builder()
            .name("elsw-two")
            .min_workers(2)
            .max_workers(2)
            .build()
            .unwrap();
        for round in 0..40u64 {
            let stop = Arc::new(AtomicBool::new(false));
            let t = noise(&pool, &stop, round);
            thread::sleep(ms(5));
            stop.store(true, SeqCst);
            join_thread(t);
            assert!(pool.wait_completion(ms(1000)));
            thread::sleep(ms(2));
            let a = Arc::new(AtomicBool::new(false));
            let b = Arc::new(AtomicBool::new(false));
            let meet = |mine: Arc<AtomicBool>, other: Arc<AtomicBool>| {
                move || {
                    mine.store(true, SeqCst);
                    let end = Instant::now() + ms(500);
                    while !other.load(SeqCst) {
                        if Instant::now() > end {
                            return false;
                        }
                        thread::yield_now();
                    }
                    true
                }
            };
            let x = pool.submit(meet(a.clone(), b.clone()));
            let y = pool.submit(meet(b, a));
            assert_eq!(join(x), Ok(true), "round {round}: second sleeper not woken");
            assert_eq!(join(y), Ok(true), "round {round}");
        }
        assert!(pool.join(ms(2000)));
    }

    // ===== suspicion 3: shutdown / join racing Elsewhere traffic =====

    fn final_state(s: TaskState) -> bool {
        matches!(
            s,
            TaskState::Succeeded | TaskState::Cancelled | TaskState::Rejected | TaskState::Panicked
        )
    }

    #[test]
    fn shutdown_and_join_race_ranked_traffic() {
        for round in 0..12u64 {
            let pool = Pool::builder()
                .name("elsw-end")
                .min_workers(2)
                .max_workers(2)
                .build()
                .unwrap();
            let ran = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..2u64)
                .map(|s| {
                    let (pool, ran) = (pool.clone(), ran.clone());
                    thread::spawn(move || {
                        let mut rng = Rng::new(round * 5 + s);
                        let mut tasks = Vec::new();
                        for _ in 0..200 {
                            let p = MIX[rng.below(MIX.len() as u64) as usize];
                            let r = ran.clone();
                            tasks.push(pool.submit_with_priority(p, move || {
                                r.fetch_add(1, SeqCst);
                            }));
                            if pool.is_closed() {
                                break;
                            }
                        }
                        tasks
                    })
                })
                .collect();
            thread::sleep(Duration::from_micros(300 + 200 * (round % 5)));
            let ended = if round % 2 == 0 {
                pool.shutdown(ms(2000))
            } else {
                pool.join(ms(2000))
            };
            assert!(ended, "round {round}: shutdown/join did not end");
            let mut succeeded = 0;
            for h in hs {
                for t in join_thread(h) {
                    assert!(t.wait_timeout(ms(1000)), "round {round}: task never ended");
                    let s = t.state();
                    assert!(final_state(s), "round {round}: state {s:?}");
                    succeeded += usize::from(s == TaskState::Succeeded);
                }
            }
            assert_eq!(
                succeeded,
                ran.load(SeqCst),
                "round {round}: ran vs succeeded"
            );
            let st = pool.stats();
            assert_eq!(
                (st.active, st.queued, st.workers),
                (0, 0, 0),
                "round {round}"
            );
        }
    }
}
