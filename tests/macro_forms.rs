//! Less common shapes `#[threaded]` must accept: the `crate` override through a
//! re-export, trait default methods, methods of generic types, `impl Trait`
//! in and out, items inside the body, attributes kept, imports counted as used.

#![deny(warnings)]

use std::fmt::Debug;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// A crate that re-exports pymt under another path.
mod framework {
    pub(crate) use pymt as runtime;
}

#[framework::runtime::threaded(crate = "crate::framework::runtime", name = "renamed")]
fn through_reexport(n: u32) -> u32 {
    n + 1
}

#[framework::runtime::limiter(1, crate = "crate::framework::runtime")]
fn limited_through_reexport() -> u8 {
    2
}

#[test]
fn crate_override() {
    let task = through_reexport(1);
    assert_eq!(task.name(), Some("renamed"));
    assert_eq!(task.join(), Ok(2));
    assert_eq!(limited_through_reexport(), 2);
}

trait Job: Sized + Send + 'static {
    fn size(&self) -> usize;

    #[pymt::threaded]
    fn measure(self) -> usize {
        self.size()
    }
}

impl Job for String {
    fn size(&self) -> usize {
        self.len()
    }
}

#[test]
fn trait_default_method() {
    assert_eq!(String::from("four").measure().join(), Ok(4));
}

struct Wrapper<T>(T);

impl<T: Clone> Wrapper<T> {
    #[pymt::threaded]
    fn get(self) -> T {
        self.0
    }

    #[pymt::threaded]
    fn twice(self) -> Vec<T> {
        vec![self.0.clone(), self.0]
    }
}

#[test]
fn methods_of_generic_types() {
    assert_eq!(Wrapper(3_u8).get().join(), Ok(3));
    assert_eq!(Wrapper('x').twice().join(), Ok(vec!['x', 'x']));
}

#[pymt::threaded]
fn opaque(n: u32) -> impl Debug + Send {
    n * 3
}

#[pymt::threaded]
fn boxed(f: Box<dyn Fn(u32) -> u32 + Send>, values: Vec<u32>) -> Vec<u32> {
    values.into_iter().map(f).collect()
}

#[pymt::threaded]
fn already_send<T: Send + Clone + 'static>(value: T, f: impl Fn(T) -> T + Send) -> T {
    f(value)
}

#[test]
fn impl_trait_and_trait_objects() {
    assert_eq!(already_send(2, |x| x * 5).join(), Ok(10));
    assert_eq!(format!("{:?}", opaque(2).join().unwrap()), "6");
    assert_eq!(
        boxed(Box::new(|x| x + 1), vec![1, 2]).join(),
        Ok(vec![2, 3])
    );
}

/// Documented, `#[inline]`, `#[must_use]`, `pub(crate)`: all kept.
#[inline]
#[must_use = "the task carries the result"]
#[pymt::threaded]
pub(crate) fn with_items(n: u64) -> u64 {
    const OFFSET: u64 = 10;
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    fn helper(x: u64) -> u64 {
        x + OFFSET
    }
    CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    helper(n)
}

#[test]
fn items_in_the_body() {
    assert_eq!(with_items(1).join(), Ok(11));
}

/// The attribute that the other one takes off the item is still counted as
/// used: with `deny(warnings)`, an unused import would fail the build.
mod only_above {
    use pymt::{limiter, threaded};

    #[limiter(2)]
    #[threaded]
    pub(crate) fn limited(n: u8) -> u8 {
        n
    }
}

mod only_below {
    use pymt::{limiter, threaded};

    #[threaded]
    #[limiter(2)]
    pub(crate) fn limited(n: u8) -> u8 {
        n
    }
}

#[test]
fn combined_attributes_count_their_imports() {
    assert_eq!(only_above::limited(1).result_timeout(TIMEOUT), Ok(1));
    assert_eq!(only_below::limited(2).result_timeout(TIMEOUT), Ok(2));
}

/// `'static` borrows can move to another thread.
#[pymt::threaded]
fn greet(name: &'static str, parts: Vec<&'static str>) -> String {
    format!("{name}: {}", parts.join(" "))
}

#[test]
fn static_references_are_accepted() {
    assert_eq!(greet("hi", vec!["a", "b"]).join(), Ok("hi: a b".to_owned()));
}

#[pymt::threaded]
fn raw_identifier_name(r#type: u8) -> u8 {
    r#type
}

#[pymt::threaded(pool)]
fn r#match() -> &'static str {
    "raw"
}

#[test]
fn raw_identifiers() {
    assert_eq!(raw_identifier_name(4).join(), Ok(4));
    assert_eq!(r#match().join(), Ok("raw"));
    assert!(pymt::Pool::get_pool_by_name(concat!(module_path!(), "::match")).is_some());
}
