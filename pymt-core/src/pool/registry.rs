//! The process-wide registry of named pools.

use std::sync::LazyLock;

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;

use super::Pool;
use crate::error::BuildError;

static POOLS: LazyLock<DashMap<String, Pool>> = LazyLock::new(DashMap::new);

/// Registers a new pool under `name`; fails if the name is taken.
pub(crate) fn register(name: &str, make: impl FnOnce() -> Pool) -> Result<Pool, BuildError> {
    match POOLS.entry(name.to_owned()) {
        Entry::Occupied(_) => Err(BuildError::new(format!(
            "a pool named '{name}' is already registered"
        ))),
        Entry::Vacant(slot) => Ok(slot.insert(make()).clone()),
    }
}

/// The registered pool `name`, created by `make` if absent (atomically).
pub(crate) fn get_or_create(name: &str, make: impl FnOnce() -> Pool) -> Pool {
    if let Some(pool) = POOLS.get(name) {
        return pool.clone();
    }
    POOLS.entry(name.to_owned()).or_insert_with(make).clone()
}

/// Registers a new pool under `base`, or `base#2`, `base#3`, .. when taken:
/// `make` receives the name it gets.
pub(crate) fn register_unique(base: &str, make: impl Fn(&str) -> Pool) -> Pool {
    let mut name = base.to_owned();
    for n in 2.. {
        if let Entry::Vacant(slot) = POOLS.entry(name) {
            let pool = make(slot.key());
            return slot.insert(pool).clone();
        }
        name = format!("{base}#{n}");
    }
    unreachable!("some name is free")
}

pub(crate) fn get(name: &str) -> Option<Pool> {
    POOLS.get(name).map(|pool| pool.clone())
}

pub(crate) fn all() -> Vec<Pool> {
    POOLS.iter().map(|entry| entry.value().clone()).collect()
}

/// Removes `pool` if it is the one registered under its name.
pub(crate) fn remove(pool: &Pool) {
    // Take the handle out before dropping it: dropping under the map's lock
    // would be fine today, but nothing is gained by risking it.
    let removed = POOLS.remove_if(pool.name(), |_, registered| registered.same_pool(pool));
    drop(removed);
}
