//! `PoolBuilder`: validated pool settings, from code or the environment.

use std::time::Duration;

use super::registry;
use super::Pool;
use crate::error::BuildError;
use crate::executor::config::{Compensation, Config, ThreadNaming};
use crate::executor::Executor;

/// Default idle time after which a worker above the minimum exits.
pub(crate) const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings for a [`Pool`]; see [`Pool::builder`].
///
/// # Examples
///
/// ```
/// # use pymt_core as pymt;
/// # use std::time::Duration;
/// let pool = pymt::Pool::builder()
///     .max_workers(4)
///     .min_workers(1)
///     .idle_timeout(Duration::from_secs(2))
///     .queue_capacity(100)
///     .build()?;
/// assert_eq!(pool.max_workers(), 4);
/// # Ok::<(), pymt::BuildError>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "a builder does nothing until .build()"]
pub struct PoolBuilder {
    name: Option<String>,
    max_workers: Option<usize>,
    min_workers: Option<usize>,
    idle_timeout: Option<Duration>,
    stack_size: Option<usize>,
    queue_capacity: Option<usize>,
    env_error: Option<BuildError>,
}

impl PoolBuilder {
    /// A builder with every setting at its default.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::PoolBuilder::new().build().unwrap();
    /// assert!(pool.max_workers() >= 1);
    /// ```
    pub fn new() -> Self {
        PoolBuilder::default()
    }

    /// Names the pool and registers it process-wide (see
    /// [`Pool::get_pool_by_name`]); threads are named `<name>-<n>`.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let pool = pymt::Pool::builder().name("doc-builder-name").build().unwrap();
    /// assert!(pymt::Pool::get_pool_by_name("doc-builder-name").is_some());
    /// assert!(pool.join(Duration::from_secs(10)));
    /// ```
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Most worker threads at once (default: available parallelism).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert_eq!(pymt::Pool::builder().max_workers(3).build().unwrap().max_workers(), 3);
    /// ```
    pub fn max_workers(mut self, max: usize) -> Self {
        self.max_workers = Some(max);
        self
    }

    /// Workers started at build and never reaped (default 0).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::builder().min_workers(2).build().unwrap();
    /// assert_eq!(pool.stats().workers, 2);
    /// ```
    pub fn min_workers(mut self, min: usize) -> Self {
        self.min_workers = Some(min);
        self
    }

    /// How long a worker above the minimum stays idle before exiting
    /// (default 10 s).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// # use std::time::Duration;
    /// let pool = pymt::Pool::builder().idle_timeout(Duration::from_millis(50)).build();
    /// assert!(pool.is_ok());
    /// ```
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Stack size of each worker thread, in bytes.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let pool = pymt::Pool::builder().stack_size(512 * 1024).build().unwrap();
    /// assert_eq!(pool.submit(|| 1).join(), Ok(1));
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Bound the queue: `submit` blocks and `try_submit` fails while
    /// `capacity` tasks wait (default unbounded).
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// assert!(pymt::Pool::builder().queue_capacity(0).build().is_err());
    /// ```
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = Some(capacity);
        self
    }

    /// Reads `PYMT_MAX_WORKERS`, `PYMT_MIN_WORKERS`, `PYMT_IDLE_TIMEOUT_MS`
    /// and `PYMT_QUEUE_CAPACITY`. A variable overrides what was set before
    /// this call; a setter called later overrides the variable. An
    /// unparsable or negative value makes `build` fail, naming the variable.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// // With no PYMT_* variables set, nothing changes.
    /// let pool = pymt::Pool::builder().from_env().max_workers(2).build().unwrap();
    /// assert_eq!(pool.max_workers(), 2);
    /// ```
    pub fn from_env(mut self) -> Self {
        let mut read = |var: &str| -> Option<u64> {
            let raw = std::env::var(var).ok()?;
            match raw.trim().parse::<u64>() {
                Ok(value) => Some(value),
                Err(_) => {
                    self.env_error.get_or_insert_with(|| {
                        BuildError::new(format!(
                            "environment variable {var}={raw:?} is not a non-negative integer"
                        ))
                    });
                    None
                }
            }
        };
        let max = read("PYMT_MAX_WORKERS");
        let min = read("PYMT_MIN_WORKERS");
        let idle = read("PYMT_IDLE_TIMEOUT_MS");
        let capacity = read("PYMT_QUEUE_CAPACITY");
        let to_usize = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        if let Some(v) = max {
            self.max_workers = Some(to_usize(v));
        }
        if let Some(v) = min {
            self.min_workers = Some(to_usize(v));
        }
        if let Some(v) = idle {
            self.idle_timeout = Some(Duration::from_millis(v));
        }
        if let Some(v) = capacity {
            self.queue_capacity = Some(to_usize(v));
        }
        self
    }

    /// Validates the settings and starts the pool (and its minimum workers).
    ///
    /// # Errors
    ///
    /// `max_workers` 0, an explicit `max_workers` below `min_workers` (an
    /// unset maximum is raised to the minimum), `queue_capacity` 0, an empty
    /// or already registered name or one containing NUL, or a bad `PYMT_*`
    /// variable.
    ///
    /// ```
    /// # use pymt_core as pymt;
    /// let err = pymt::Pool::builder().min_workers(4).max_workers(2).build().unwrap_err();
    /// assert!(err.to_string().contains("min_workers"));
    /// ```
    pub fn build(self) -> Result<Pool, BuildError> {
        if let Some(name) = self.name.as_deref().filter(|n| n.contains('\0')) {
            return Err(BuildError::new(format!(
                "a pool name must not contain NUL bytes, got {name:?}"
            )));
        }
        let mut config = self.config()?;
        match config.name.take() {
            Some(name) => registry::register(&name, || config.start(name.clone())),
            None => Ok(config.start(unnamed())),
        }
    }

    /// Builds a pool named `name` without registering it (the registry's
    /// `get_or_create` registers it itself).
    pub(crate) fn unregistered(self, name: &str) -> Result<Pool, BuildError> {
        Ok(self.config()?.start(name.to_owned()))
    }

    fn config(self) -> Result<Validated, BuildError> {
        if let Some(error) = self.env_error {
            return Err(error);
        }
        let min = self.min_workers.unwrap_or(0);
        let max = match self.max_workers {
            Some(0) => return Err(BuildError::new("max_workers must be at least 1, got 0")),
            Some(max) if max < min => {
                return Err(BuildError::new(format!(
                    "max_workers ({max}) is below min_workers ({min})"
                )))
            }
            Some(max) => max,
            None => default_max_workers().max(min),
        };
        if self.queue_capacity == Some(0) {
            return Err(BuildError::new("queue_capacity must be at least 1, got 0"));
        }
        if self.name.as_deref() == Some("") {
            return Err(BuildError::new("a pool name must not be empty"));
        }
        Ok(Validated {
            name: self.name,
            min,
            max,
            idle_timeout: self.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT),
            stack_size: self.stack_size,
            queue_capacity: self.queue_capacity,
        })
    }
}

struct Validated {
    name: Option<String>,
    min: usize,
    max: usize,
    idle_timeout: Duration,
    stack_size: Option<usize>,
    queue_capacity: Option<usize>,
}

impl Validated {
    fn start(self, name: String) -> Pool {
        Pool::start(Executor::new(Config {
            name,
            min_workers: self.min,
            max_workers: self.max,
            idle_timeout: Some(self.idle_timeout),
            stack_size: self.stack_size,
            queue_capacity: self.queue_capacity,
            thread_naming: ThreadNaming::Numbered,
            compensation: Compensation::Allowed,
        }))
    }
}

pub(crate) fn default_max_workers() -> usize {
    std::thread::available_parallelism().map_or(4, usize::from)
}

fn unnamed() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    format!("pymt-pool-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}
