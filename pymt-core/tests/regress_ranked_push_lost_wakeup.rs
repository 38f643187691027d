//! Regression: a submission must never be left queued next to an idle
//! worker.
//!
//! Defect 1: a non-zero-priority submission woke a blocked worker only if
//! `idle > tokens`. `tokens` counted wake entries pushed and not yet
//! *processed*, but a woken worker left `idle` before it decremented
//! `tokens`. A ranked push whose two loads fell in that gap saw
//! idle == tokens and woke nobody, although one worker was still blocked:
//! with the pool at max_workers (no grow) the entry waited until the one
//! awake worker was free, or forever if that worker's task waited for it
//! (and min_workers == max_workers, so nobody timed out).
//!
//! Defect 2: a lane (priority 0) entry submitted right before a ranked one
//! could hide in a busy worker's private `held` slot: the worker popped the
//! lane entry, saw the ranked entry, kept the lane entry aside and ran the
//! ranked one first, where no idle worker could take the held one.
//!
//! Shape per round, both workers idle: submit H, jitter, submit E (or L).
//! H spins until E has started (bounded at 200 ms). A round in which H gives
//! up is a stall: E sat in the queue next to an idle worker. The controls
//! run the same rounds where the defect cannot occur: stalls there would
//! mean scheduling noise, not the wake-up protocol.
//!
//! Race tests: each runs until `REPRO_ROUNDS` rounds or `REPRO_SECS`
//! seconds (default 3; a third of it for the controls) have passed,
//! whichever comes first, or 3 stalls. Raise both for longer local runs
//! (`REPRO_H_MS` sets H's patience). The tests take turns (one lock), so
//! they do not add noise to each other. The first defect's window is a few
//! instructions wide: at the default budget it showed in about half of the
//! runs (debug build, 2 cores: about one stall per 3 s), so confirm a fix
//! with e.g. `REPRO_SECS=60`. The second defect shows within a second.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::Pool;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// (rounds, time budget) of one test; the controls get a third of the
/// time (at least a second).
fn budget(control: bool) -> (u64, Duration) {
    let secs = env_knob("REPRO_SECS", 3u64);
    let secs = if control { (secs / 3).max(1) } else { secs };
    (
        env_knob("REPRO_ROUNDS", 1_000_000u64),
        Duration::from_secs(secs),
    )
}

/// H: spins until `started` is set or its patience runs out; true if E
/// started in time.
fn spin_until_started(started: Arc<AtomicBool>, patience: Duration) -> impl FnOnce() -> bool {
    move || {
        let deadline = Instant::now() + patience;
        while !started.load(Ordering::Acquire) {
            if Instant::now() > deadline {
                return false;
            }
            std::hint::spin_loop();
        }
        true
    }
}

#[test]
fn ranked_entry_left_queued_next_to_an_idle_worker() {
    let _serial = serial();
    rounds_at_priority(5, false);
}

/// Control: the same rounds at priority 0, where the lane's own channel
/// wakes a receiver per push (no token heuristic).
#[test]
fn control_priority_zero_rounds() {
    let _serial = serial();
    rounds_at_priority(0, true);
}

fn rounds_at_priority(priority: i32, control: bool) {
    let pool = Pool::builder()
        .min_workers(2)
        .max_workers(2)
        .build()
        .unwrap();
    let (rounds, budget) = budget(control);
    let h_patience = ms(env_knob("REPRO_H_MS", 200u64));
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
    let start = Instant::now();
    let mut stalls = Vec::new();
    let mut done_rounds = 0;
    for round in 0..rounds {
        if start.elapsed() > budget || stalls.len() >= 3 {
            break;
        }
        // Let both workers block again (a spin: a sleep's timer slack would
        // halve the rounds per second).
        spin_ns(20_000);
        let started = Arc::new(AtomicBool::new(false));
        let h = pool.submit_with_priority(
            priority,
            spin_until_started(Arc::clone(&started), h_patience),
        );
        let jitter_ns = rng.below(40_000);
        spin_ns(jitter_ns);
        let s = Arc::clone(&started);
        let e = pool.submit_with_priority(priority, move || s.store(true, Ordering::Release));
        let t0 = Instant::now();
        let ok = h.result_timeout(LONG).expect("H ended");
        let h_took = t0.elapsed();
        assert!(e.wait_timeout(LONG), "E never ran");
        if !ok {
            eprintln!(
                "round {round} (jitter {jitter_ns} ns): E stayed queued while a worker was idle for {h_took:?} \
                 (stats after: {:?})",
                pool.stats()
            );
            stalls.push(round);
        }
        done_rounds = round + 1;
    }
    eprintln!(
        "priority {priority}: {done_rounds} rounds in {:?}; stalls at {stalls:?}",
        start.elapsed()
    );
    assert!(pool.join(LONG));
    assert!(
        stalls.is_empty(),
        "{} stall(s) in {done_rounds} rounds",
        stalls.len()
    );
}

/// A lane (priority 0) entry submitted right before a ranked one, while a
/// worker is about to finish a short task.
#[test]
fn lane_entry_held_behind_a_ranked_one() {
    let _serial = serial();
    held_rounds(5, false, false);
}

/// Control for the test above: H at priority 0 too (no ranked entry, so no
/// `held` slot).
#[test]
fn control_held_rounds_all_priority_zero() {
    let _serial = serial();
    held_rounds(0, false, true);
}

/// Control: ranked H submitted *before* L. A worker that pops L then sees
/// H only if its first look missed H, which the same-submitter order rules
/// out, so `held` should not trigger.
#[test]
fn control_held_rounds_ranked_first() {
    let _serial = serial();
    held_rounds(5, true, true);
}

fn held_rounds(h_priority: i32, ranked_first: bool, control: bool) {
    let pool = Pool::builder()
        .min_workers(2)
        .max_workers(2)
        .build()
        .unwrap();
    let (max_rounds, budget) = budget(control);
    let h_patience = ms(env_knob("REPRO_H_MS", 200u64));
    let mut rng = Rng::new(0xD1B5_4A32_D192_ED03);
    let start = Instant::now();
    let mut stalls = 0u64;
    let mut rounds = 0u64;
    while rounds < max_rounds && start.elapsed() < budget && stalls < 3 {
        rounds += 1;
        // Keep one worker looping: a short busy task that ends about when
        // the pair below is submitted.
        let busy_ns = 20_000 + rng.below(20_000);
        let b = pool.submit(move || spin_ns(busy_ns));
        spin_ns(15_000 + rng.below(30_000));
        let started = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&started);
        let l_job = move || s.store(true, Ordering::Release);
        let mut l_slot = None;
        if !ranked_first {
            l_slot = Some(pool.submit(l_job.clone()));
        }
        let h = pool.submit_with_priority(
            h_priority,
            spin_until_started(Arc::clone(&started), h_patience),
        );
        if ranked_first {
            l_slot = Some(pool.submit(l_job));
        }
        let l = l_slot.expect("L submitted");
        let ok = h.result_timeout(LONG).expect("H ended");
        assert!(l.wait_timeout(LONG) && b.wait_timeout(LONG));
        if !ok {
            stalls += 1;
            eprintln!("round {rounds}: lane entry waited behind the ranked one");
        }
    }
    eprintln!(
        "H priority {h_priority} (ranked first: {ranked_first}): {rounds} rounds, {stalls} stalls, {:?}",
        start.elapsed()
    );
    assert!(pool.join(LONG));
    assert_eq!(stalls, 0, "{stalls} stall(s) in {rounds} rounds");
}
