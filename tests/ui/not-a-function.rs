use pymt::threaded;

#[threaded]
struct Job;

fn main() {}
