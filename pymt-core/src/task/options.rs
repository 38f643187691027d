//! What a task is given at launch beyond its priority, stored inline in its
//! cell, so that no option costs an allocation of its own.
//!
//! The cell is generic over its options: a task from `submit` or `spawn`
//! carries none (`()`, adding nothing to the cell), a `TaskBuilder` task
//! its name (if any), and a `#[threaded]` call with options an [`Attr`] (a
//! static name, the `callback`/`on_error` hooks, and room for a limiter
//! permit under the task's lock).

use std::borrow::Cow;
use std::fmt;

use super::listener::Hooks;
use crate::limiter::Permit;

/// A cell's options: read without the task's lock (they never change),
/// except for the permit slot, which lives under it.
pub(crate) trait Options<T>: Send + Sync {
    /// Where a limiter permit waits until the task ends.
    type Permit: PermitSlot;
    /// The task's name.
    fn name(&self) -> Option<&str>;
    /// The attribute's hooks, run first when the task ends.
    fn hooks(&self) -> Option<&Hooks<T>>;
}

/// Room for a permit under the task's lock, or none (a permit then goes to
/// the task's extras, which are allocated on first use).
pub(crate) trait PermitSlot: Send + Default {
    fn slot(&mut self) -> Option<&mut Option<Permit>>;
}

impl PermitSlot for () {
    fn slot(&mut self) -> Option<&mut Option<Permit>> {
        None
    }
}

impl PermitSlot for Option<Permit> {
    fn slot(&mut self) -> Option<&mut Option<Permit>> {
        Some(self)
    }
}

/// No options: `submit`, `spawn`, scoped tasks, plain `#[threaded]` calls.
impl<T> Options<T> for () {
    type Permit = ();

    fn name(&self) -> Option<&str> {
        None
    }

    fn hooks(&self) -> Option<&Hooks<T>> {
        None
    }
}

/// A `TaskBuilder` task: its name, if given.
impl<T> Options<T> for Option<Cow<'static, str>> {
    type Permit = ();

    fn name(&self) -> Option<&str> {
        self.as_deref()
    }

    fn hooks(&self) -> Option<&Hooks<T>> {
        None
    }
}

/// The options of a `#[threaded]` call (`name`, `callback`, `on_error`, a
/// limiter above it), built by `__private::Launch`. Public only to appear
/// in `Launch`'s type.
pub struct Attr<T> {
    pub(crate) name: Option<&'static str>,
    pub(crate) hooks: Hooks<T>,
}

impl<T> Default for Attr<T> {
    fn default() -> Self {
        Attr {
            name: None,
            hooks: Hooks::default(),
        }
    }
}

impl<T> fmt::Debug for Attr<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attr").field("name", &self.name).finish()
    }
}

impl<T> Options<T> for Attr<T> {
    type Permit = Option<Permit>;

    fn name(&self) -> Option<&str> {
        self.name
    }

    fn hooks(&self) -> Option<&Hooks<T>> {
        self.hooks.is_set().then_some(&self.hooks)
    }
}
