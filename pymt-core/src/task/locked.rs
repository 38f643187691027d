//! The part of a task guarded by its lock (`Locked`): the stage (closure,
//! then outcome), the permit slot of tasks launched under a limiter, and
//! the rarely needed extras.

use super::listener::Listener;
use super::options::PermitSlot;
use super::stage::Stage;
use crate::limiter::Permit;

pub(crate) struct Locked<T, F, P = ()> {
    pub(crate) stage: Stage<T, F>,
    /// A limiter permit held until the task ends, inline for the tasks
    /// whose options make room for one (`Attr`); nothing (`()`) otherwise.
    permit: P,
    /// What few tasks need, allocated on first use: most tasks never get a
    /// listener or a sleeping waiter, and an empty `Vec` alone would cost
    /// each of them 24 bytes.
    pub(crate) extras: Option<Box<Extras<T>>>,
}

pub(crate) struct Extras<T> {
    pub(crate) listeners: Vec<Listener<T>>,
    /// A permit given to a task without a permit slot of its own.
    pub(crate) permit: Option<Permit>,
    /// Threads blocked on the condvar: no notify syscall when zero.
    pub(crate) sleepers: u32,
}

impl<T, F, P: PermitSlot> Locked<T, F, P> {
    pub(crate) fn new(job: F, permit: P) -> Self {
        Locked {
            stage: Stage::Job(job),
            permit,
            extras: None,
        }
    }

    pub(crate) fn extras(&mut self) -> &mut Extras<T> {
        self.extras.get_or_insert_with(Box::default)
    }

    pub(crate) fn has_code_listeners(&self) -> bool {
        self.extras
            .as_ref()
            .is_some_and(|extras| extras.listeners.iter().any(Listener::runs_code))
    }

    pub(crate) fn take_listeners(&mut self) -> Vec<Listener<T>> {
        self.extras
            .as_mut()
            .map(|extras| std::mem::take(&mut extras.listeners))
            .unwrap_or_default()
    }

    /// Takes the code listeners (callbacks), leaving the others.
    pub(crate) fn take_code_listeners(&mut self) -> Vec<Listener<T>> {
        let (code, rest): (Vec<_>, Vec<_>) = self
            .take_listeners()
            .into_iter()
            .partition(Listener::runs_code);
        if !rest.is_empty() {
            self.extras().listeners = rest;
        }
        code
    }

    /// Holds `permit` until the task ends: in the permit slot if there is
    /// one, else in the extras.
    /// A task holds at most one permit (the expansions never stack two
    /// limiters above one `#[threaded]`); a second would release the first
    /// early.
    pub(crate) fn put_permit(&mut self, permit: Permit) {
        let slot = match self.permit.slot() {
            Some(slot) => slot,
            None => &mut self.extras().permit,
        };
        debug_assert!(slot.is_none(), "a task holds at most one permit");
        *slot = Some(permit);
    }

    pub(crate) fn take_permit(&mut self) -> Option<Permit> {
        self.permit
            .slot()
            .and_then(Option::take)
            .or_else(|| self.extras.as_mut().and_then(|extras| extras.permit.take()))
    }

    pub(crate) fn has_sleepers(&self) -> bool {
        self.extras
            .as_ref()
            .is_some_and(|extras| extras.sleepers > 0)
    }
}

impl<T> Default for Extras<T> {
    fn default() -> Self {
        Extras {
            listeners: Vec::new(),
            permit: None,
            sleepers: 0,
        }
    }
}
