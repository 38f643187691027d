//! Helpers shared by both test suites (`tests/` of the facade, which
//! includes this file, and `pymt-core/tests/`): quiet deliberate panics,
//! the bound of waits, a watchdog, a child-process harness for tests that
//! are expected to crash the process, a tiny RNG, spin delays and a
//! stack-depth probe.
#![allow(dead_code)]

use std::io::Read;
use std::panic;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::Once;
use std::thread;
use std::time::{Duration, Instant};

/// Keeps the default panic hook quiet for panics whose message is exactly
/// `deliberate` (the tests' own), so real failures stand out in the output.
pub(crate) fn quiet_deliberate_panics(deliberate: &'static str) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let text = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            if text != Some(deliberate) {
                default(info);
            }
        }));
    });
}

/// Bound of every wait that is expected to succeed.
pub(crate) const LONG: Duration = Duration::from_secs(10);

/// `n` milliseconds.
pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Reads an environment knob (for longer local runs), else `default`.
pub(crate) fn env_knob<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `f` on a helper thread; `None` if it does not return within `limit`
/// (the helper is then abandoned: the process exit reaps it).
pub(crate) fn bounded<R: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> R + Send + 'static,
) -> Option<R> {
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("test-watchdog".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .expect("spawn watchdog");
    rx.recv_timeout(limit).ok()
}

/// Set in the environment of a child started by [`run_child`].
const CHILD_VAR: &str = "PYMT_TEST_CHILD";

/// True when this process is the child re-run by [`run_child`].
pub(crate) fn is_child() -> bool {
    std::env::var_os(CHILD_VAR).is_some()
}

/// What a child run ended with.
#[derive(Debug)]
pub(crate) enum ChildOutcome {
    /// The child's test passed.
    Passed,
    /// The child exited with a failure code or was killed by a signal
    /// (a stack overflow aborts with SIGABRT).
    Failed {
        code: Option<i32>,
        signal: Option<i32>,
        stderr_tail: String,
    },
    /// The child did not end within its limit and was killed.
    TimedOut { stderr_tail: String },
}

/// Re-runs this test binary with only `test` selected (`--exact`, so the
/// name is the test function's full path inside the binary) and the child
/// marker set, bounded by `limit`.
pub(crate) fn run_child(test: &str, limit: Duration) -> ChildOutcome {
    run_child_with(test, &[], limit)
}

/// As [`run_child`], with extra environment variables for the child (the
/// parent's own environment is left alone: tests run on many threads).
pub(crate) fn run_child_with(test: &str, env: &[(&str, &str)], limit: Duration) -> ChildOutcome {
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child");
    // Drained on threads of their own, so a chatty child cannot fill a pipe
    // and stall.
    let stdout = drain(child.stdout.take().expect("child stdout"));
    let stderr = drain(child.stderr.take().expect("child stderr"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(ms(10));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr_tail = tail(&stderr.join().unwrap_or_default(), 12);
    // A name that selects no test would "pass" with 0 tests run.
    let ran_one = stdout.contains("test result: ok. 1 passed");
    match status {
        Some(status) if status.success() && ran_one => ChildOutcome::Passed,
        Some(status) if status.success() => ChildOutcome::Failed {
            code: status.code(),
            signal: None,
            stderr_tail: format!("the child ran no test named {test:?}\n{}", tail(&stdout, 4)),
        },
        Some(status) => ChildOutcome::Failed {
            code: status.code(),
            signal: signal_of(&status),
            stderr_tail,
        },
        None => ChildOutcome::TimedOut { stderr_tail },
    }
}

/// Reads `pipe` to its end on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

#[cfg(unix)]
fn signal_of(status: &ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn signal_of(_: &ExitStatus) -> Option<i32> {
    None
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// xorshift64*, good enough for jitter.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (`0` when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Busy-waits about `ns` nanoseconds.
pub(crate) fn spin_ns(ns: u64) {
    let start = Instant::now();
    let d = Duration::from_nanos(ns);
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// Address of a local: a stack-depth probe.
#[inline(never)]
pub(crate) fn stack_probe() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Runs `f` on a helper thread and returns its value, failing the test if it
/// does not return within [`LONG`] (a watchdog for waits that have no
/// timeout of their own). A panic in `f` is re-raised here.
#[track_caller]
pub(crate) fn within<R, F>(what: &str, f: F) -> R
where
    R: Send + 'static,
    F: FnOnce() -> R + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let helper = thread::Builder::new()
        .name(format!("watchdog: {what}"))
        .spawn(move || {
            let _ = tx.send(f());
        })
        .expect("spawn a watchdog thread");
    match rx.recv_timeout(LONG) {
        Ok(value) => {
            let _ = helper.join();
            value
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match helper.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("the helper sends before it returns"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: did not return within {LONG:?}"),
    }
}
