// Found by the adversarial review of issue 12, now fixed: a higher-ranked fn pointer argument or
// result. The rework adds a where-predicate per argument type, here
// `for<'a> fn(&'a u8): Send + 'static`, which rustc cannot prove ("higher-
// ranked lifetime error", "implementation of `Send` is not general enough";
// the same clause on a hand-written fn fails too). Before the rework a
// non-generic fn got no predicate and this compiled. The fix: TypeScan
// treats a type with a `for<..>` binder (bare fn, or anything inside it)
// as needing no predicate (fn pointers are always `Send + 'static` once
// borrows are refused), or skips predicates naming HRTB lifetimes.
#[pymt::threaded]
fn apply(f: for<'a> fn(&'a u8) -> &'a u8) -> u8 { *f(&1) }
#[pymt::threaded]
fn call(f: for<'a> fn(&'a u8)) { f(&1) }
#[pymt::threaded]
fn make() -> for<'a> fn(&'a u8) -> &'a u8 { |x| x }
fn main() {
    assert_eq!(apply(|x| x).join(), Ok(1));
    call(|_| {}).join().unwrap();
    assert_eq!(*make().join().unwrap()(&2), 2);
    println!("ok");
}
