//! The expansions name only `::pymt::__private`, `::core` and `::std`, contain
//! no `unsafe`, and leave nothing for the user's lints to flag: local modules
//! named `core`, `std` and `pymt` (which shadow the crates for relative paths)
//! and a crate without the implicit prelude change nothing.

#![forbid(unsafe_code)]
#![deny(unused_qualifications, warnings)]
#![no_implicit_prelude]

#[allow(dead_code)]
mod core {}
#[allow(dead_code)]
mod std {}
#[allow(dead_code)]
mod pymt {}

const TIMEOUT: ::std::time::Duration = ::std::time::Duration::from_secs(10);

fn ignore<T>(_: &T) {}

fn ignore_error(_: &::pymt::TaskError) {}

#[::pymt::threaded(pool_name = "hygiene", max_workers = 1, priority = -1, name = "a")]
#[::pymt::limiter(3)]
fn pooled(x: u32, (y, _z): (u32, u32), _: u8) -> u32 {
    x + y
}

#[::pymt::threaded(pool, callback = ignore, on_error = ignore_error)]
fn private_pool<T: ::std::marker::Sync>(value: T) -> T {
    value
}

#[::pymt::threaded(daemon)]
fn daemon(code: u16) -> ::std::vec::Vec<u16> {
    ::std::vec![code]
}

static LIMIT: ::pymt::Limiter = ::pymt::Limiter::new(2);

#[::pymt::limiter(LIMIT)]
#[::pymt::threaded]
fn blocking_above() {}

#[::pymt::limiter(2, blocking = false)]
#[::pymt::threaded]
fn deferred_above() {}

#[::pymt::limiter(4)]
fn plain() -> u8 {
    1
}

struct Job(u32);

impl Job {
    #[::pymt::threaded]
    fn run(self) -> u32 {
        self.0
    }
}

#[test]
fn expansions_resolve_without_prelude_or_crate_names() {
    ::std::assert_eq!(
        pooled(1, (2, 3), 4).result_timeout(TIMEOUT),
        ::std::result::Result::Ok(3)
    );
    ::std::assert_eq!(
        private_pool(5_u8).result_timeout(TIMEOUT),
        ::std::result::Result::Ok(5)
    );
    ::std::assert_eq!(daemon(7).join(), ::std::result::Result::Ok(::std::vec![7]));
    ::std::assert_eq!(
        blocking_above().result_timeout(TIMEOUT),
        ::std::result::Result::Ok(())
    );
    ::std::assert_eq!(
        deferred_above().result_timeout(TIMEOUT),
        ::std::result::Result::Ok(())
    );
    ::std::assert_eq!(plain(), 1);
    ::std::assert_eq!(
        Job(9).run().result_timeout(TIMEOUT),
        ::std::result::Result::Ok(9)
    );
}
