//! The process-wide registry of named pools.

use std::collections::hash_map::{Entry, HashMap};
use std::sync::{LazyLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::Pool;
use crate::error::BuildError;

static POOLS: LazyLock<RwLock<HashMap<String, Pool>>> = LazyLock::new(Default::default);

// A panic under the lock leaves the map as consistent as it was: every
// change is one `insert` or `remove`.
fn read() -> RwLockReadGuard<'static, HashMap<String, Pool>> {
    POOLS
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write() -> RwLockWriteGuard<'static, HashMap<String, Pool>> {
    POOLS
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Registers a new pool under `name`; fails if the name is taken.
pub(crate) fn register(name: &str, make: impl FnOnce() -> Pool) -> Result<Pool, BuildError> {
    match write().entry(name.to_owned()) {
        Entry::Occupied(_) => Err(BuildError::new(format!(
            "a pool named '{name}' is already registered"
        ))),
        Entry::Vacant(slot) => Ok(slot.insert(make()).clone()),
    }
}

/// The registered pool `name`, created by `make` if absent (atomically).
pub(crate) fn get_or_create(name: &str, make: impl FnOnce() -> Pool) -> Pool {
    if let Some(pool) = get(name) {
        return pool;
    }
    write().entry(name.to_owned()).or_insert_with(make).clone()
}

/// Registers a new pool under `base`, or `base#2`, `base#3`, .. when taken:
/// `make` receives the name it gets.
pub(crate) fn register_unique(base: &str, make: impl FnOnce(&str) -> Pool) -> Pool {
    let mut pools = write();
    let mut name = base.to_owned();
    let mut n = 2;
    while pools.contains_key(&name) {
        name = format!("{base}#{n}");
        n += 1;
    }
    let pool = make(&name);
    pools.entry(name).or_insert(pool).clone()
}

pub(crate) fn get(name: &str) -> Option<Pool> {
    read().get(name).cloned()
}

pub(crate) fn all() -> Vec<Pool> {
    read().values().cloned().collect()
}

/// Removes `pool` if it is the one registered under its name.
pub(crate) fn remove(pool: &Pool) {
    // Take the handle out before dropping it: dropping under the map's lock
    // would be fine today, but nothing is gained by risking it.
    let removed = {
        let mut pools = write();
        match pools.get(pool.name()) {
            Some(registered) if registered.same_pool(pool) => pools.remove(pool.name()),
            _ => None,
        }
    };
    drop(removed);
}
