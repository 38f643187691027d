//! A logger is user code: the report of a named pool's ignored environment
//! settings is made after the registry's lock is released, so a logger that
//! looks pools up (or creates one) does not deadlock the first caller.

use pymt_core as pymt;

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use common::bounded;
use common::LONG;

static REPORTS: AtomicUsize = AtomicUsize::new(0);

struct RegistryReadingLogger;

impl log::Log for RegistryReadingLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.args().to_string().contains("using default settings") {
            // Under the registry's lock this would deadlock.
            let _ = pymt::Pool::get_pool_by_name("regress-logger");
            REPORTS.fetch_add(1, SeqCst);
        }
    }
    fn flush(&self) {}
}

static LOGGER: RegistryReadingLogger = RegistryReadingLogger;

#[test]
fn a_logger_may_read_the_registry_while_a_pool_is_created() {
    log::set_logger(&LOGGER).expect("the only logger of this binary");
    log::set_max_level(log::LevelFilter::Error);
    // This binary has one test: no other thread reads the environment.
    std::env::set_var("PYMT_MAX_WORKERS", "not-a-number");
    let created = bounded(LONG, || {
        let pool = pymt::Pool::named("regress-logger");
        pool.name().to_owned()
    });
    std::env::remove_var("PYMT_MAX_WORKERS");
    assert_eq!(
        created.as_deref(),
        Some("regress-logger"),
        "creating the pool hung"
    );
    assert_eq!(
        REPORTS.load(SeqCst),
        1,
        "the ignored setting was reported once"
    );
}
