// Found by the adversarial review of issue 12, now fixed: `ref mut` in a parameter pattern. The
// pattern moves into the closure as `let ref mut x = __pymt_arg0;`, where
// `__pymt_arg0` is an immutable captured upvar: E0596 "cannot borrow value
// as mutable". The original fn compiles (the pattern owns its argument).
// Fixed in the next commit: `#[allow(unused_mut)] let mut __pymt_argN = __pymt_argN;`
// before `let <pat> = __pymt_argN;` (also fixes the drop order of `_`
// parameters, tests/regress_review_macros.rs).
struct S { f: Vec<u8> }
#[pymt::threaded]
fn push(ref mut x: Vec<u8>) -> usize { x.push(1); x.len() }
#[pymt::threaded]
fn push_field(S { ref mut f }: S) -> usize { f.push(1); f.len() }
fn main() {
    assert_eq!(push(vec![]).join(), Ok(1));
    assert_eq!(push_field(S { f: vec![0] }).join(), Ok(2));
    println!("ok");
}
