// `Self` in a limit is refused, even in an impl of a non-generic type: the
// limit is evaluated once, outside the impl; the message says to write the
// type's own name.
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
