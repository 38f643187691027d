use pymt::threaded;

#[threaded]
async fn fetch(url: String) -> usize {
    url.len()
}

fn main() {
    // The function keeps its `Task<usize>` signature: no cascade of errors here.
    let _: Result<usize, pymt::TaskError> = fetch(String::new()).join();
}
