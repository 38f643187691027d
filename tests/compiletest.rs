//! The attribute macros as users meet them, checked with trybuild.
//!
//! - `tests/ui/`: compile-fail cases, one file per mistake, each with the exact
//!   diagnostics it must produce (listed in `docs/bad-input.md`);
//! - `tests/ui-pass/`: valid forms (odd patterns, hygiene, generics, stacking,
//!   `macro_rules!` callers, trait impls) that must keep compiling.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test
//! compiletest` and review the diff: every message should come from the macro
//! or point at the user's own token.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui-pass/*.rs");
}
