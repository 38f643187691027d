use pymt::threaded;

#[threaded(daemon = true)]
fn log() {}

#[threaded(pool = "io")]
fn fetch() {}

fn main() {}
