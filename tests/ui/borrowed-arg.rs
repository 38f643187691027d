use pymt::threaded;

#[threaded]
fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

#[threaded]
fn total(values: Vec<&mut u32>) -> u32 {
    values.into_iter().map(|v| *v).sum()
}

#[threaded]
fn shout<'a>(text: std::borrow::Cow<'a, str>) -> String {
    text.to_uppercase()
}

fn main() {
    let _ = word_count("a b").join();
}
