use pymt::threaded;

#[threaded(max_workers = 4)]
fn work() {}

#[threaded(daemon, max_workers = 2)]
fn log() {}

fn main() {}
