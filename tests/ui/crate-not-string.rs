use pymt::threaded;

#[threaded(crate = pymt)]
fn work() {}

fn main() {}
