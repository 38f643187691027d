// Found by the adversarial review of issue 12, now fixed: option values "accept constant
// expressions", but they are evaluated in a `const` item
// (`{ const __PYMT_VALUE: i32 = <expr>; __PYMT_VALUE }`), where `Self` and
// the fn's generics are out of scope: `priority = Self::PRIO` and
// `name = T::NAME` fail with E0401 "can't use `Self`/generic parameters from
// outer item". The fix: an inline const block, `.priority(const { <expr> })`
// (stable since 1.79, MSRV is 1.80): still compile-time, typed by the
// method's parameter, and it sees `Self` and generics.
trait Named { const NAME: &'static str; }
struct A;
impl Named for A { const NAME: &'static str = "a-task"; }
struct Server;
impl Server {
    const PRIO: i32 = 2;
    #[pymt::threaded(priority = Self::PRIO)]
    fn handle(self) -> u32 { 1 }
}
#[pymt::threaded(name = T::NAME)]
fn named<T: Named>(_t: T) -> Option<String> { pymt::current_task().and_then(|t| t.name().map(str::to_owned)) }
fn main() {
    assert_eq!(Server.handle().join(), Ok(1));
    assert_eq!(named(A).join(), Ok(Some("a-task".to_owned())));
    println!("ok");
}
