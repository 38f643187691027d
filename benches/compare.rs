//! Side-by-side benchmarks of pymt against its peers (issue 6).
//!
//! `cargo bench --bench compare` runs every workload in one process. For each
//! workload the contenders (a hand-written floor, the peer crates, pymt) run
//! interleaved, A B C A B C …, for several repetitions; the table reports the
//! minimum and the median of those repetitions, the median's ratio to the
//! floor row and to the best peer, and then checks the issue's targets.
//!
//! The full run also writes `docs/bench.md` (the table) and `docs/bench.svg`
//! (ratio to the floor per workload and contender). `PYMT_BENCH_QUICK=1` runs
//! small sizes in a few seconds, asserts nothing about time, and writes its
//! files under the target directory instead (CI runs it so the harness always
//! builds and runs).
//!
//! Peak heap per handle comes from a counting global allocator that counts
//! only while a static flag is set (the memory pass); every other pass pays one
//! relaxed atomic load per allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel as cb;

// ---------------------------------------------------------------------------
// Counting allocator (memory pass only)
// ---------------------------------------------------------------------------

/// Forwards to the system allocator; while `COUNTING` is set it also tracks
/// the live byte count (relative to when counting started) and its peak.
struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

impl CountingAlloc {
    #[inline]
    fn grew(bytes: usize) {
        if COUNTING.load(Ordering::Relaxed) {
            let bytes = bytes as isize;
            let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
    }

    #[inline]
    fn shrank(bytes: usize) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(bytes as isize, Ordering::Relaxed);
        }
    }

    /// Starts counting from zero.
    fn start() {
        LIVE.store(0, Ordering::SeqCst);
        PEAK.store(0, Ordering::SeqCst);
        COUNTING.store(true, Ordering::SeqCst);
    }

    /// Stops counting; returns the peak live bytes since `start`.
    fn stop() -> usize {
        COUNTING.store(false, Ordering::SeqCst);
        PEAK.load(Ordering::SeqCst).max(0) as usize
    }
}

// SAFETY: every method forwards its arguments unchanged to `System`, which
// implements the `GlobalAlloc` contract; the bookkeeping only touches atomics
// and never allocates, so it cannot recurse into the allocator.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract (non-zero
        // size layout), which is exactly what `System.alloc` requires.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            Self::grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            Self::grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was returned by this allocator (that is, by `System`)
        // with this `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) };
        Self::shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr`/`layout` came from this allocator (`System`) and
        // `new_size` is valid for `layout`'s alignment, as the caller guarantees.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            Self::grew(new_size);
            Self::shrank(layout.size());
        }
        new
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

struct Config {
    quick: bool,
    reps: usize,
    spawns: u64,
    jobs: u64,
    handles: u64,
    round_trips: u64,
    sem_ops: u64,
    submits: u64,
    mem_handles: u64,
    idle_window: Duration,
}

impl Config {
    fn from_env() -> Config {
        let quick = std::env::var("PYMT_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        if quick {
            Config {
                quick,
                reps: 3,
                spawns: 50,
                jobs: 5_000,
                handles: 5_000,
                round_trips: 300,
                sem_ops: 100_000,
                submits: 5_000,
                mem_handles: 1_000,
                idle_window: Duration::from_millis(100),
            }
        } else {
            Config {
                quick,
                reps: 11,
                spawns: 2_000,
                jobs: 1_000_000,
                handles: 1_000_000,
                round_trips: 20_000,
                sem_ops: 10_000_000,
                submits: 200_000,
                mem_handles: 20_000,
                idle_window: Duration::from_secs(1),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The hand-written baseline every ratio is taken against.
    Floor,
    /// A peer crate.
    Peer,
    /// pymt itself.
    Pymt,
}

#[derive(Clone, Copy)]
enum Unit {
    /// Nanoseconds per operation.
    Nanos,
    /// Bytes per handle.
    Bytes,
    /// Microseconds of CPU per second of wall time.
    CpuMicrosPerSec,
}

impl Unit {
    fn format(self, value: f64) -> String {
        match self {
            Unit::Nanos if value < 1_000.0 => format!("{value:.1} ns"),
            Unit::Nanos if value < 1_000_000.0 => format!("{:.2} µs", value / 1e3),
            Unit::Nanos => format!("{:.2} ms", value / 1e6),
            Unit::Bytes => format!("{value:.1} B"),
            Unit::CpuMicrosPerSec => format!("{value:.1} µs/s"),
        }
    }
}

struct Row {
    contender: String,
    role: Role,
    samples: Vec<f64>,
}

impl Row {
    fn min(&self) -> f64 {
        self.samples.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn median(&self) -> f64 {
        let mut sorted = self.samples.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        }
    }
}

struct Workload {
    /// Short id used by the targets ("W3").
    id: &'static str,
    title: &'static str,
    unit: Unit,
    rows: Vec<Row>,
}

impl Workload {
    fn floor(&self) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.role == Role::Floor)
            .map(Row::median)
            .filter(|&m| m > 0.0)
    }

    fn best_peer(&self) -> Option<f64> {
        self.rows
            .iter()
            .filter(|r| r.role == Role::Peer)
            .map(Row::median)
            .min_by(f64::total_cmp)
            .filter(|&m| m > 0.0)
    }

    fn median_of(&self, contender_prefix: &str) -> Option<f64> {
        self.row(contender_prefix).map(Row::median)
    }

    fn min_of(&self, contender_prefix: &str) -> Option<f64> {
        self.row(contender_prefix).map(Row::min)
    }

    fn row(&self, contender_prefix: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.contender.starts_with(contender_prefix))
    }
}

/// One contender of a timed workload: a name, a role, and a closure that
/// runs one sample and returns the value per operation.
struct Contender<'a> {
    name: String,
    role: Role,
    sample: Box<dyn FnMut() -> f64 + 'a>,
}

fn contender<'a>(name: &str, role: Role, sample: impl FnMut() -> f64 + 'a) -> Contender<'a> {
    Contender {
        name: name.to_owned(),
        role,
        sample: Box::new(sample),
    }
}

/// Runs every contender once to warm up, then `reps` interleaved rounds.
fn interleave(
    cfg: &Config,
    id: &'static str,
    title: &'static str,
    unit: Unit,
    mut contenders: Vec<Contender<'_>>,
) -> Workload {
    eprint!("  {id} {title} ");
    for c in &mut contenders {
        black_box((c.sample)());
    }
    let mut samples = vec![Vec::with_capacity(cfg.reps); contenders.len()];
    for _ in 0..cfg.reps {
        for (c, s) in contenders.iter_mut().zip(&mut samples) {
            s.push((c.sample)());
        }
        eprint!(".");
    }
    eprintln!();
    Workload {
        id,
        title,
        unit,
        rows: contenders
            .into_iter()
            .zip(samples)
            .map(|(c, samples)| Row {
                contender: c.name,
                role: c.role,
                samples,
            })
            .collect(),
    }
}

/// Nanoseconds per operation of `n` operations that took `elapsed`.
fn per_op(elapsed: Duration, n: u64) -> f64 {
    elapsed.as_nanos() as f64 / n as f64
}

const LONG: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------
// The floor: a crossbeam channel feeding plain threads
// ---------------------------------------------------------------------------

type Job = Box<dyn FnOnce() + Send>;

/// The minimal pool: `threads` threads looping on one unbounded crossbeam
/// channel of boxed closures.
struct FloorPool {
    tx: Option<cb::Sender<Job>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl FloorPool {
    fn new(threads: usize, name: &str) -> FloorPool {
        let (tx, rx) = cb::unbounded::<Job>();
        let threads = (0..threads)
            .map(|i| {
                let rx = rx.clone();
                thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || {
                        for job in rx {
                            job();
                        }
                    })
                    .expect("spawn floor thread")
            })
            .collect();
        FloorPool {
            tx: Some(tx),
            threads,
        }
    }

    fn run(&self, job: impl FnOnce() + Send + 'static) {
        self.tx
            .as_ref()
            .expect("open")
            .send(Box::new(job))
            .expect("floor threads alive");
    }

    /// Returns once every job sent before it has finished: one fence job per
    /// thread, each holding its thread at a barrier (FIFO queue, so when all
    /// fences run, everything queued before them is done).
    fn fence(&self) {
        fence_with(self.threads.len(), |job| self.run(job));
    }
}

impl Drop for FloorPool {
    fn drop(&mut self) {
        drop(self.tx.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Fence for a FIFO pool of exactly `threads` threads: `threads` jobs that
/// meet at a barrier with the caller.
fn fence_with(threads: usize, run: impl Fn(Job)) {
    let barrier = Arc::new(Barrier::new(threads + 1));
    for _ in 0..threads {
        let b = Arc::clone(&barrier);
        run(Box::new(move || {
            b.wait();
        }));
    }
    barrier.wait();
}

/// The floor's result slot: what a minimal typed handle needs.
type Slot = Arc<(Mutex<Option<u64>>, Condvar)>;

fn slot_fill(slot: &Slot, value: u64) {
    let (m, c) = &**slot;
    *m.lock().expect("slot") = Some(value);
    c.notify_one();
}

fn slot_take(slot: &Slot) -> u64 {
    let (m, c) = &**slot;
    let mut guard = m.lock().expect("slot");
    loop {
        if let Some(v) = guard.take() {
            return v;
        }
        guard = c.wait(guard).expect("slot");
    }
}

// ---------------------------------------------------------------------------
// Peer constructors (2 workers each)
// ---------------------------------------------------------------------------

fn rusty(name: &str, workers: usize) -> rusty_pool::ThreadPool {
    let pool = rusty_pool::ThreadPool::new_named(
        name.to_owned(),
        workers,
        workers,
        Duration::from_secs(60),
    );
    pool.start_core_threads();
    pool
}

fn threadpool(name: &str, workers: usize) -> threadpool::ThreadPool {
    threadpool::Builder::new()
        .num_threads(workers)
        .thread_name(name.to_owned())
        .build()
}

fn rayon(name: &'static str, workers: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(move |i| format!("{name}-{i}"))
        .build()
        .expect("rayon pool")
}

fn tokio_rt(name: &str, blocking: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(blocking)
        .thread_name(name)
        .build()
        .expect("tokio runtime")
}

fn pymt_pool(workers: usize) -> pymt::Pool {
    pymt::Pool::builder()
        .max_workers(workers)
        .min_workers(workers)
        .build()
        .expect("pymt pool")
}

// ---------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------

#[pymt::threaded]
fn threaded_bare(i: u64) -> u64 {
    black_box(i)
}

fn w1_bare_thread(cfg: &Config) -> Workload {
    let n = cfg.spawns;
    interleave(
        cfg,
        "W1",
        "bare thread per call: spawn + join",
        Unit::Nanos,
        vec![
            contender("std::thread::spawn + join", Role::Floor, || {
                let t = Instant::now();
                for i in 0..n {
                    black_box(thread::spawn(move || black_box(i)).join().expect("join"));
                }
                per_op(t.elapsed(), n)
            }),
            contender("pymt::spawn + join", Role::Pymt, || {
                let t = Instant::now();
                for i in 0..n {
                    black_box(pymt::spawn(move || black_box(i)).join().expect("join"));
                }
                per_op(t.elapsed(), n)
            }),
            contender("pymt #[threaded] fn call + join", Role::Pymt, || {
                let t = Instant::now();
                for i in 0..n {
                    black_box(threaded_bare(i).join().expect("join"));
                }
                per_op(t.elapsed(), n)
            }),
        ],
    )
}

fn w2_fire_and_forget(cfg: &Config) -> Workload {
    let n = cfg.jobs;
    let floor = FloorPool::new(2, "floor-ff");
    let rp = rusty("rp-ff", 2);
    let tp = threadpool("tp-ff", 2);
    let ry = rayon("rayon-ff", 2);
    let rt = tokio_rt("tokio-ff", 2);
    let pool = pymt_pool(2);
    interleave(
        cfg,
        "W2",
        "fire-and-forget: N empty jobs, 2 workers (per job)",
        Unit::Nanos,
        vec![
            contender("crossbeam channel + 2 threads", Role::Floor, || {
                let t = Instant::now();
                for _ in 0..n {
                    floor.run(|| {});
                }
                floor.fence();
                per_op(t.elapsed(), n)
            }),
            contender("rusty_pool execute + join", Role::Peer, || {
                let t = Instant::now();
                for _ in 0..n {
                    rp.execute(|| {});
                }
                rp.join();
                per_op(t.elapsed(), n)
            }),
            contender("threadpool execute + join", Role::Peer, || {
                let t = Instant::now();
                for _ in 0..n {
                    tp.execute(|| {});
                }
                tp.join();
                per_op(t.elapsed(), n)
            }),
            contender("rayon spawn + latch", Role::Peer, || {
                let t = Instant::now();
                for _ in 0..n {
                    ry.spawn(|| {});
                }
                fence_with(2, |job| ry.spawn(job));
                per_op(t.elapsed(), n)
            }),
            contender("tokio spawn_blocking + latch", Role::Peer, || {
                let t = Instant::now();
                for _ in 0..n {
                    drop(rt.spawn_blocking(|| {}));
                }
                fence_with(2, |job| drop(rt.spawn_blocking(job)));
                per_op(t.elapsed(), n)
            }),
            contender("pymt execute + wait_completion", Role::Pymt, || {
                let t = Instant::now();
                for _ in 0..n {
                    pool.execute(|| {}).expect("pool open");
                }
                assert!(pool.wait_completion(LONG));
                per_op(t.elapsed(), n)
            }),
            contender(
                "pymt submit (dropped) + wait_completion",
                Role::Pymt,
                || {
                    let t = Instant::now();
                    for _ in 0..n {
                        drop(pool.submit(|| {}));
                    }
                    assert!(pool.wait_completion(LONG));
                    per_op(t.elapsed(), n)
                },
            ),
        ],
    )
}

fn check_sum(sum: u64, n: u64) {
    assert_eq!(
        sum,
        n * (n - 1) / 2,
        "every job ran once and returned its value"
    );
}

fn w3_handle_throughput(cfg: &Config) -> Workload {
    let n = cfg.handles;
    let floor = FloorPool::new(2, "floor-ht");
    let rp = rusty("rp-ht", 2);
    let tp = threadpool("tp-ht", 2);
    let ry = rayon("rayon-ht", 2);
    let rt = tokio_rt("tokio-ht", 2);
    let pool = pymt_pool(2);
    interleave(
        cfg,
        "W3",
        "handle throughput: N submit, then join each (per job)",
        Unit::Nanos,
        vec![
            contender("Arc<Mutex+Condvar> slot + crossbeam", Role::Floor, || {
                let t = Instant::now();
                let mut slots = Vec::with_capacity(n as usize);
                for i in 0..n {
                    let slot: Slot = Arc::default();
                    let s = Arc::clone(&slot);
                    floor.run(move || slot_fill(&s, i));
                    slots.push(slot);
                }
                let sum: u64 = slots.iter().map(slot_take).sum();
                let e = t.elapsed();
                check_sum(sum, n);
                per_op(e, n)
            }),
            contender("rusty_pool evaluate + await_complete", Role::Peer, || {
                let t = Instant::now();
                let handles: Vec<_> = (0..n).map(|i| rp.evaluate(move || i)).collect();
                let sum: u64 = handles.into_iter().map(|h| h.await_complete()).sum();
                let e = t.elapsed();
                check_sum(sum, n);
                per_op(e, n)
            }),
            contender("threadpool + per-job channel", Role::Peer, || {
                let t = Instant::now();
                let handles: Vec<_> = (0..n)
                    .map(|i| {
                        let (tx, rx) = cb::bounded(1);
                        tp.execute(move || {
                            let _ = tx.send(i);
                        });
                        rx
                    })
                    .collect();
                let sum: u64 = handles.iter().map(|rx| rx.recv().expect("result")).sum();
                let e = t.elapsed();
                check_sum(sum, n);
                per_op(e, n)
            }),
            contender("rayon spawn + per-job channel", Role::Peer, || {
                let t = Instant::now();
                let handles: Vec<_> = (0..n)
                    .map(|i| {
                        let (tx, rx) = cb::bounded(1);
                        ry.spawn(move || {
                            let _ = tx.send(i);
                        });
                        rx
                    })
                    .collect();
                let sum: u64 = handles.iter().map(|rx| rx.recv().expect("result")).sum();
                let e = t.elapsed();
                check_sum(sum, n);
                per_op(e, n)
            }),
            contender("tokio spawn_blocking + block_on", Role::Peer, || {
                let t = Instant::now();
                let handles: Vec<_> = (0..n).map(|i| rt.spawn_blocking(move || i)).collect();
                let sum: u64 = handles
                    .into_iter()
                    .map(|h| rt.block_on(h).expect("result"))
                    .sum();
                let e = t.elapsed();
                check_sum(sum, n);
                per_op(e, n)
            }),
            contender("pymt submit + join", Role::Pymt, || {
                let t = Instant::now();
                let handles: Vec<_> = (0..n).map(|i| pool.submit(move || i)).collect();
                let sum: u64 = handles.into_iter().map(|h| h.join().expect("result")).sum();
                let e = t.elapsed();
                check_sum(sum, n);
                per_op(e, n)
            }),
        ],
    )
}

fn w4_round_trip(cfg: &Config) -> Workload {
    let n = cfg.round_trips;
    let floor = FloorPool::new(2, "floor-rt");
    let (reply_tx, reply_rx) = cb::unbounded::<u64>();
    let rp = rusty("rp-rt", 2);
    let tp = threadpool("tp-rt", 2);
    let ry = rayon("rayon-rt", 2);
    let rt = tokio_rt("tokio-rt", 2);
    let pool = pymt_pool(2);
    interleave(
        cfg,
        "W4",
        "round trip: submit one, wait, repeat, 2 workers (per round trip)",
        Unit::Nanos,
        vec![
            contender("crossbeam workers + reply channel", Role::Floor, || {
                let t = Instant::now();
                let mut sum = 0;
                for i in 0..n {
                    let tx = reply_tx.clone();
                    floor.run(move || {
                        let _ = tx.send(i);
                    });
                    sum += reply_rx.recv().expect("reply");
                }
                let e = t.elapsed();
                check_sum(sum, n);
                per_op(e, n)
            }),
            contender("rusty_pool evaluate + await_complete", Role::Peer, || {
                let t = Instant::now();
                let mut sum = 0;
                for i in 0..n {
                    sum += rp.evaluate(move || i).await_complete();
                }
                let e = t.elapsed();
                check_sum(sum, n);
                per_op(e, n)
            }),
            contender("threadpool + per-job channel", Role::Peer, || {
                let t = Instant::now();
                let mut sum = 0;
                for i in 0..n {
                    let (tx, rx) = cb::bounded(1);
                    tp.execute(move || {
                        let _ = tx.send(i);
                    });
                    sum += rx.recv().expect("reply");
                }
                let e = t.elapsed();
                check_sum(sum, n);
                per_op(e, n)
            }),
            contender("rayon spawn + per-job channel", Role::Peer, || {
                let t = Instant::now();
                let mut sum = 0;
                for i in 0..n {
                    let (tx, rx) = cb::bounded(1);
                    ry.spawn(move || {
                        let _ = tx.send(i);
                    });
                    sum += rx.recv().expect("reply");
                }
                let e = t.elapsed();
                check_sum(sum, n);
                per_op(e, n)
            }),
            contender("tokio spawn_blocking + block_on", Role::Peer, || {
                let t = Instant::now();
                let mut sum = 0;
                for i in 0..n {
                    sum += rt.block_on(rt.spawn_blocking(move || i)).expect("reply");
                }
                let e = t.elapsed();
                check_sum(sum, n);
                per_op(e, n)
            }),
            contender("pymt submit + join", Role::Pymt, || {
                let t = Instant::now();
                let mut sum = 0;
                for i in 0..n {
                    sum += pool.submit(move || i).join().expect("reply");
                }
                let e = t.elapsed();
                check_sum(sum, n);
                per_op(e, n)
            }),
        ],
    )
}

fn w5_semaphore(cfg: &Config) -> Workload {
    let n = cfg.sem_ops;
    let mutex = Mutex::new(());
    let limiter = pymt::Limiter::new(1);
    interleave(
        cfg,
        "W5",
        "semaphore acquire + release, uncontended (per pair)",
        Unit::Nanos,
        vec![
            contender("std Mutex lock + unlock", Role::Floor, || {
                let t = Instant::now();
                for _ in 0..n {
                    drop(black_box(&mutex).lock().expect("lock"));
                }
                per_op(t.elapsed(), n)
            }),
            contender("pymt Limiter acquire + drop", Role::Pymt, || {
                let t = Instant::now();
                for _ in 0..n {
                    drop(black_box(&limiter).acquire());
                }
                per_op(t.elapsed(), n)
            }),
        ],
    )
}

static PLAIN_GUARD: Mutex<()> = Mutex::new(());

#[inline(never)]
fn guarded_by_mutex(x: u64) -> u64 {
    let _guard = PLAIN_GUARD.lock().expect("lock");
    black_box(x)
}

#[inline(never)]
#[pymt::limiter(1)]
fn guarded_by_limiter(x: u64) -> u64 {
    black_box(x)
}

fn w5b_limiter_fn(cfg: &Config) -> Workload {
    let n = cfg.sem_ops;
    interleave(
        cfg,
        "W5b",
        "#[limiter(1)] on a plain fn vs the same fn holding a static Mutex (per call)",
        Unit::Nanos,
        vec![
            contender("fn with a static std Mutex", Role::Floor, || {
                let t = Instant::now();
                for i in 0..n {
                    black_box(guarded_by_mutex(black_box(i)));
                }
                per_op(t.elapsed(), n)
            }),
            contender("pymt #[limiter(1)] fn", Role::Pymt, || {
                let t = Instant::now();
                for i in 0..n {
                    black_box(guarded_by_limiter(black_box(i)));
                }
                per_op(t.elapsed(), n)
            }),
        ],
    )
}

/// W5 as a user's crate sees it: the loops live in `benches/user`, a plain
/// library depending on `pymt`, with the permit and the guard also through
/// `black_box` (as a user measuring it writes it).
fn w5u_semaphore_user(cfg: &Config) -> Workload {
    let n = cfg.sem_ops;
    let mutex = Mutex::new(());
    let limiter = pymt::Limiter::new(4);
    interleave(
        cfg,
        "W5u",
        "W5 from a user's crate: acquire + drop vs lock + unlock (per pair)",
        Unit::Nanos,
        vec![
            contender("std Mutex lock + unlock (user crate)", Role::Floor, || {
                per_op(pymt_bench_user::mutex_pairs(&mutex, n), n)
            }),
            contender(
                "pymt Limiter acquire + drop (user crate)",
                Role::Pymt,
                || per_op(pymt_bench_user::limiter_pairs(&limiter, n), n),
            ),
        ],
    )
}

/// W5b as a user's crate sees it: both fns are defined and called in
/// `benches/user`.
fn w5bu_limiter_fn_user(cfg: &Config) -> Workload {
    let n = cfg.sem_ops;
    interleave(
        cfg,
        "W5bu",
        "W5b from a user's crate: #[limiter(4)] fn vs a fn holding a static Mutex (per call)",
        Unit::Nanos,
        vec![
            contender(
                "fn with a static std Mutex (user crate)",
                Role::Floor,
                || per_op(pymt_bench_user::mutex_fn_calls(n), n),
            ),
            contender("pymt #[limiter(4)] fn (user crate)", Role::Pymt, || {
                per_op(pymt_bench_user::limiter_fn_calls(n), n)
            }),
        ],
    )
}

/// One memory sample: the pool's workers are held by `plug` jobs, then `k`
/// jobs returning a `u64` are submitted and their handles kept (all queued,
/// none run); the peak of live heap bytes over those `k` submissions, divided
/// by `k`, is the cost of one outstanding handle (handle + shared state +
/// boxed closure + queue entry, amortised, growth transients included).
fn mem_sample<H>(
    k: u64,
    workers: usize,
    plug: impl Fn(Job),
    mut submit: impl FnMut(u64) -> H,
    mut finish: impl FnMut(H) -> u64,
) -> f64 {
    let (gate_tx, gate_rx) = cb::bounded::<()>(0);
    let (started_tx, started_rx) = cb::bounded::<()>(workers);
    for _ in 0..workers {
        let gate = gate_rx.clone();
        let started = started_tx.clone();
        plug(Box::new(move || {
            let _ = started.send(());
            let _ = gate.recv();
        }));
    }
    for _ in 0..workers {
        started_rx.recv().expect("plug started");
    }
    let mut handles = Vec::with_capacity(k as usize);
    CountingAlloc::start();
    for i in 0..k {
        handles.push(submit(i));
    }
    let peak = CountingAlloc::stop();
    drop(gate_tx);
    let sum: u64 = handles.into_iter().map(&mut finish).sum();
    check_sum(sum, k);
    peak as f64 / k as f64
}

fn w6_memory(cfg: &Config) -> Workload {
    let k = cfg.mem_handles;
    let floor = FloorPool::new(2, "floor-mem");
    let rp = rusty("rp-mem", 2);
    let tp = threadpool("tp-mem", 2);
    let ry = rayon("rayon-mem", 2);
    let rt = tokio_rt("tokio-mem", 2);
    interleave(
        cfg,
        "W6",
        "peak live heap per outstanding handle, u64 result (per handle)",
        Unit::Bytes,
        vec![
            contender("Arc<Mutex+Condvar> slot + crossbeam", Role::Floor, || {
                mem_sample(
                    k,
                    2,
                    |job| floor.run(job),
                    |i| {
                        let slot: Slot = Arc::default();
                        let s = Arc::clone(&slot);
                        floor.run(move || slot_fill(&s, i));
                        slot
                    },
                    |slot| slot_take(&slot),
                )
            }),
            contender("rusty_pool JoinHandle", Role::Peer, || {
                mem_sample(
                    k,
                    2,
                    |job| rp.execute(job),
                    |i| rp.evaluate(move || i),
                    |h| h.await_complete(),
                )
            }),
            contender("threadpool + per-job channel", Role::Peer, || {
                mem_sample(
                    k,
                    2,
                    |job| tp.execute(job),
                    |i| {
                        let (tx, rx) = cb::bounded(1);
                        tp.execute(move || {
                            let _ = tx.send(i);
                        });
                        rx
                    },
                    |rx| rx.recv().expect("result"),
                )
            }),
            contender("rayon + per-job channel", Role::Peer, || {
                mem_sample(
                    k,
                    2,
                    |job| ry.spawn(job),
                    |i| {
                        let (tx, rx) = cb::bounded(1);
                        ry.spawn(move || {
                            let _ = tx.send(i);
                        });
                        rx
                    },
                    |rx| rx.recv().expect("result"),
                )
            }),
            contender("tokio JoinHandle (spawn_blocking)", Role::Peer, || {
                mem_sample(
                    k,
                    2,
                    |job| drop(rt.spawn_blocking(job)),
                    |i| rt.spawn_blocking(move || i),
                    |h| rt.block_on(h).expect("result"),
                )
            }),
            contender("pymt Task<u64>", Role::Pymt, || {
                // A fresh pool per sample: a pool's main lane keeps the
                // segments of its longest backlog for reuse, and a reused
                // pool would not count them again.
                let pool = pymt_pool(2);
                mem_sample(
                    k,
                    2,
                    |job| drop(pool.submit(job)),
                    |i| pool.submit(move || i),
                    |t| t.join().expect("result"),
                )
            }),
        ],
    )
}

/// A cheap deterministic spread of priorities in -50..=50.
fn priority_of(i: u64) -> i32 {
    let x = i
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((x >> 33) % 101) as i32 - 50
}

fn w7_priority(cfg: &Config) -> Workload {
    let n = cfg.submits;
    let pool = pymt_pool(2);
    interleave(
        cfg,
        "W7",
        "priority submit vs plain submit: N submit, then join each (per job)",
        Unit::Nanos,
        vec![
            contender("pymt submit (priority 0)", Role::Floor, || {
                let t = Instant::now();
                let handles: Vec<_> = (0..n).map(|i| pool.submit(move || i)).collect();
                let sum: u64 = handles.into_iter().map(|h| h.join().expect("ok")).sum();
                let e = t.elapsed();
                check_sum(sum, n);
                per_op(e, n)
            }),
            contender("pymt submit_with_priority (-50..=50)", Role::Pymt, || {
                let t = Instant::now();
                let handles: Vec<_> = (0..n)
                    .map(|i| pool.submit_with_priority(priority_of(i), move || i))
                    .collect();
                let sum: u64 = handles.into_iter().map(|h| h.join().expect("ok")).sum();
                let e = t.elapsed();
                check_sum(sum, n);
                per_op(e, n)
            }),
        ],
    )
}

#[pymt::threaded(pool_name = "bench")]
fn on_bench_pool(i: u64) -> u64 {
    i
}

fn w8_named_pool(cfg: &Config) -> Workload {
    let n = cfg.submits;
    let pool = pymt::Pool::builder()
        .name("bench")
        .max_workers(2)
        .min_workers(2)
        .build()
        .expect("pool \"bench\"");
    let w = interleave(
        cfg,
        "W8",
        "#[threaded(pool_name)] call vs pool.submit, same named pool: N calls, then join each (per job)",
        Unit::Nanos,
        vec![
            contender("pymt pool.submit on \"bench\"", Role::Floor, || {
                let t = Instant::now();
                let handles: Vec<_> = (0..n).map(|i| pool.submit(move || i)).collect();
                let sum: u64 = handles.into_iter().map(|h| h.join().expect("ok")).sum();
                let e = t.elapsed();
                check_sum(sum, n);
                per_op(e, n)
            }),
            contender("pymt #[threaded(pool_name = \"bench\")] call", Role::Pymt, || {
                let t = Instant::now();
                let handles: Vec<_> = (0..n).map(on_bench_pool).collect();
                let sum: u64 = handles.into_iter().map(|h| h.join().expect("ok")).sum();
                let e = t.elapsed();
                check_sum(sum, n);
                per_op(e, n)
            }),
        ],
    );
    // Both contenders ran on this one pool: n jobs per sample, warm-up included.
    let expected = 2 * n as usize * (cfg.reps + 1);
    let completed = pool.stats().completed;
    assert!(
        completed >= expected,
        "the attribute's calls ran on the pool named \"bench\" ({completed} < {expected})"
    );
    assert!(pool.join(LONG));
    w
}

/// CPU nanoseconds per thread of this process: `(tid, name, ns)`, from
/// `/proc/self/task/*/schedstat` (first field: time on CPU, in ns).
fn thread_cpu() -> Vec<(u32, String, u64)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let path = entry.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let ns = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()));
        if let Some(ns) = ns {
            out.push((tid, name.trim().to_owned(), ns));
        }
    }
    out
}

fn w9_idle(cfg: &Config) -> Workload {
    const WORKERS: usize = 8;
    let idle = pymt::Pool::builder()
        .name("idle8")
        .max_workers(WORKERS)
        .min_workers(WORKERS)
        .build()
        .expect("pool idle8");
    let rp = rusty("rpidle", WORKERS);
    let tp = threadpool("tpidle", WORKERS);
    // Give every pool something to do once, so every thread has started.
    for _ in 0..WORKERS {
        drop(idle.submit(|| {}));
        rp.execute(|| {});
        tp.execute(|| {});
    }
    assert!(idle.wait_completion(LONG));
    rp.join();
    tp.join();
    let (stop_tx, stop_rx) = cb::bounded::<()>(0);
    let floor: Vec<_> = (0..WORKERS)
        .map(|i| {
            let rx = stop_rx.clone();
            thread::Builder::new()
                .name(format!("stdidle-{i}"))
                .spawn(move || {
                    let _ = rx.recv();
                })
                .expect("spawn")
        })
        .collect();
    thread::sleep(cfg.idle_window.min(Duration::from_millis(200)));

    // The pools are measured in the same windows (they do not interact when
    // idle), one window per repetition.
    let prefixes = [
        ("std threads blocked in recv", Role::Floor, "stdidle-"),
        ("rusty_pool, 8 core threads", Role::Peer, "rpidle_thread_"),
        ("threadpool, 8 threads", Role::Peer, "tpidle"),
        ("pymt Pool, min_workers 8", Role::Pymt, "idle8-"),
    ];
    eprint!("  W9 idle pools of 8 workers ");
    let mut samples = vec![Vec::new(); prefixes.len()];
    let mut seen = vec![0usize; prefixes.len()];
    for _ in 0..cfg.reps {
        let before: HashMap<u32, (String, u64)> = thread_cpu()
            .into_iter()
            .map(|(tid, name, ns)| (tid, (name, ns)))
            .collect();
        let t = Instant::now();
        thread::sleep(cfg.idle_window);
        let after = thread_cpu();
        let secs = t.elapsed().as_secs_f64();
        for (i, (_, _, prefix)) in prefixes.iter().enumerate() {
            let mut cpu_ns = 0u64;
            let mut threads = 0;
            for (tid, name, ns) in &after {
                if let Some((_, ns0)) = before.get(tid).filter(|(n, _)| n == name) {
                    if name.starts_with(prefix) {
                        cpu_ns += ns.saturating_sub(*ns0);
                        threads += 1;
                    }
                }
            }
            seen[i] = seen[i].max(threads);
            samples[i].push(cpu_ns as f64 / 1e3 / secs);
        }
        eprint!(".");
    }
    eprintln!();
    for ((name, _, _), n) in prefixes.iter().zip(&seen) {
        if *n != WORKERS {
            eprintln!("  note: W9 found {n} threads for {name}, expected {WORKERS}");
        }
    }
    drop(stop_tx);
    for t in floor {
        let _ = t.join();
    }
    assert!(idle.join(LONG));
    Workload {
        id: "W9",
        title: "CPU burnt by an idle pool of 8 workers (per second of wall time)",
        unit: Unit::CpuMicrosPerSec,
        rows: prefixes
            .iter()
            .zip(samples)
            .map(|((name, role, _), samples)| Row {
                contender: (*name).to_owned(),
                role: *role,
                samples,
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------

fn ratio(value: f64, base: Option<f64>) -> String {
    match base {
        Some(b) if b > 0.0 && value.is_finite() => format!("{:.2}x", value / b),
        _ => "—".to_owned(),
    }
}

fn markdown_table(workloads: &[Workload], reps: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| workload | contender | min | median | vs floor | vs best peer |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|");
    for w in workloads {
        let floor = w.floor();
        let best = w.best_peer();
        for (i, r) in w.rows.iter().enumerate() {
            let label = if i == 0 {
                format!("**{}** {}", w.id, w.title)
            } else {
                String::new()
            };
            // `<u64>` would read as an HTML tag in rendered markdown.
            let contender = r.contender.replace('<', "&lt;").replace('>', "&gt;");
            let name = match r.role {
                Role::Floor => format!("{contender} *(floor)*"),
                Role::Pymt => format!("**{contender}**"),
                Role::Peer => contender,
            };
            let _ = writeln!(
                s,
                "| {label} | {name} | {} | {} | {} | {} |",
                w.unit.format(r.min()),
                w.unit.format(r.median()),
                ratio(r.median(), floor),
                ratio(r.median(), best),
            );
        }
    }
    let _ = writeln!(
        s,
        "\nmin and median of {reps} interleaved repetitions; ratios are of medians."
    );
    s
}

struct Target {
    what: &'static str,
    measured: Option<f64>,
    limit: f64,
    unit: &'static str,
    /// True when the target is a strict `<`.
    strict: bool,
}

fn find<'a>(workloads: &'a [Workload], id: &str) -> Option<&'a Workload> {
    workloads.iter().find(|w| w.id == id)
}

fn rel(workloads: &[Workload], id: &str, who: &str, base: &str) -> Option<f64> {
    let w = find(workloads, id)?;
    let a = w.median_of(who)?;
    let b = w.median_of(base)?;
    (b > 0.0).then(|| a / b)
}

/// The worse of the ratio of medians and the ratio of minimums. For a
/// contender whose median noise inflates more than the base's (W2's floor:
/// a bare channel whose threads park and wake more often), the ratio of
/// medians alone flatters it; the minimums are the quiet-machine costs.
fn rel_worst(workloads: &[Workload], id: &str, who: &str, base: &str) -> Option<f64> {
    let w = find(workloads, id)?;
    let (a, b) = (w.min_of(who)?, w.min_of(base)?);
    let by_min = (b > 0.0).then(|| a / b)?;
    Some(rel(workloads, id, who, base)?.max(by_min))
}

fn targets(workloads: &[Workload]) -> Vec<Target> {
    let ratio_target = |what, measured, limit| Target {
        what,
        measured,
        limit,
        unit: "x",
        strict: false,
    };
    vec![
        ratio_target(
            "bare `#[threaded]` call + join ≤ 1.1x std spawn + join",
            rel(workloads, "W1", "pymt #[threaded]", "std::thread"),
            1.1,
        ),
        ratio_target(
            "fire-and-forget (`execute`) ≤ 1.0x rusty_pool",
            rel(workloads, "W2", "pymt execute", "rusty_pool"),
            1.0,
        ),
        ratio_target(
            "fire-and-forget (`execute`) ≤ 1.3x the crossbeam floor (worse of the median and min ratios)",
            rel_worst(workloads, "W2", "pymt execute", "crossbeam"),
            1.3,
        ),
        ratio_target(
            "handle throughput ≤ 0.9x rusty_pool evaluate",
            rel(workloads, "W3", "pymt", "rusty_pool"),
            0.9,
        ),
        ratio_target(
            "round trip ≤ 1.2x the crossbeam floor",
            rel(workloads, "W4", "pymt", "crossbeam"),
            1.2,
        ),
        ratio_target(
            "Limiter uncontended acquire+release ≤ 2.5x std Mutex",
            rel(workloads, "W5", "pymt", "std Mutex"),
            2.5,
        ),
        ratio_target(
            "the same from a user's crate ≤ 2.5x std Mutex",
            rel(workloads, "W5u", "pymt", "std Mutex"),
            2.5,
        ),
        ratio_target(
            "`#[limiter(4)]` fn from a user's crate ≤ 2.5x a static-Mutex fn",
            rel(workloads, "W5bu", "pymt", "fn with"),
            2.5,
        ),
        Target {
            what: "peak live heap per outstanding `Task<u64>` ≤ 96 B",
            measured: find(workloads, "W6").and_then(|w| w.median_of("pymt")),
            limit: 96.0,
            unit: " B",
            strict: false,
        },
        ratio_target(
            "priority submit ≤ 1.5x plain submit",
            rel(
                workloads,
                "W7",
                "pymt submit_with",
                "pymt submit (priority 0)",
            ),
            1.5,
        ),
        ratio_target(
            "`#[threaded(pool_name)]` ≤ 1.05x `pool.submit`",
            rel(workloads, "W8", "pymt #[threaded", "pymt pool.submit"),
            1.05,
        ),
        Target {
            what: "idle pool of 8 workers < 1 ms CPU per second",
            measured: find(workloads, "W9").and_then(|w| w.median_of("pymt")),
            limit: 1000.0,
            unit: " µs/s",
            strict: true,
        },
    ]
}

fn targets_table(targets: &[Target]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "| target (issues 6 and 11) | measured | met |");
    let _ = writeln!(s, "|---|---:|:---:|");
    for t in targets {
        let (measured, met) = match t.measured {
            Some(m) => {
                let ok = if t.strict { m < t.limit } else { m <= t.limit };
                let shown = if t.unit == "x" {
                    format!("{m:.2}x")
                } else {
                    format!("{m:.1}{}", t.unit)
                };
                (shown, if ok { "yes" } else { "**no**" })
            }
            None => ("—".to_owned(), "—"),
        };
        let _ = writeln!(s, "| {} | {measured} | {met} |", t.what);
    }
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The "nice" numbers 1, 2, 5 × 10^k from `lo` to `hi`, inclusive.
fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut decade = 10f64.powf(lo.log10().floor());
    while decade <= hi * 1.0001 {
        for m in [1.0, 2.0, 5.0] {
            let t = decade * m;
            if t >= lo * 0.9999 && t <= hi * 1.0001 {
                ticks.push(t);
            }
        }
        decade *= 10.0;
    }
    ticks
}

/// A horizontal bar chart of each contender's ratio to its workload's floor,
/// on a log scale, bars growing from the 1x line (left: faster than the
/// floor, right: slower). Workloads without a meaningful floor (W9, where
/// the floor burns no CPU at all) are left to the table.
fn svg_chart(workloads: &[Workload], machine: &str) -> String {
    let charted: Vec<&Workload> = workloads.iter().filter(|w| w.floor().is_some()).collect();
    let mut max_ratio: f64 = 2.0;
    let mut min_ratio: f64 = 0.5;
    for w in &charted {
        let floor = w.floor().unwrap_or(1.0);
        for r in w.rows.iter().filter(|r| r.role != Role::Floor) {
            let x = r.median() / floor;
            if x.is_finite() && x > 0.0 {
                max_ratio = max_ratio.max(x);
                min_ratio = min_ratio.min(x);
            }
        }
    }
    // Round the range out to nice numbers (…, 0.2, 0.5, 1, 2, 5, 10, …).
    let all_ticks = nice_ticks(min_ratio / 10.0, max_ratio * 10.0);
    let lo = all_ticks
        .iter()
        .copied()
        .filter(|&t| t <= min_ratio)
        .fold(0.0f64, f64::max)
        .clamp(f64::MIN_POSITIVE, 0.5);
    let hi = all_ticks
        .iter()
        .copied()
        .find(|&t| t >= max_ratio)
        .unwrap_or(max_ratio);
    let ticks = nice_ticks(lo, hi);

    let (left, plot_w, right) = (330.0, 500.0, 70.0);
    let width = left + plot_w + right;
    let (row_h, head_h, top) = (18.0, 24.0, 84.0);
    let x_of = |r: f64| left + (r.log10() - lo.log10()) / (hi.log10() - lo.log10()) * plot_w;

    let mut body = String::new();
    let mut y = top;
    for w in &charted {
        let floor = w.floor().unwrap_or(1.0);
        let _ = writeln!(
            body,
            r#"<text x="8" y="{:.1}" class="head">{} {}</text>"#,
            y + 16.0,
            w.id,
            xml_escape(w.title)
        );
        y += head_h;
        let rows: Vec<&Row> = w.rows.iter().filter(|r| r.role != Role::Floor).collect();
        // Grid lines for this group only, so they never cross its heading.
        let group_bottom = y + row_h * rows.len() as f64;
        for &t in &ticks {
            let class = if (t - 1.0).abs() < 1e-9 {
                "one"
            } else {
                "grid"
            };
            let x = x_of(t);
            let _ = writeln!(
                body,
                r#"<line x1="{x:.1}" y1="{y:.1}" x2="{x:.1}" y2="{group_bottom:.1}" class="{class}"/>"#
            );
        }
        for r in rows {
            let ratio = r.median() / floor;
            let class = if r.role == Role::Pymt { "pymt" } else { "peer" };
            let _ = writeln!(
                body,
                r#"<text x="{:.1}" y="{:.1}" class="label" text-anchor="end">{}</text>"#,
                left - 8.0,
                y + 13.0,
                xml_escape(&r.contender)
            );
            if ratio.is_finite() && ratio > 0.0 {
                let (x0, x1) = (x_of(1.0), x_of(ratio.clamp(lo, hi)));
                let _ = writeln!(
                    body,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" class="{class}"/>"#,
                    x0.min(x1),
                    y + 3.0,
                    (x1 - x0).abs().max(1.0),
                    row_h - 6.0
                );
                let _ = writeln!(
                    body,
                    r#"<text x="{:.1}" y="{:.1}" class="value">{ratio:.2}x</text>"#,
                    x0.max(x1) + 4.0,
                    y + 13.0
                );
            }
            y += row_h;
        }
    }
    let height = y + 44.0;

    let mut axis = String::new();
    for &t in &ticks {
        let label = if t < 1.0 {
            format!("{t}x")
        } else {
            format!("{t:.0}x")
        };
        let _ = writeln!(
            axis,
            r#"<text x="{:.1}" y="{:.1}" class="tick" text-anchor="middle">{label}</text>"#,
            x_of(t),
            top - 4.0
        );
    }

    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif">
<style>
.title {{ font-size: 15px; font-weight: bold; fill: #222; }}
.sub {{ font-size: 11px; fill: #555; }}
.head {{ font-size: 12px; font-weight: bold; fill: #222; }}
.label {{ font-size: 11px; fill: #333; }}
.value {{ font-size: 10px; fill: #333; }}
.tick {{ font-size: 10px; fill: #555; }}
.grid {{ stroke: #ddd; stroke-width: 1; }}
.one {{ stroke: #222; stroke-width: 1.5; }}
.pymt {{ fill: #e8741c; }}
.peer {{ fill: #7f9fbf; }}
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="8" y="20" class="title">pymt vs peers: median as a ratio to each workload's hand-written floor (log scale, lower is better)</text>
<text x="8" y="38" class="sub">{machine}</text>
<rect x="8" y="48" width="10" height="10" class="pymt"/><text x="22" y="57" class="sub">pymt</text>
<rect x="62" y="48" width="10" height="10" class="peer"/><text x="76" y="57" class="sub">peer crates</text>
{axis}{body}<text x="8" y="{foot1:.1}" class="sub">1x = the floor row of each workload (see the table); bars left of the line are faster than the floor. W9 (idle CPU) is in the table only: its floor burns no CPU.</text>
<text x="8" y="{foot2:.1}" class="sub">Medians of interleaved repetitions in one run; generated by benches/compare.rs.</text>
</svg>
"##,
        machine = xml_escape(machine),
        foot1 = y + 22.0,
        foot2 = y + 38.0,
    )
}

// ---------------------------------------------------------------------------
// Machine information
// ---------------------------------------------------------------------------

fn first_line_with(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn rustc_version() -> String {
    std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned()))
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "rustc (version unknown)".to_owned())
}

/// `name version` of each peer, as locked in the workspace's Cargo.lock.
fn peer_versions(root: &Path) -> String {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let mut found = Vec::new();
    for name in [
        "rusty_pool",
        "threadpool",
        "rayon",
        "tokio",
        "crossbeam-channel",
    ] {
        let needle = format!("name = \"{name}\"\nversion = \"");
        if let Some(at) = lock.find(&needle) {
            let rest = &lock[at + needle.len()..];
            if let Some(end) = rest.find('"') {
                found.push(format!("{name} {}", &rest[..end]));
            }
        }
    }
    found.join(", ")
}

/// Today's date (UTC), `YYYY-MM-DD`.
fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

/// One workload's measurement pass.
type Pass = fn(&Config) -> Workload;

fn main() {
    let cfg = Config::from_env();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cores = thread::available_parallelism().map_or(0, |n| n.get());
    let cpu =
        first_line_with("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    let rustc = rustc_version();
    let peers = peer_versions(&root);
    let load_before = loadavg();
    let started = Instant::now();
    let mode = if cfg.quick {
        "quick (PYMT_BENCH_QUICK=1: small N, numbers are not meaningful)"
    } else {
        "full"
    };

    eprintln!(
        "pymt benches/compare.rs: {mode} mode, {} repetitions",
        cfg.reps
    );
    // PYMT_BENCH_ONLY=W2,W3 runs a subset (for working on one number); a
    // partial run never overwrites docs/.
    let only: Option<Vec<String>> = std::env::var("PYMT_BENCH_ONLY")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.split(',').map(|s| s.trim().to_uppercase()).collect());
    let wanted = |id: &str| {
        only.as_ref()
            .map_or(true, |ids| ids.iter().any(|i| i == id))
    };
    let passes: [(&str, Pass); 12] = [
        ("W1", w1_bare_thread),
        ("W2", w2_fire_and_forget),
        ("W3", w3_handle_throughput),
        ("W4", w4_round_trip),
        ("W5", w5_semaphore),
        ("W5B", w5b_limiter_fn),
        ("W5U", w5u_semaphore_user),
        ("W5BU", w5bu_limiter_fn_user),
        // Separate short pass: the only one in which the allocator counts.
        ("W6", w6_memory),
        ("W7", w7_priority),
        ("W8", w8_named_pool),
        ("W9", w9_idle),
    ];
    let workloads: Vec<Workload> = passes
        .into_iter()
        .filter(|(id, _)| wanted(id))
        .map(|(_, pass)| pass(&cfg))
        .collect();
    let load_after = loadavg();
    let elapsed = started.elapsed();

    let machine = format!(
        "{cores} cores ({cpu}), Linux {kernel}, {rustc}; load average {load_before} before, {load_after} after; {}",
        today()
    );
    let mut md = String::new();
    let _ = writeln!(md, "Machine: {machine}.  ");
    let _ = writeln!(md, "Peers: {peers}.  ");
    let _ = writeln!(
        md,
        "Mode: {mode}; {} interleaved repetitions per workload; run took {:.0} s.\n",
        cfg.reps,
        elapsed.as_secs_f64()
    );
    md.push_str(&markdown_table(&workloads, cfg.reps));
    md.push('\n');
    md.push_str(&targets_table(&targets(&workloads)));
    let _ = writeln!(
        md,
        "\nNotes: W2 waits for completion with each contender's own mechanism \
         (rusty_pool/threadpool `join`, pymt `wait_completion`); the floor, rayon and \
         tokio use a latch of one barrier job per worker (FIFO queues, 2 workers). \
         Pools are built once per workload with 2 workers started up front \
         (pymt: `max_workers(2).min_workers(2)`), except W6's pymt pool, built \
         afresh for each sample: its main lane keeps the segments of its longest \
         backlog for reuse, which a reused pool would not count again. W6 holds both workers with blocking \
         jobs, submits K = {} jobs returning a `u64` and keeps the handles: the peak \
         of live heap bytes during those K submissions (handle, shared state, boxed \
         closure and queue entry, amortised, growth transients included), divided by \
         K. The counting allocator counts only in that pass; the other passes pay one \
         relaxed atomic load per allocation. W9 reads the pools' threads' CPU time from \
         `/proc/self/task/*/schedstat`, all pools in the same windows of {:.1} s.",
        cfg.mem_handles,
        cfg.idle_window.as_secs_f64()
    );
    println!("\n{md}");

    let svg = svg_chart(&workloads, &machine);
    let out_dir = if cfg.quick || only.is_some() {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"))
            .join("pymt-bench-quick")
    } else {
        root.join("docs")
    };
    // Sections other tools maintain (the allocation table of
    // tests/allocs_per_call.rs, the output of scripts/build-cost.sh) survive
    // a rewrite: everything from the first of them on.
    const KEPT: [&str; 2] = ["\n## Allocations per call", "\n## Build cost"];
    let kept = std::fs::read_to_string(out_dir.join("bench.md"))
        .ok()
        .and_then(|old| {
            KEPT.iter()
                .filter_map(|heading| old.find(heading))
                .min()
                .map(|at| old[at..].to_owned())
        })
        .unwrap_or_default();
    let md = format!("{}\n{kept}", md.trim_end());
    match std::fs::create_dir_all(&out_dir)
        .and_then(|()| std::fs::write(out_dir.join("bench.md"), &md))
        .and_then(|()| std::fs::write(out_dir.join("bench.svg"), &svg))
    {
        Ok(()) => eprintln!("wrote {0}/bench.md and {0}/bench.svg", out_dir.display()),
        Err(error) => eprintln!("could not write {}: {error}", out_dir.display()),
    }
}
