use pymt::threaded;

struct Counter {
    n: u32,
}

impl Counter {
    #[threaded]
    fn bump(&mut self) {
        self.n += 1;
    }
}

fn main() {
    let _ = Counter { n: 1 }.bump().join();
}
