use pymt::limiter;

#[limiter(2, blocking = false)]
fn download() {}

fn main() {
    download();
}
