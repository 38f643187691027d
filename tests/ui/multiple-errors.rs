use pymt::threaded;

struct Cache;

impl Cache {
    // Every mistake is reported at once, not one per build.
    #[threaded(
        daemon,
        pool_name = "",
        max_workers = 0,
        priority = "high",
        colour = "red"
    )]
    async fn lookup(&self, key: &str) -> Option<String> {
        let _ = key;
        None
    }
}

fn main() {}
