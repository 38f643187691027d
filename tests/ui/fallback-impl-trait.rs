// A wrong option on functions returning `impl Trait`, a generic type, or
// on an `async fn`: only the macro's errors are reported, no cascade.
#[pymt::threaded(bogus)]
fn a(x: u32) -> impl Iterator<Item = u32> + Send {
    0..x
}

#[pymt::threaded(bogus)]
fn b<T: Clone>(x: T) -> Vec<T> {
    vec![x]
}

#[pymt::threaded(bogus)]
async fn c((p, q): (u8, u8)) -> u8 {
    p + q
}

fn main() {
    let _: Vec<u32> = a(3).join().unwrap().collect();
    let _: Vec<u8> = b(1u8).join().unwrap();
    let _: u8 = c((1, 2)).join().unwrap();
}
