use pymt::threaded;

#[threaded(pool_name = "")]
fn work() {}

fn main() {}
