// A wrong option is reported, and so is a mistake inside the body: the
// fallback keeps the body (in a closure never called), so fixing the option
// does not reveal a second round of errors.
use pymt::threaded;

#[threaded(workers = 4)]
fn parse(text: String) -> u32 {
    text.len()
}

fn main() {
    let _ = parse(String::new()).join();
}
