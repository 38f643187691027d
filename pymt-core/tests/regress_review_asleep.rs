//! Review of 98b33c1 (an idle worker spins over every lane before it
//! sleeps; ranked pushes send wake tokens only for sleeping workers,
//! `counts.asleep`) and 179afcc (each level's lane is the main lane's FIFO:
//! `Levels::pop` skips a level whose head push is under way,
//! `Head::Writing`, and `Levels::push` marks its level only if the bit
//! reads clear).
//!
//! Defects found (these tests fail on 179afcc):
//!
//! - `order_*`: one submitter queues A, then B ranked below A; B starts
//!   first. A is published behind another thread's push to A's level that
//!   has claimed its place and not yet written it; a pop then finds the
//!   level's head `Writing` and serves the lower level (179afcc: high and
//!   low levels, and the put-back check after a main-lane pop), or finds
//!   the main lane's head unpublished and serves a low level (the main lane
//!   did that before, but only an idle worker spinning over every lane,
//!   98b33c1, is there often enough to show it). The race tests hold the
//!   other thread's push open by preempting it (a thread waking up beside
//!   it on processor 0, via `taskset`; without it they still run, but
//!   rarely catch the window).
//! - `loom_*` (run under `--cfg loom --cfg pymt_loom_fifo`, see the module
//!   at the end): a push that reads its level's bit set and skips the
//!   `fetch_or` races the clear of that bit with no `sync::handshake()` on
//!   either side, so loom (SeqCst modelled as AcqRel) reports a stranded
//!   entry; the existing `ranked_pushes_wake_both_idle_workers` fails the
//!   same way. And the order models, on the stand-in lanes too.
//!
//! All fixed since: a level's pop waits for a push under way at its head,
//! no lower lane is served while the main lane's head is being written,
//! both sides of the bit handshake call `sync::handshake()`, and a pop
//! that finds something ranked above its entry once it has it gives the
//! entry back to the head of its level. CI runs the loom models below on
//! the stand-in lanes (`.ci/run`); `--cfg pymt_loom_fifo` runs them on the
//! real FIFO.
//!
//! Checks that pass (kept as regressions): ranked wake-ups at every idle
//! phase (spinning, falling asleep, asleep), put-back entries, a dedicated
//! worker; `idle`/`asleep`/`tokens` settling through idle timeouts,
//! shrinks, panics and cancellations; an idle pool's processor time after
//! a ranked burst; nothing lost and per-priority order kept under
//! concurrent level pushes; shutdown and join racing ranked pushes.
//!
//! Every wait is bounded (`LONG`, `PATIENCE`, `wait_timeout`, a deadline),
//! so a defect fails instead of hanging.

#[cfg(not(loom))]
mod common;
#[cfg(loom)]
#[path = "common/loom_support.rs"]
mod loom_support;

#[cfg(not(loom))]
mod threads {
    use pymt_core as pymt;

    use super::common::*;

    use pymt::Pool;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::thread;
    use std::time::{Duration, Instant};

    /// The time a race test may take.
    fn race_budget() -> Duration {
        let default = if cfg!(debug_assertions) { 1_500 } else { 3_000 };
        Duration::from_millis(env_knob("ASLEEP_MS", default))
    }

    /// Pins the calling thread to processor 0 (Linux, `taskset`; else a no-op).
    fn pin_to_cpu0() {
        if let Some(tid) = os_thread_id() {
            run_quietly("taskset", &["-p", "-c", "0", &tid.to_string()]);
        }
    }

    fn run_quietly(program: &str, args: &[&str]) {
        let _ = std::process::Command::new(program)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }

    /// A thread on processor 0 that wakes every few dozen microseconds and
    /// runs a moment: each wake-up preempts the noise thread there at
    /// whatever instruction it is on.
    fn preemptor(stop: Arc<AtomicBool>) -> thread::JoinHandle<()> {
        thread::spawn(move || {
            pin_to_cpu0();
            let mut rng = Rng::new(0x5EED);
            while !stop.load(SeqCst) {
                thread::sleep(Duration::from_micros(20 + rng.below(40)));
                spin_ns(10_000 + rng.below(20_000));
            }
        })
    }

    // ===== order across levels while a level's head push is under way =====

    /// Kernel ids of this process's threads whose name starts with `prefix`.
    fn tids_named(prefix: &str) -> Vec<u32> {
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return Vec::new();
        };
        tasks
            .filter_map(Result::ok)
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .is_ok_and(|c| c.trim_end().starts_with(prefix))
            })
            .filter_map(|t| t.file_name().to_str()?.parse().ok())
            .collect()
    }

    fn pin(tid: u32, cpu: usize) {
        run_quietly("taskset", &["-p", "-c", &cpu.to_string(), &tid.to_string()]);
    }

    /// One submitter queues A (priority `a`) then B (priority `b`, ranked
    /// below `a`) on a one-worker pool, round after round, while a noise thread
    /// keeps pushing no-op tasks at priority `a`. A's push ends before B's
    /// begins, so A must start first. With the level lanes on the FIFO
    /// (179afcc), a pop that finds the head of level `a` claimed by the noise
    /// push but not yet written (its thread preempted between claim and stamp)
    /// skips the level although A is published behind it, and runs B (for
    /// `a == 0`, the main lane's pop reports nothing and the low side is
    /// served). The noise thread shares processor 0 with a thread that keeps waking up, so
    /// it is often preempted mid-push; the submitter and the worker are on
    /// processor 1. Returns (rounds, rounds where B started before A).
    fn order_rounds(name: &str, a: i32, b: i32) -> (u64, u64) {
        let pool = Pool::builder()
            .name(name)
            .min_workers(1)
            .max_workers(1)
            .build()
            .unwrap();
        // The worker is started: it runs this.
        assert_eq!(pool.submit(|| ()).result_timeout(LONG), Ok(()));
        for tid in tids_named(name) {
            pin(tid, 1);
        }
        if let Some(me) = os_thread_id() {
            pin(me, 1);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let preempt = preemptor(stop.clone());
        let noise = {
            let (pool, stop) = (pool.clone(), stop.clone());
            let outstanding = Arc::new(AtomicUsize::new(0));
            thread::spawn(move || {
                pin_to_cpu0();
                while !stop.load(SeqCst) {
                    if outstanding.load(SeqCst) > 4 {
                        std::hint::spin_loop();
                        continue;
                    }
                    outstanding.fetch_add(1, SeqCst);
                    let o = outstanding.clone();
                    drop(pool.submit_with_priority(a, move || {
                        o.fetch_sub(1, SeqCst);
                    }));
                }
            })
        };
        let start = Instant::now();
        let mut rounds = 0u64;
        let inversions = Arc::new(AtomicUsize::new(0));
        while start.elapsed() < race_budget() && inversions.load(SeqCst) == 0 {
            rounds += 1;
            let a_ran = Arc::new(AtomicBool::new(false));
            let flag = a_ran.clone();
            let ta = pool.submit_with_priority(a, move || flag.store(true, SeqCst));
            let (flag, inv) = (a_ran.clone(), inversions.clone());
            let tb = pool.submit_with_priority(b, move || {
                if !flag.load(SeqCst) {
                    inv.fetch_add(1, SeqCst);
                }
            });
            let deadline = Instant::now() + LONG;
            while !(ta.is_done() && tb.is_done()) {
                assert!(Instant::now() < deadline, "A or B never ran");
                thread::yield_now();
            }
        }
        stop.store(true, SeqCst);
        join_thread(preempt);
        join_thread(noise);
        if let Some(me) = os_thread_id() {
            run_quietly("taskset", &["-p", "-c", "0,1", &me.to_string()]);
        }
        assert!(pool.join(LONG));
        (rounds, inversions.load(SeqCst) as u64)
    }

    /// The order tests pin threads to the two processors: one at a time.
    static PINNED: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[track_caller]
    fn assert_in_order(name: &str, a: i32, b: i32) {
        let _one_at_a_time = PINNED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (rounds, inversions) = order_rounds(name, a, b);
        eprintln!("{a} then {b}: {inversions} inversion(s) in {rounds} rounds");
        assert_eq!(
            inversions, 0,
            "B (priority {b}) started before A (priority {a}), both queued by one thread, A first"
        );
    }

    /// High side: level 5 skipped while its head push is under way, level 3
    /// served.
    #[test]
    fn order_high_level_before_lower_high_level() {
        assert_in_order("asleep-ord-hi", 5, 3);
    }

    /// Low side: level -3 skipped, level -5 served.
    #[test]
    fn order_low_level_before_lower_low_level() {
        assert_in_order("asleep-ord-lo", -3, -5);
    }

    /// The put-back path: the worker pops B off the main lane, looks at the
    /// high side again (`Queue::pop`: "a higher entry the same submitter
    /// queued before it is visible by now"), finds level 5 under way, and
    /// runs B.
    #[test]
    fn order_high_level_before_main_lane() {
        assert_in_order("asleep-ord-put", 5, 0);
    }

    /// The main lane's own FIFO against a low level (not these commits: the
    /// main lane has skipped a head under way since it became the FIFO).
    #[test]
    fn order_main_lane_before_low_level() {
        assert_in_order("asleep-ord-main", 0, -3);
    }

    // ===== wake-ups: ranked entries for workers spinning, falling asleep or asleep =====

    /// Ranked priorities with a level (both sides, both ends of the span) and
    /// outliers on both sides.
    const RANKED: [i32; 8] = [5, -5, 1000, -1000, 63, -64, 64, -65];

    /// How long a body waits for another that should start at once: far
    /// beyond any wake-up, so giving up means the other sat queued.
    const PATIENCE: Duration = Duration::from_secs(2);

    /// A rendezvous for `n` bodies, bounded by [`PATIENCE`]: true if all came.
    #[derive(Clone)]
    struct Meet(Arc<(std::sync::Mutex<usize>, std::sync::Condvar)>, usize);

    impl Meet {
        fn new(n: usize) -> Self {
            Meet(Arc::default(), n)
        }

        fn arrive_and_wait(&self) -> bool {
            let (count, cv) = &*self.0;
            let mut count = count.lock().unwrap();
            *count += 1;
            cv.notify_all();
            let (count, _) = cv
                .wait_timeout_while(count, PATIENCE, |c| *c < self.1)
                .unwrap();
            *count >= self.1
        }
    }

    fn short_budget() -> Instant {
        let default = if cfg!(debug_assertions) { 800 } else { 2_000 };
        Instant::now() + Duration::from_millis(env_knob("ASLEEP_MS", default))
    }

    /// Two workers, both idle at a random phase (still spinning over the
    /// lanes, falling asleep, or blocked on the lane). J1 (ranked) blocks until
    /// J2 (ranked, queued a moment later) runs: J2 must reach the other worker.
    /// The pool is at its maximum, so no worker is started instead: only a wake
    /// token (the other worker asleep) or its own spin (not yet asleep) finds
    /// J2. A lost wake-up leaves J1 waiting out its patience.
    #[test]
    fn ranked_pair_reaches_the_other_idle_worker() {
        let pool = Pool::builder()
            .name("asleep-pair")
            .min_workers(2)
            .max_workers(2)
            .build()
            .unwrap();
        let mut rng = Rng::new(0xA5EE_9001);
        let budget = short_budget();
        let mut round = 0u64;
        while Instant::now() < budget {
            round += 1;
            let (p1, p2) = (RANKED[rng.below(8) as usize], RANKED[rng.below(8) as usize]);
            // 0..150 µs: from mid-spin to well asleep.
            spin_ns(rng.below(150_000));
            let meet = Meet::new(2);
            let m = meet.clone();
            let j1 = pool.submit_with_priority(p1, move || m.arrive_and_wait());
            spin_ns(rng.below(20_000));
            let j2 = pool.submit_with_priority(p2, move || meet.arrive_and_wait());
            assert_eq!(
                j1.result_timeout(LONG),
                Ok(true),
                "round {round}: J2 ({p2}) never reached the idle worker while J1 ({p1}) waited"
            );
            assert_eq!(j2.result_timeout(LONG), Ok(true));
        }
        eprintln!("pair: {round} rounds");
        assert!(pool.join(LONG));
    }

    /// A priority-0 entry E, then a ranked R that waits for E to run, while one
    /// worker is finishing a short body and the other idles at a random phase.
    /// The busy worker may pop E, see R and put E back (`returned`), waking a
    /// worker only if one is asleep (`wake_one_for_entry`). E must still reach
    /// the idle worker while R holds the busy one.
    #[test]
    fn put_back_entry_reaches_the_idle_worker() {
        let pool = Pool::builder()
            .name("asleep-putback")
            .min_workers(2)
            .max_workers(2)
            .build()
            .unwrap();
        let mut rng = Rng::new(0xB0B0_CAFE);
        let budget = short_budget();
        let mut round = 0u64;
        while Instant::now() < budget {
            round += 1;
            let busy_ns = 5_000 + rng.below(30_000);
            let busy = pool.submit(move || spin_ns(busy_ns));
            spin_ns(rng.below(60_000));
            let meet = Meet::new(2);
            let m = meet.clone();
            let e = pool.submit(move || m.arrive_and_wait());
            let p = RANKED[rng.below(8) as usize];
            let r = pool.submit_with_priority(p, move || meet.arrive_and_wait());
            assert_eq!(
            r.result_timeout(LONG),
            Ok(true),
            "round {round}: the priority-0 entry never reached the idle worker while R ({p}) waited"
        );
            assert_eq!(e.result_timeout(LONG), Ok(true));
            assert!(busy.wait_timeout(LONG));
        }
        eprintln!("put-back: {round} rounds");
        assert!(pool.join(LONG));
    }

    /// A dedicated worker, idle at a random phase, gets ranked tasks: with one
    /// thread, a lost wake-up strands the task for good.
    #[test]
    fn dedicated_worker_runs_ranked_tasks_at_any_idle_phase() {
        let worker = pymt::Worker::builder().name("asleep-ded").build();
        let mut rng = Rng::new(0xDEDD);
        let budget = short_budget();
        let mut round = 0u64;
        while Instant::now() < budget {
            round += 1;
            spin_ns(rng.below(150_000));
            let p = RANKED[rng.below(8) as usize];
            let t = worker.submit_with_priority(p, move || p);
            assert_eq!(
                t.result_timeout(PATIENCE),
                Ok(p),
                "round {round}: priority {p} stranded"
            );
        }
        eprintln!("dedicated: {round} rounds");
        assert!(worker.join(LONG));
    }

    // ===== counts: idle, asleep and tokens settle after every kind of exit =====

    /// Cycles that move workers through every path in and out of `idle` and
    /// `asleep` (idle timeouts, a shrink and regrow, panics, queued ranked
    /// tasks cancelled into stale entries, put-backs), each ended by the check
    /// that a drifted count would fail: the one worker left, asleep, gets a
    /// ranked task. If `asleep` read low or `tokens` high, its push sends no
    /// token, and with `queued == idle` it starts no worker either: the task
    /// strands.
    #[test]
    fn counts_settle_through_idle_timeouts_shrinks_panics_and_cancels() {
        quiet_deliberate_panics("deliberate");
        let pool = Pool::builder()
            .name("asleep-drift")
            .min_workers(1)
            .max_workers(2)
            .idle_timeout(ms(1))
            .build()
            .unwrap();
        let cycles = if cfg!(debug_assertions) { 25 } else { 120 };
        let mut rng = Rng::new(0xD41F7);
        for cycle in 0..cycles {
            // Two ranked bodies that must run at once: a second worker starts.
            let meet = Meet::new(2);
            let pair: Vec<_> = (0..2)
                .map(|_| {
                    let m = meet.clone();
                    pool.submit_with_priority(RANKED[rng.below(8) as usize], move || {
                        m.arrive_and_wait()
                    })
                })
                .collect();
            for t in pair {
                assert_eq!(
                    t.result_timeout(LONG),
                    Ok(true),
                    "cycle {cycle}: no second worker"
                );
            }
            // Both workers held; ranked tasks queued behind them, some
            // cancelled (stale entries), one panicking, one at 0 (put-backs).
            let gate = Gate::new();
            let started = Started::new();
            let holders: Vec<_> = (0..2)
                .map(|_| {
                    let (g, tx) = (gate.clone(), started.sender());
                    pool.submit(move || {
                        tx.send(()).unwrap();
                        g.wait()
                    })
                })
                .collect();
            started.wait(2);
            let queued: Vec<_> = (0..6)
                .map(|i| {
                    let p = if i == 5 {
                        0
                    } else {
                        RANKED[rng.below(8) as usize]
                    };
                    pool.submit_with_priority(p, move || {
                        if i == 4 {
                            panic!("deliberate");
                        }
                    })
                })
                .collect();
            assert!(queued[1].cancel() && queued[3].cancel());
            if cycle % 4 == 1 {
                pool.set_max_workers(1);
                pool.set_max_workers(2);
            }
            gate.open();
            for t in &holders {
                assert_eq!(
                    t.result_timeout(LONG),
                    Ok(true),
                    "cycle {cycle}: a holder never ended"
                );
            }
            for t in &queued {
                assert!(t.wait_timeout(LONG), "cycle {cycle}: a task never ended");
            }
            // Idle timeouts take the pool back to one worker, which falls
            // asleep.
            wait_for("one worker left", || pool.stats().workers == 1);
            thread::sleep(ms(2));
            let p = RANKED[rng.below(8) as usize];
            assert_eq!(
            pool.submit_with_priority(p, move || p).result_timeout(PATIENCE),
            Ok(p),
            "cycle {cycle}: a ranked task stranded next to the sleeping worker (counts drifted)"
        );
        }
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.active), (0, 0), "{stats:?}");
        assert!(pool.join(LONG));
    }

    // ===== an idle pool burns no processor =====

    /// Processor time (ns) used so far by this process's threads whose name
    /// starts with `prefix` (Linux `schedstat`); `None` without `/proc`.
    fn cpu_ns_of(prefix: &str) -> Option<u64> {
        let tids = tids_named(prefix);
        if tids.is_empty() {
            return None;
        }
        Some(
            tids.iter()
                .filter_map(|tid| {
                    std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()
                })
                .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .sum(),
        )
    }

    /// After a burst of ranked (and some plain) submissions from two threads,
    /// the idle workers spin once, sleep, and stay asleep: no token ping-pong,
    /// no spin that never ends.
    #[test]
    fn idle_pool_after_ranked_burst_burns_no_cpu() {
        let pool = Pool::builder()
            .name("asleep-cpu")
            .min_workers(2)
            .max_workers(2)
            .build()
            .unwrap();
        let each = if cfg!(debug_assertions) {
            3_000
        } else {
            20_000
        };
        let submitters: Vec<_> = (0..2u64)
            .map(|s| {
                let pool = pool.clone();
                thread::spawn(move || {
                    let mut rng = Rng::new(0xC0FFEE + s);
                    for i in 0..each {
                        let p = if i % 7 == 0 {
                            0
                        } else {
                            RANKED[rng.below(8) as usize]
                        };
                        drop(pool.submit_with_priority(p, || ()));
                    }
                })
            })
            .collect();
        for s in submitters {
            join_thread(s);
        }
        assert!(pool.wait_completion(LONG));
        thread::sleep(ms(50));
        let Some(before) = cpu_ns_of("asleep-cpu") else {
            return;
        };
        thread::sleep(ms(1_000));
        let used = cpu_ns_of("asleep-cpu").unwrap() - before;
        assert!(
            used < 20_000_000,
            "idle workers used {} ms of processor in 1 s",
            used / 1_000_000
        );
        assert!(pool.join(LONG));
    }

    // ===== levels: nothing lost, each submitter's order kept =====

    /// Priorities for the level stress: both sides, shared and distinct
    /// levels, 0, and outliers.
    const MIX: [i32; 11] = [1, 2, 5, 63, -1, -3, -64, 0, 64, -65, 1000];

    /// Four submitters push tasks at mixed priorities (many on shared levels)
    /// while one worker pops: each runs once, and each submitter's tasks of one
    /// priority run in its submission order.
    #[test]
    fn concurrent_level_pushes_keep_each_submitters_order() {
        let pool = Pool::builder()
            .min_workers(1)
            .max_workers(1)
            .build()
            .unwrap();
        let each = if cfg!(debug_assertions) { 600 } else { 4_000 };
        let log = Record::<(u64, i32, u64)>::new();
        let submitters: Vec<_> = (0..4u64)
            .map(|s| {
                let (pool, log) = (pool.clone(), log.clone());
                thread::spawn(move || {
                    let mut rng = Rng::new(0x1E7E15 + s);
                    let mut tasks = Vec::new();
                    for seq in 0..each {
                        let p = MIX[rng.below(MIX.len() as u64) as usize];
                        let log = log.clone();
                        tasks.push(pool.submit_with_priority(p, move || log.push((s, p, seq))));
                    }
                    tasks
                })
            })
            .collect();
        let tasks: Vec<_> = submitters.into_iter().flat_map(join_thread).collect();
        for t in &tasks {
            assert!(t.wait_timeout(LONG), "a task never ran");
        }
        let log = log.get();
        assert_eq!(log.len() as u64, 4 * each, "lost or duplicated entries");
        let mut last = std::collections::HashMap::new();
        for (s, p, seq) in log {
            if let Some(prev) = last.insert((s, p), seq) {
                assert!(
                    prev < seq,
                    "submitter {s}, priority {p}: {seq} ran after {prev}"
                );
            }
        }
        assert!(pool.join(LONG));
    }

    /// Two workers, four submitters hammering two shared levels and their
    /// neighbours: every task runs exactly once and the counts settle.
    #[test]
    fn shared_levels_under_two_workers_lose_nothing() {
        let pool = Pool::builder()
            .min_workers(2)
            .max_workers(2)
            .build()
            .unwrap();
        let each = if cfg!(debug_assertions) {
            2_000
        } else {
            20_000
        };
        let ran = Arc::new(AtomicUsize::new(0));
        let submitters: Vec<_> = (0..4u64)
            .map(|s| {
                let (pool, ran) = (pool.clone(), ran.clone());
                thread::spawn(move || {
                    let mut tasks = Vec::new();
                    for i in 0..each {
                        let p = [5, 5, 6, -5, -5, -6][((i + s) % 6) as usize];
                        let ran = ran.clone();
                        tasks.push(pool.submit_with_priority(p, move || {
                            ran.fetch_add(1, SeqCst);
                        }));
                    }
                    tasks
                })
            })
            .collect();
        let tasks: Vec<_> = submitters.into_iter().flat_map(join_thread).collect();
        for t in &tasks {
            assert!(t.wait_timeout(LONG), "a task never ran");
        }
        assert_eq!(ran.load(SeqCst) as u64, 4 * each);
        assert!(pool.wait_completion(LONG));
        let stats = pool.stats();
        assert_eq!((stats.queued, stats.active), (0, 0), "{stats:?}");
        assert!(pool.join(LONG));
    }

    // ===== shutdown and join racing ranked pushes =====

    /// Submitters push ranked tasks while the pool shuts down (or joins):
    /// `shutdown`/`join` return, and every task ends in exactly one final
    /// state (ran, cancelled or rejected), its body run iff it succeeded.
    fn close_races_ranked_pushes(shutdown: bool) {
        let rounds = if cfg!(debug_assertions) { 30 } else { 200 };
        let mut rng = Rng::new(0x5107 + u64::from(shutdown));
        for round in 0..rounds {
            let pool = Pool::builder()
                .min_workers(1)
                .max_workers(2)
                .build()
                .unwrap();
            let ran = Arc::new(AtomicUsize::new(0));
            let submitters: Vec<_> = (0..3u64)
                .map(|s| {
                    let (pool, ran) = (pool.clone(), ran.clone());
                    thread::spawn(move || {
                        let mut rng = Rng::new(round * 7 + s);
                        (0..150)
                            .map(|_| {
                                let p = (rng.below(141) as i32) - 70;
                                let ran = ran.clone();
                                pool.submit_with_priority(p, move || {
                                    ran.fetch_add(1, SeqCst);
                                })
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            spin_ns(rng.below(300_000));
            let closed = if shutdown {
                pool.shutdown(LONG)
            } else {
                pool.join(LONG)
            };
            assert!(closed, "round {round}: close did not finish");
            let tasks: Vec<_> = submitters.into_iter().flat_map(join_thread).collect();
            let mut ok = 0;
            for t in &tasks {
                assert!(t.wait_timeout(LONG), "round {round}: task {t} never ended");
                match t.try_result() {
                    Some(Ok(())) => ok += 1,
                    Some(Err(pymt::TaskError::Cancelled)) if shutdown => {}
                    Some(Err(pymt::TaskError::Rejected)) => {}
                    other => panic!("round {round}: unexpected outcome {other:?}"),
                }
            }
            assert_eq!(
                ok,
                ran.load(SeqCst),
                "round {round}: bodies run vs succeeded"
            );
            assert_eq!(pool.stats().queued, 0, "round {round}");
        }
    }

    #[test]
    fn shutdown_races_ranked_pushes() {
        close_races_ranked_pushes(true);
    }

    #[test]
    fn join_races_ranked_pushes() {
        close_races_ranked_pushes(false);
    }
}

#[cfg(loom)]
mod loom_models {
    //! ```text
    //! RUSTFLAGS="--cfg loom --cfg pymt_loom_fifo" LOOM_MAX_PREEMPTIONS=2 \
    //!     CARGO_TARGET_DIR=target/loomfifo \
    //!     cargo test -p pymt-core --release --test regress_review_asleep
    //! ```
    //!
    //! Without `pymt_loom_fifo` the levels use the mutex stand-in lane,
    //! which never reports a push under way and always writes the bit:
    //! both models then pass (a control).
    use crate::loom_support::{model, one_worker_pool};
    use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use loom::thread;
    use std::sync::Arc;
    use std::time::Duration;

    /// A push to level 5 that reads the level's bit still set (left set by
    /// the pop of X, which took a value) and skips its `fetch_or`, racing
    /// the worker's next pop, which finds the level empty, clears the bit
    /// and looks once more. In the C++ model the SeqCst total order makes
    /// that second look see Y (the push's load read the bit before the
    /// clear). Loom models SeqCst as AcqRel, and neither side has the
    /// `sync::handshake()` the crate puts in every such store-then-load
    /// pair, so loom lets the second look miss Y: Y strands behind a clear
    /// bit and the worker sleeps (a loom deadlock at `y.join()`). Passes
    /// with `sync::handshake()` after the `fetch_and` in `Levels::pop`.
    #[test]
    fn loom_push_that_skips_its_fetch_or_vs_clear_of_its_level() {
        model(|| {
            let pool = one_worker_pool();
            assert_eq!(pool.submit_with_priority(5, || 1).join(), Ok(1));
            assert_eq!(pool.submit_with_priority(5, || 2).join(), Ok(2));
            assert!(pool.join(Duration::MAX));
        });
    }

    /// One thread queues A (priority 5) then B (priority 3) on a one-worker
    /// pool while another queues a task at priority 5. A's push ended
    /// before B's began, so A must start first. The worker can pop while
    /// the other thread's push, which claimed its place ahead of A, is
    /// still writing: `Levels::pop` skips level 5 (`Head::Writing`) and
    /// returns B. Needs two preemptions (into the other thread's push, and
    /// out of it after its claim); at one, on 179afcc, it reports the
    /// deadlock of the model above first. It also fails on the stand-in
    /// lanes (and before 179afcc) through an older, narrower window: a
    /// level found empty is cleared and then masked (`skip`) for the rest
    /// of the call, so A and B pushed during that call (the popper
    /// preempted) leave B as the pop's answer. Passes with both fixed:
    /// wait for a head push under way (`drain_one`) on the first look and
    /// the second, and drop `skip` (a cleared level is set again only by a
    /// push that brings an entry).
    #[test]
    fn loom_writing_head_keeps_one_submitters_priority_order() {
        model(|| {
            let pool = one_worker_pool();
            let noise = {
                let pool = pool.clone();
                thread::spawn(move || drop(pool.submit_with_priority(5, || ())))
            };
            let a_ran = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&a_ran);
            let a = pool.submit_with_priority(5, move || flag.store(true, SeqCst));
            let flag = Arc::clone(&a_ran);
            let b = pool.submit_with_priority(3, move || flag.load(SeqCst));
            noise.join().unwrap();
            assert_eq!(
                b.join(),
                Ok(true),
                "B (priority 3) ran before A (priority 5), both queued by one thread, A first"
            );
            assert_eq!(a.join(), Ok(()));
            assert!(pool.join(Duration::MAX));
        });
    }

    /// The level picked from a stale snapshot of the bits: a pop reads the
    /// words (level -5 still marked by an entry already taken), is
    /// preempted, and then pops level -5, where B was queued after A went
    /// to the higher level -3. Not new in these commits (any bitmap pop
    /// has the window, and the model fails on the stand-in lanes too), but
    /// an idle worker now runs `Levels::pop` over and over while it spins,
    /// so it sits in that window far more often. Fixed by a re-check after
    /// the pop (a level above marked since the snapshot, or a lane above
    /// the low side not empty) that gives the entry back to the head of
    /// its level (`Levels::pop`, `LevelPop::GaveBack`).
    #[test]
    fn loom_stale_bit_snapshot_keeps_one_submitters_priority_order() {
        model(|| {
            let pool = one_worker_pool();
            // Leaves level -5 marked, its lane empty.
            assert_eq!(pool.submit_with_priority(-5, || 0).join(), Ok(0));
            let a_ran = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&a_ran);
            let a = pool.submit_with_priority(-3, move || flag.store(true, SeqCst));
            let flag = Arc::clone(&a_ran);
            let b = pool.submit_with_priority(-5, move || flag.load(SeqCst));
            assert_eq!(
                b.join(),
                Ok(true),
                "B (priority -5) ran before A (priority -3), both queued by one thread, A first"
            );
            assert_eq!(a.join(), Ok(()));
            assert!(pool.join(Duration::MAX));
        });
    }
}
