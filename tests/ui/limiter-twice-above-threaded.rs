use pymt::{limiter, threaded};

#[limiter(4)]
#[limiter(2)]
#[threaded]
fn download() {}

fn main() {}
