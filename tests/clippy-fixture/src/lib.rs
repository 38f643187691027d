//! Clean user code that default clippy flags once the macros expand.

/// `clippy::multiple_bound_locations`: `F` is bounded only in a
/// higher-ranked `where` predicate, which `bound_type_param` skips (it has
/// `lifetimes`), so `Send + 'static` goes inline on `<F>`: "bound is defined
/// in more than one place". Likely fix: add a separate `F: Send + 'static`
/// where-predicate when the parameter already has one there.
#[pymt::threaded]
pub fn apply<F>(f: F) -> u8
where
    for<'a> F: Fn(&'a u8) -> u8,
{
    f(&1)
}

/// `clippy::multiple_bound_locations` again: an argument typed through a
/// `macro_rules!` `$t:ty` is a `Type::Group`, not recognised as the bare
/// parameter `T`, so it gets a `where T: Send + 'static` predicate while `T`
/// already has `T: Clone` inline. Likely fix: look through `Type::Group`
/// in `Bounds::of_type`.
macro_rules! def {
    ($name:ident, $t:ty) => {
        /// Clones its argument on another thread.
        #[pymt::threaded]
        pub fn $name<T: Clone>(x: $t) -> usize {
            drop(x.clone());
            1
        }
    };
}
def!(cloned, T);
