//! Regression: a task seen done through its handle has already been
//! announced to the `TaskSet` / `as_completed` / `wait` holding it.

use pymt_core as pymt;

mod common;

use common::LONG;

#[test]
fn try_join_next_sees_a_member_its_handle_saw_done() {
    let pool = pymt::Pool::builder().max_workers(2).build().unwrap();
    for round in 0..2_000 {
        let mut set = pymt::TaskSet::new();
        let task = pool.submit(move || round);
        set.push(task.clone());
        assert!(task.wait_timeout(LONG));
        assert_eq!(set.try_join_next(), Some(Ok(round)), "round {round}");
    }
}

#[test]
fn join_all_order_matches_the_order_handles_saw() {
    let pool = pymt::Pool::builder().max_workers(2).build().unwrap();
    for round in 0..500 {
        let mut set = pymt::TaskSet::new();
        let a = pool.submit(|| 'a');
        set.push(a.clone());
        assert!(a.wait_timeout(LONG));
        let b = pool.submit(|| 'b');
        set.push(b.clone());
        assert!(b.wait_timeout(LONG));
        let order: Vec<char> = set.join_all().into_iter().map(Result::unwrap).collect();
        assert_eq!(order, ['a', 'b'], "round {round}");
    }
}
