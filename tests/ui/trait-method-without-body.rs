use pymt::threaded;

trait Job {
    #[threaded]
    fn run(self) -> u32;
}

fn main() {}
