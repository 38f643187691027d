//! Compile-fail cases of `#[threaded]` and `#[limiter]`: one file per mistake in
//! `tests/ui/`, each with the exact diagnostics it must produce.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test
//! compiletest` and review the diff: every message should come from the macro.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
