// Found by the adversarial review of issue 12, now fixed: a limit path whose *last* segment is spelled
// like one of the fn's type parameters (`limits::T` for `fn f<T>`). The
// generic-limit check (validate.rs `find_ident`) flags any identifier named
// `T` anywhere in the limit, so this is refused with "the limit depends on
// `T`", although `limits::T` is a plain `const`. The fix: only look at
// the first segment of each path (an identifier after `::` names an item of
// a module or type, never the parameter), or resolve by letting the compiler
// report E0401 from the `static` it already evaluates the limit in.
mod limits { pub const T: usize = 2; pub const N: usize = 3; }
#[pymt::limiter(limits::T)]
fn first<T>(x: T) -> T { x }
#[pymt::limiter(limits::N)]
fn second<const N: usize>(x: [u8; N]) -> usize { x.len() }
fn main() {
    assert_eq!(first(1u8), 1);
    assert_eq!(second([0; 4]), 4);
    println!("ok");
}
