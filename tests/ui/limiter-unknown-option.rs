use pymt::limiter;

#[limiter(2, wait = false, blocking = "no")]
fn download() {}

fn main() {}
