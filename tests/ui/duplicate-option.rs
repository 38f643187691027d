use pymt::threaded;

#[threaded(priority = 1, name = "a", priority = 2)]
fn work() {}

fn main() {
    let _ = work().join();
}
