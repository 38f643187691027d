use pymt::threaded;

#[threaded(priority = 3_000_000_000)]
fn urgent() {}

#[threaded(pool, max_workers = 4u8)]
fn small() {}

fn main() {}
