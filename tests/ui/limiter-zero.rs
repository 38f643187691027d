use pymt::limiter;

#[limiter(0)]
fn download() {}

fn main() {
    download();
}
