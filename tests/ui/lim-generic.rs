// One `#[limiter]` serves every instantiation of a generic function, so a
// limit that depends on a generic parameter is refused with the reason.
trait HasLimit {
    const LIMIT: usize;
}

#[pymt::limiter(T::LIMIT)]
fn per_type<T: HasLimit>() {}

#[pymt::limiter(2 * N)]
fn per_const<const N: usize>() {}

struct W<T>(T);
impl<T: HasLimit> W<T> {
    // The impl's parameter: caught by the compiler in the limit's `static`.
    #[pymt::limiter(T::LIMIT)]
    fn method() {}
}

fn main() {}
