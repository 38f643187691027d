use pymt::threaded;

#[threaded(daemon, pool_name = "io")]
fn log_line(line: String) {
    println!("{line}");
}

fn main() {
    let _ = log_line(String::new()).join();
}
