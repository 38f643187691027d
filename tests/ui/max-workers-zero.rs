use pymt::threaded;

#[threaded(pool, max_workers = 0)]
fn work() {}

fn main() {}
