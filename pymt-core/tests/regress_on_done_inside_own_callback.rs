//! Regression (from the misc risks): registering more interest in a task
//! from inside its own on_done callback.
//!
//! Risk: another on_done registered from inside the task's own callback
//! panicked inside the callback, though only waiting on / reading the task
//! is documented as forbidden there.
//!
//! Decided behaviour: registering on_done on the same task from inside its
//! own on_done callback works: the nested callback runs.

use pymt_core as pymt;

mod common;
use common::*;

use pymt::Pool;
use std::sync::mpsc;

#[test]
fn on_done_registered_inside_its_own_callback_runs() {
    let pool = Pool::builder().max_workers(1).build().unwrap();
    let (tx, rx) = mpsc::channel();
    let t = pool.submit(|| 1u32);
    let t2 = t.clone();
    let tx2 = tx.clone();
    t.on_done(move |_| {
        let tx3 = tx2.clone();
        t2.on_done(move |_| {
            let _ = tx3.send("second callback ran");
        });
    });
    let got = rx.recv_timeout(ms(1_000));
    eprintln!("nested on_done: {got:?}");
    drop(tx);
    assert!(
        got.is_ok(),
        "an on_done registered from the task's own callback was refused (panicked)"
    );
    assert!(pool.join(LONG));
}
