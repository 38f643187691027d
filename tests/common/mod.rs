//! Helpers of the facade's test files: the ones both test suites share live
//! in `pymt-core/tests/common/support.rs`, included here.
#![allow(dead_code)]

#[path = "../../pymt-core/tests/common/support.rs"]
mod support;
pub(crate) use support::*;
