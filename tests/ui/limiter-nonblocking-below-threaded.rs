use pymt::{limiter, threaded};

#[threaded]
#[limiter(2, blocking = false)]
fn download() {}

fn main() {
    let _ = download().join();
}
