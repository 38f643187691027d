use pymt::threaded;

struct Counter {
    n: u32,
}

impl Counter {
    #[threaded]
    fn get(&self) -> u32 {
        self.n
    }
}

fn main() {
    let _ = Counter { n: 1 }.get().join();
}
