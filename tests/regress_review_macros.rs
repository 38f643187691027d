//! Adversarial review of the reworked attribute macros (issue 12): runtime
//! behaviour that differs from the contract in docs/DESIGN "Attribute macros".
//! Each test is a confirmed bug at the time it was written.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use pymt::Pool;

const TIMEOUT: Duration = Duration::from_secs(10);

// ===== drop order of `_` parameters =====
//
// "arguments are dropped on the worker after the body, as they would be in
// the original function". A plain `fn f(a: D, _: D)` drops its parameters in
// reverse order: `_` first, then `a`. The expansion turns `a` into a closure
// local (`let a = a;`) but leaves `_` (renamed `__pymt_arg1`) as a captured
// upvar (`let _ = &__pymt_arg1;`), which is dropped with the closure, after
// every local: `a` first, then `_`. The same with `self`: upvars drop in
// capture order, so `fn f(self, _: D)` drops `self` before `_`.
//
// Fixed (capture_arguments, the commit after the tests): every pattern argument is a closure
// local first, `#[allow(unused_mut)] let mut __pymt_argN = __pymt_argN;`,
// then `let <pat> = __pymt_argN;` (the `mut` also fixes `ref mut` patterns,
// tests/ui-pass/review-ref-mut-param.rs).

static LOG: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

fn log() -> MutexGuard<'static, Vec<&'static str>> {
    LOG.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serialises the tests that share `LOG`.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn take_log() -> Vec<&'static str> {
    std::mem::take(&mut *log())
}

struct D(&'static str);

impl Drop for D {
    fn drop(&mut self) {
        log().push(self.0);
    }
}

fn plain_named_then_wild(a: D, _: D) {
    let _l = D("local");
    let _ = &a;
}

#[pymt::threaded]
fn threaded_named_then_wild(a: D, _: D) {
    let _l = D("local");
    let _ = &a;
}

#[test]
fn wild_parameter_drops_in_the_original_order() {
    let _serial = serial();
    take_log();
    plain_named_then_wild(D("a"), D("_"));
    let plain = take_log();
    threaded_named_then_wild(D("a"), D("_"))
        .result_timeout(TIMEOUT)
        .unwrap();
    let threaded = take_log();
    assert_eq!(plain, ["local", "_", "a"]);
    // Failed before the fix: ["local", "a", "_"].
    assert_eq!(threaded, plain);
}

struct S(#[allow(dead_code)] D);

impl S {
    fn plain_self_then_wild(self, _: D) {
        let _l = D("local");
    }

    #[pymt::threaded]
    fn threaded_self_then_wild(self, _: D) {
        let _l = D("local");
    }
}

#[test]
fn self_and_wild_parameter_drop_in_the_original_order() {
    let _serial = serial();
    take_log();
    S(D("self")).plain_self_then_wild(D("_"));
    let plain = take_log();
    S(D("self"))
        .threaded_self_then_wild(D("_"))
        .result_timeout(TIMEOUT)
        .unwrap();
    let threaded = take_log();
    assert_eq!(plain, ["local", "_", "self"]);
    // Failed before the fix: ["local", "self", "_"].
    assert_eq!(threaded, plain);
}

// ===== a "private" pool is reachable by name =====
//
// DESIGN: `#[threaded(pool)]` is "a registered pool private to this
// function" while `pool_name = "x"` is "shared by every function naming it".
// But the private pool is registered under the plain name `module::fn`, and
// `pool_name` / `Pool::named` resolve through `get_or_create`, so a function
// that names `module::fn` (or `Pool::named("module::fn")`) joins the private
// pool instead of getting one of its own; the private pool's `max_workers`
// then applies to it, and joining it via the other name joins the private one.
//
// Likely fix: register private pools in a way `named_with` never returns
// (a separate namespace, or a flag checked in `get_or_create` that makes it
// skip to a fresh entry), or make `named_with` refuse a private entry.

mod private_pool {
    #[pymt::threaded(pool, max_workers = 1)]
    pub(crate) fn mine() -> String {
        std::thread::current().name().unwrap_or("?").to_owned()
    }

    #[pymt::threaded(
        pool_name = "regress_review_macros::private_pool::mine",
        max_workers = 4
    )]
    pub(crate) fn intruder() -> String {
        std::thread::current().name().unwrap_or("?").to_owned()
    }
}

/// Decided, not a defect: a private pool is registered under its function's
/// path, and the registry has one pool per name, so a `pool_name` (or
/// `Pool::named`) that spells that path on purpose names that pool
/// (documented in `docs/bad-input.md`). Pinned so a change is deliberate.
#[test]
fn a_pool_name_spelling_a_private_pool_names_it() {
    let _serial = serial();
    let mine = private_pool::mine().result_timeout(TIMEOUT).unwrap();
    assert!(
        mine.starts_with("regress_review_macros::private_pool::mine"),
        "{mine}"
    );
    let other = private_pool::intruder().result_timeout(TIMEOUT).unwrap();
    assert_eq!(
        mine.rsplit_once('-').map(|x| x.0),
        other.rsplit_once('-').map(|x| x.0)
    );
    let pool = Pool::get_pool_by_name("regress_review_macros::private_pool::mine").unwrap();
    assert_eq!(pool.max_workers(), 1, "the first resolver's settings");
}

// ===== clippy on a user crate =====
//
// `tests/clippy-fixture` is a clean user crate; default clippy
// (`clippy::all`) must say nothing about the code the macros generate there
// (it reported `multiple_bound_locations` for a type parameter bounded by a
// higher-ranked `where` predicate, and for a `macro_rules!` `$t:ty` argument).

#[test]
fn clippy_is_quiet_on_user_crates() {
    let manifest = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clippy-fixture/Cargo.toml"
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args([
            "clippy",
            "--quiet",
            "--manifest-path",
            manifest,
            "--",
            "-D",
            "warnings",
        ])
        .env(
            "CARGO_TARGET_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/target/clippy-fixture"),
        )
        .output()
        .expect("cargo clippy runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
}
