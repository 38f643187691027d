use pymt::limiter;

#[limiter]
fn download() {}

#[limiter(blocking = true)]
fn upload() {}

fn main() {}
