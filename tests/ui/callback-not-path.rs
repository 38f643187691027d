use pymt::threaded;

#[threaded(callback = |n: &u32| println!("{n}"))]
fn count() -> u32 {
    3
}

#[threaded(on_error = "report")]
fn risky() {}

fn report(_: &pymt::TaskError) {}

fn main() {}
