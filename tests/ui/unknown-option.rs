use pymt::threaded;

#[threaded(pool, workers = 4)]
fn resize() {}

#[threaded(fast)]
fn render() {}

fn main() {
    let _ = resize().join();
    let _ = render().join();
}
