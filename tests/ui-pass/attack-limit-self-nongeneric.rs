// Adversarial review (issue 12): `#[limiter(Self::MAX)]` in an impl of a
// non-generic type. Before the rework the limit was read lazily in the
// function body (`LimiterSlot::get(|| limiter_of(&Self::MAX))`) and this
// compiled; now any `Self` in the limit is refused ("the limit depends on
// `Self`, but one `#[limiter]` serves every instantiation"), although there
// is exactly one instantiation. A regression for a natural spelling (an
// associated const next to the method). Likely fix: for `Self` (which the
// macro cannot see through), read the limit in the body with an inline
// `const { Self::MAX }` into a `OnceLock`-backed slot, and keep the compile
// error only for the fn's own generic parameters; or at least say in the
// message that `Self` is refused even in non-generic impls.
struct Server;
impl Server {
    const MAX: usize = 2;
    #[pymt::limiter(Self::MAX)]
    fn handle(&self) -> u32 { 1 }
}
fn main() {
    assert_eq!(Server.handle(), 1);
    println!("ok");
}
