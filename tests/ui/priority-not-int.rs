use pymt::threaded;

#[threaded(priority = "high")]
fn work() {}

fn main() {}
