use pymt::limiter;

#[limiter(2)]
async fn download() {}

#[limiter(2)]
const fn size() -> usize {
    1
}

fn main() {}
