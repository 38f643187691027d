use pymt::threaded;

#[threaded(pool, max_workers = "4")]
fn work() {}

fn main() {}
