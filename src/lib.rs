//! pymt: run a function on another thread and get a typed handle back.
#![forbid(unsafe_code)]

pub use pymt_core::*;
pub use pymt_macros::{limiter, threaded};

#[doc(hidden)]
pub mod __private {
    //! What macro expansions refer to. Not public API.
    pub use pymt_core::__private::*;
}
