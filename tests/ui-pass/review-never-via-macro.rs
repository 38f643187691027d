// Found by the adversarial review of issue 12, now fixed: `-> !` written through a `macro_rules!`
// `$r:ty` fragment. The type reaches the macro as `Type::Group(Type::Never)`,
// so `Output::of` does not see `!` and emits `Task<!>`: E0658 "the `!` type
// is experimental". The fix: look through `Type::Group` / `Type::Paren`
// (in `Output::of`, `task_type` and `add_send_bounds`).
macro_rules! def {
    ($name:ident -> $r:ty) => {
        #[pymt::threaded]
        fn $name(x: u32) -> $r { panic!("{x}") }
    };
}
def!(never -> !);
fn main() {
    let t: pymt::Task<std::convert::Infallible> = never(1);
    assert!(t.join().is_err());
    println!("ok");
}
