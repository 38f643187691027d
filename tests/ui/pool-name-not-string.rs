use pymt::threaded;

#[threaded(pool_name = io)]
fn fetch() {}

fn main() {}
