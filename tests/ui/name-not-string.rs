use pymt::threaded;

#[threaded(name = worker)]
fn work() {}

fn main() {}
