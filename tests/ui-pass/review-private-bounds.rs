// Found by the adversarial review of issue 12, now fixed: the per-argument where-predicates put the
// argument's *type* in the function's bounds, so a `pub` function taking a
// crate-private type (allowed here with `private_interfaces`, the lint for
// the parameter itself) now also trips `private_bounds` ("type `Token` is
// more private than the item `issue`"), a second lint that names the
// user's type but was never written by the user; with `deny(warnings)` it
// no longer compiles. Before the rework a concrete argument type got no
// predicate. The fix: no predicate for a type that names none of the
// fn's generics, `Self` or an associated type (its `Send` is checked by
// `Launch`'s `F: Send` anyway), or `#[allow(private_bounds)]` on the fn.
#![deny(warnings)]
struct Token(u8);
#[allow(private_interfaces)]
#[pymt::threaded]
pub fn issue(t: Token) -> u8 { t.0 }
fn main() {
    assert_eq!(issue(Token(3)).join(), Ok(3));
    println!("ok");
}
