//! Regression: a panic payload whose `Drop` panics must stay contained.
//!
//! Defect: the panic-catching helper dropped the caught panic payload inside
//! its own frame; a payload whose `Drop` panicked unwound out of the task
//! run before the task's completion. The task then stayed `Running` forever
//! (every handle hung), the worker thread died without leaving the pool's
//! counts (`workers`, `active`), and a one-worker pool never ran anything
//! again. Contract: "Every task ends in exactly one of ...", "A panicking
//! task never kills its worker", "no handle waits forever because of ... a
//! panic". (Exotic trigger: `panic_any` with a payload whose Drop panics.)

use pymt_core as pymt;

mod common;
use common::*;

use pymt::Pool;

struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("the panic payload's Drop panicked");
        }
    }
}

#[test]
fn pool_task_with_a_panicking_payload_drop_never_ends() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let t = pool.submit(|| -> u32 { std::panic::panic_any(Bomb) });
    let ended = t.wait_timeout(ms(2_000));
    let next = pool.submit(|| 1);
    let next_ran = next.wait_timeout(ms(2_000));
    eprintln!(
        "task ended: {ended} ({:?}); next task ran: {next_ran}; stats {:?}",
        t.state(),
        pool.stats()
    );
    assert!(ended, "the task never reached a final state");
    assert!(
        next_ran,
        "the pool's only worker died: later tasks never run"
    );
    assert_eq!(t.state(), pymt::TaskState::Panicked);
    assert!(pool.join(LONG));
}

#[test]
fn spawned_task_with_a_panicking_payload_drop_never_ends() {
    let t = pymt::spawn(|| -> u32 { std::panic::panic_any(Bomb) });
    let ended = t.wait_timeout(ms(2_000));
    eprintln!("spawned task ended: {ended} ({:?})", t.state());
    assert!(ended, "the task never reached a final state");
    assert_eq!(t.state(), pymt::TaskState::Panicked);
}

#[test]
fn execute_job_with_a_panicking_payload_drop_kills_the_worker() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    pool.execute(|| std::panic::panic_any(Bomb)).unwrap();
    let next = pool.submit(|| 1);
    let next_ran = next.wait_timeout(ms(2_000));
    eprintln!(
        "after the job: next task ran: {next_ran}; stats {:?}",
        pool.stats()
    );
    assert!(
        next_ran,
        "the pool's only worker died: later tasks never run"
    );
    assert!(pool.join(LONG));
}

#[test]
fn on_done_callback_with_a_panicking_payload_drop_wedges_the_task() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
    let t = pool.submit(move || gate_rx.recv_timeout(LONG).is_ok());
    t.on_done(|_| std::panic::panic_any(Bomb));
    gate_tx.send(()).unwrap();
    let ended = t.wait_timeout(ms(2_000));
    eprintln!("task with a bomb callback ended: {ended} ({:?})", t.state());
    assert!(
        ended,
        "the containment let the payload's Drop panic escape: the task never ended"
    );
    assert_eq!(t.result_timeout(LONG), Ok(true));
    assert!(pool.join(LONG));
}
