//! The `concurrent.futures` download example (seed 001), in pymt.
//!
//! The Python original downloads ten pages of docs.python.org with a
//! `ThreadPoolExecutor` and `urlopen`. Here [`ureq`] is the HTTP client and
//! the pages come from a small [`tiny_http`] server that the example starts
//! on 127.0.0.1 (port 0, so any free port): a real HTTP stack, no network.
//!
//! Three more URLs fail in the three usual ways, and the example checks that
//! each fails for the reason expected:
//!
//! - a page the server does not have: HTTP status 404;
//! - a port nobody listens on: the connection is refused;
//! - a page the server takes 2 s to send: the client's 500 ms timeout fires.
//!
//! A failure is a value (`Failure`), never a crash; the example asserts what
//! it prints and exits 0.
//!
//! Run with `cargo run --example download_docs`.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, LazyLock};
use std::thread;
use std::time::Duration;

use pymt::{limiter, threaded, Pool, ReturnWhen, Task, TaskError, TaskId};
use tiny_http::{Header, Request, Response, Server};
use ureq::Agent;

/// Bound of every blocking wait on a task or a pool in this example.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The client gives up on a request after this long: Python's
/// `urlopen(url, timeout=...)`. Short, so that the slow page costs little,
/// but far above the few milliseconds a page takes, even on a loaded machine.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(500);
/// How long the server takes to answer `SLOW_PAGE`: far past `CLIENT_TIMEOUT`.
const SLOW_RESPONSE: Duration = Duration::from_secs(2);
/// At most this many requests of `fetch` in flight at once.
const MAX_CONNECTIONS: usize = 3;

/// The pages our local "docs.python.org" serves.
const PAGES: [&str; 10] = [
    "concurrency.html",
    "concurrent.html",
    "concurrent.futures.html",
    "threading.html",
    "multiprocessing.html",
    "multiprocessing.shared_memory.html",
    "subprocess.html",
    "queue.html",
    "sched.html",
    "contextvars.html",
];
/// The page the server answers only after `SLOW_RESPONSE`.
const SLOW_PAGE: &str = "slow-page.html";

/// The HTTP client every download shares. Its timeout covers a whole
/// request: connect, send, wait for the answer, read the body.
static AGENT: LazyLock<Agent> = LazyLock::new(|| {
    Agent::config_builder()
        .timeout_global(Some(CLIENT_TIMEOUT))
        // Loopback only: an `HTTP_PROXY` in the environment must not reroute it.
        .proxy(None)
        .build()
        .into()
});

fn main() {
    // Some downloads below panic on purpose (a panic is what
    // `FIRST_EXCEPTION` waits for); pymt turns each into a value. Keep the
    // default hook's report of them to its first lines, without a backtrace.
    std::panic::set_hook(Box::new(|info| eprintln!("{info}")));

    let server = DocServer::start();
    let urls = Urls::new(&server.origin());
    let dir = std::env::temp_dir().join(format!("pymt-download-docs-{}", std::process::id()));

    println!(
        "serving {} pages on {} (tiny_http); client: ureq, timeout {CLIENT_TIMEOUT:?}",
        PAGES.len(),
        server.origin()
    );
    download_docs(&urls, &dir);
    futures_api(&urls);
    wait_modes(&urls);

    assert!(Pool::join_pools(TIMEOUT), "the \"downloads\" pool finishes");
    server.stop();
    fs::remove_dir_all(&dir).expect("remove the downloaded files");

    println!("\n== report (each line asserted above)");
    println!("{:<30} HTTP 200", format!("{} pages", PAGES.len()));
    for (url, failure) in &urls.bad {
        println!("{:<30} {failure}", shown(url));
    }
}

// ===== what a download gives =====

/// A page as the server sent it.
#[derive(Clone, Debug)]
struct Page {
    status: u16,
    body: Vec<u8>,
}

/// Why a download failed: Python's `download_url` returns `None` for all of
/// them; here the reason travels with the result.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Failure {
    /// The server answered with an error status (ureq turns 4xx and 5xx
    /// into `ureq::Error::StatusCode`).
    Status(u16),
    /// Nothing listens on the port.
    Refused,
    /// No complete answer within `CLIENT_TIMEOUT`.
    TimedOut,
    /// Anything else, as ureq or the file system reported it.
    Other(String),
}

impl From<ureq::Error> for Failure {
    fn from(error: ureq::Error) -> Self {
        match error {
            ureq::Error::StatusCode(code) => Failure::Status(code),
            ureq::Error::Timeout(_) => Failure::TimedOut,
            ureq::Error::Io(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                Failure::Refused
            }
            other => Failure::Other(other.to_string()),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status(code) => write!(f, "HTTP status {code}"),
            Failure::Refused => f.write_str("connection refused"),
            Failure::TimedOut => write!(f, "no answer within {CLIENT_TIMEOUT:?}"),
            Failure::Other(message) => f.write_str(message),
        }
    }
}

/// The URLs every section downloads, and how each bad one must fail.
struct Urls {
    /// The ten pages, then the bad URLs.
    all: Vec<String>,
    /// Each bad URL with its failure, in the order of `all`.
    bad: Vec<(String, Failure)>,
}

impl Urls {
    fn new(origin: &str) -> Urls {
        let page = |name: &str| format!("{origin}/3/library/{name}");
        let bad = vec![
            // The server answers 404.
            (page("no-such-page.html"), Failure::Status(404)),
            // Nothing listens there.
            (
                format!("http://{}/3/library/asyncio.html", closed_port()),
                Failure::Refused,
            ),
            // The server answers after SLOW_RESPONSE, the client gives up before.
            (page(SLOW_PAGE), Failure::TimedOut),
        ];
        let all = PAGES
            .iter()
            .map(|name| page(name))
            .chain(bad.iter().map(|(url, _)| url.clone()))
            .collect();
        Urls { all, bad }
    }

    /// Asserts that exactly the bad URLs failed, each for its reason.
    fn check(&self, mut failures: Vec<(String, Failure)>) {
        failures.sort_by_key(|(url, _)| self.all.iter().position(|u| u == url));
        assert_eq!(failures, self.bad);
    }
}

/// ```python
/// def download_url(url):
///     try:
///         with urlopen(url, timeout=3) as connection:
///             return connection.read()
///     except:
///         return None
/// ```
///
/// The timeout is the agent's (`CLIENT_TIMEOUT`).
fn download_url(url: &str) -> Result<Page, Failure> {
    let mut response = AGENT
        .get(url)
        // One request per connection. tiny_http serves each open connection
        // on one of a few threads, and a new connection may wait for one of
        // them: closing frees the thread as soon as the page is sent, so a
        // burst of downloads never waits behind connections kept alive.
        .header("Connection", "close")
        .call()?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_vec()?;
    Ok(Page { status, body })
}

// ===== the seed's example =====

/// ```python
/// def save_file(url, data, path):
///     filename = basename(url)
///     outpath = join(path, filename)
///     with open(outpath, 'wb') as file:
///         file.write(data)
///     return outpath
/// ```
fn save_file(url: &str, data: &[u8], path: &Path) -> io::Result<PathBuf> {
    let filename = url.rsplit('/').next().unwrap_or("index.html");
    let outpath = path.join(filename);
    fs::write(&outpath, data)?;
    Ok(outpath)
}

/// ```python
/// def download_and_save(url, path):
///     data = download_url(url)
///     if data is None:
///         print(f'>Error downloading {url}')
///         return
///     outpath = save_file(url, data, path)
///     print(f'>Saved {url} to {outpath}')
/// ```
///
/// Also returns where the file went, or why nothing was saved.
fn download_and_save(url: &str, path: &Path) -> Result<PathBuf, Failure> {
    let page = download_url(url).inspect_err(|failure| {
        println!(">Error downloading {} ({failure})", shown(url));
    })?;
    let outpath = save_file(url, &page.body, path)
        .map_err(|error| Failure::Other(format!("saving: {error}")))?;
    let filename = outpath.file_name().unwrap_or_default().to_string_lossy();
    println!(
        ">Saved {} (HTTP {}) to docs/{filename}",
        shown(url),
        page.status
    );
    Ok(outpath)
}

/// ```python
/// def download_docs(urls, path):
///     makedirs(path, exist_ok=True)
///     n_threads = len(urls)
///     with ThreadPoolExecutor(n_threads) as executor:
///         _ = [executor.submit(download_and_save, url, path) for url in urls]
/// ```
///
/// Leaving the `with` block is `executor.shutdown(wait=True)`: `join`.
fn download_docs(urls: &Urls, path: &Path) {
    println!("\n== download_docs (the seed's example; lines in completion order)");
    fs::create_dir_all(path).expect("create the download directory");
    let executor = Pool::builder()
        .max_workers(urls.all.len())
        .build()
        .expect("valid settings");
    let futures: Vec<(&String, Task<Result<PathBuf, Failure>>)> = urls
        .all
        .iter()
        .map(|url| {
            let (owned, path) = (url.clone(), path.to_path_buf());
            (
                url,
                executor.submit(move || download_and_save(&owned, &path)),
            )
        })
        .collect();
    assert!(executor.join(TIMEOUT), "every download finishes");

    let mut saved = 0;
    let mut failures = Vec::new();
    for (url, future) in futures {
        match future.join().expect("download_and_save never panics") {
            Ok(_) => saved += 1,
            Err(failure) => failures.push((url.clone(), failure)),
        }
    }
    println!("{saved} of {} URLs saved", urls.all.len());
    assert_eq!(saved, PAGES.len());
    assert_eq!(
        fs::read_dir(path).expect("read the directory").count(),
        saved
    );
    urls.check(failures);
}

// ===== Future: result, exception, cancel, done callbacks =====

/// The size of a page, or why there is none.
fn page_size(url: &str) -> Result<usize, Failure> {
    download_url(url).map(|page| page.body.len())
}

/// `Executor.submit` / `map`, and the `Future` methods of the notes.
fn futures_api(urls: &Urls) {
    println!("\n== the Future API");
    let executor = Pool::builder()
        .max_workers(3)
        .build()
        .expect("valid settings");

    // executor.map(fn, items): results in input order.
    let sizes: Vec<Result<usize, Failure>> = executor
        .map(|url: String| page_size(&url), urls.all[..3].to_vec())
        .into_iter()
        .map(|t| t.result_timeout(TIMEOUT).expect("map task"))
        .collect();
    println!("map over the first 3 URLs, in input order: {sizes:?}");
    assert!(sizes.iter().all(Result::is_ok));

    // future = executor.submit(fn, arg); future.result(timeout=...)
    let url = urls.all[0].clone();
    let future = executor.submit(move || page_size(&url));
    let result = future.result_timeout(TIMEOUT);
    println!("result(timeout=10): {result:?}");
    assert!(matches!(result, Ok(Ok(_))));
    println!(
        "done(): {}, running(): {}, cancelled(): {}",
        future.is_done(),
        future.is_running(),
        future.is_cancelled()
    );

    // exception(): the panic, if the body raised one.
    let (refused, _) = urls.bad[1].clone();
    let raising = executor.submit(move || download_url(&refused).expect("download failed").status);
    match raising.error() {
        Some(TaskError::Panicked { message }) => {
            println!("exception(): {message}");
            assert_eq!(message, "download failed: Refused");
        }
        other => panic!("expected a panic, got {other:?}"),
    }

    // add_done_callback(fn): runs once, on the thread that finishes the task.
    let (tx, rx) = mpsc::channel();
    let (missing, _) = urls.bad[0].clone();
    let watched = executor.submit(move || page_size(&missing));
    watched.on_done(move |result| {
        let _ = tx.send(result.clone());
    });
    let seen = rx.recv_timeout(TIMEOUT).expect("the callback runs");
    println!("done callback got {seen:?}");
    assert_eq!(seen, Ok(Err(Failure::Status(404))));

    // cancel(): only a task that has not started can be cancelled.
    let (started, is_started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let single = Pool::builder()
        .max_workers(1)
        .build()
        .expect("valid settings");
    let busy = single.submit(move || {
        started.send(()).expect("main waits");
        let _ = released.recv_timeout(TIMEOUT);
    });
    is_started
        .recv_timeout(TIMEOUT)
        .expect("the worker is busy");
    let url = urls.all[2].clone();
    let queued = single.submit(move || page_size(&url));
    let (busy_cancelled, queued_cancelled) = (busy.cancel(), queued.cancel());
    println!("busy.cancel(): {busy_cancelled}, queued.cancel(): {queued_cancelled}");
    assert!(!busy_cancelled && queued_cancelled);
    println!(
        "queued.cancelled(): {}, result: {:?}",
        queued.is_cancelled(),
        queued.result_timeout(TIMEOUT)
    );
    release.send(()).expect("the busy task waits");
    assert!(busy.wait_timeout(TIMEOUT));
    assert!(single.join(TIMEOUT));
    assert!(executor.join(TIMEOUT));
}

// ===== #[threaded], #[limiter], wait and as_completed =====

/// `download_url` as a pymt user would write it: each call returns a `Task`
/// at once and the body runs on the pool "downloads". Calls past
/// `MAX_CONNECTIONS` wait in the limiter, not on a worker, until a request
/// in flight ends, so the server never sees more at once.
#[limiter(MAX_CONNECTIONS, blocking = false)]
#[threaded(pool_name = "downloads", max_workers = 4)]
fn fetch(url: String) -> Result<Page, Failure> {
    download_url(&url)
}

/// The same download without the `try`: a bad URL raises (panics), which
/// is what `wait(FIRST_EXCEPTION)` watches for. Shares the pool of `fetch`.
#[threaded(pool_name = "downloads")]
fn fetch_or_raise(url: String) -> usize {
    download_url(&url).expect("download failed").body.len()
}

/// ```python
/// done, not_done = wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
/// done, not_done = wait(futures, return_when=concurrent.futures.ALL_COMPLETED)
/// done, not_done = wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION)
///
/// future_to_url = {executor.submit(load_url, url, 60): url for url in URLS}
/// for future in concurrent.futures.as_completed(future_to_url, timeout=...):
///     url = future_to_url[future]
///     try:
///         data = future.result()
///     except Exception as exc:
///         print('%r generated an exception: %s' % (url, exc))
/// ```
fn wait_modes(urls: &Urls) {
    println!("\n== wait(FIRST_COMPLETED), on the pool \"downloads\" through #[threaded]");
    let futures: Vec<Task<Result<Page, Failure>>> = urls.all.iter().cloned().map(fetch).collect();
    let (done, not_done) = pymt::wait(&futures, ReturnWhen::FirstCompleted, TIMEOUT);
    assert!(!done.is_empty(), "at least one finished");
    println!(
        "at least one done ({} done, {} not done when it returned)",
        done.len(),
        not_done.len()
    );

    println!("\n== wait(ALL_COMPLETED)");
    let (done, not_done) = pymt::wait(&futures, ReturnWhen::AllCompleted, TIMEOUT);
    println!("{} done, {} not done", done.len(), not_done.len());
    assert!(not_done.is_empty());
    let failures = urls
        .all
        .iter()
        .zip(&futures)
        .filter_map(|(url, f)| Some((url.clone(), f.result().expect("fetch").err()?)))
        .collect();
    urls.check(failures);

    println!("\n== wait(FIRST_EXCEPTION)");
    let raising: Vec<Task<usize>> = urls
        .bad
        .iter()
        .map(|(url, _)| fetch_or_raise(url.clone()))
        .collect();
    let (done, _) = pymt::wait(&raising, ReturnWhen::FirstException, TIMEOUT);
    let first = done
        .iter()
        .find_map(Task::error)
        .expect("a panicking download is done");
    println!("returned at the first exception: {first}");
    assert!(first.is_panic());

    println!("\n== as_completed (with a timeout)");
    let mut future_to_url: HashMap<TaskId, &String> = HashMap::new();
    let futures: Vec<_> = urls
        .all
        .iter()
        .map(|url| {
            let future = fetch(url.clone());
            future_to_url.insert(future.id(), url);
            future
        })
        .collect();
    let mut completed = pymt::as_completed(futures);
    let (mut pages, mut bytes, mut failures) = (0, 0, Vec::new());
    // Each request gives up after CLIENT_TIMEOUT, so every wait here is short.
    while let Some(next) = completed.next_timeout(TIMEOUT) {
        let future = next.expect("a download ends within the timeout");
        let url = future_to_url[&future.id()];
        match future.join().expect("fetch returns its errors") {
            Ok(page) => {
                assert_eq!(page.status, 200);
                pages += 1;
                bytes += page.body.len();
            }
            Err(failure) => {
                println!("{} generated an error: {failure}", shown(url));
                failures.push((url.clone(), failure));
            }
        }
    }
    println!("{pages} pages downloaded, {bytes} bytes in all");
    assert_eq!(pages, PAGES.len());
    urls.check(failures);
}

// ===== the local server =====

/// The local "docs.python.org": a tiny_http server on 127.0.0.1, its
/// requests answered on a thread of its own.
struct DocServer {
    server: Arc<Server>,
    thread: thread::JoinHandle<()>,
}

impl DocServer {
    fn start() -> DocServer {
        let server = Arc::new(Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0"));
        let requests = Arc::clone(&server);
        let thread = thread::Builder::new()
            .name("doc-server".into())
            // Ends when `stop` unblocks it.
            .spawn(move || requests.incoming_requests().for_each(respond))
            .expect("spawn the server thread");
        DocServer { server, thread }
    }

    fn origin(&self) -> String {
        let addr = self.server.server_addr().to_ip().expect("an IP listener");
        format!("http://{addr}")
    }

    fn stop(self) {
        self.server.unblock();
        self.thread.join().expect("the server thread ends");
    }
}

/// `/3/library/<page>`: 200 and the page, `SLOW_PAGE` after `SLOW_RESPONSE`,
/// anything else 404.
fn respond(request: Request) {
    let html: Header = "Content-Type: text/html; charset=utf-8"
        .parse()
        .expect("a valid header");
    let page = request.url().strip_prefix("/3/library/").map(str::to_owned);
    match page.as_deref() {
        Some(SLOW_PAGE) => {
            // A thread nobody joins, so that it holds up neither the other
            // requests nor the end of the example. By the time it answers,
            // the client has given up and the answer goes nowhere.
            thread::spawn(move || {
                thread::sleep(SLOW_RESPONSE);
                let _ = request.respond(Response::from_string("<html>late</html>"));
            });
        }
        Some(name) if PAGES.contains(&name) => {
            let body = format!("<html><title>{name}</title>{}</html>", "docs ".repeat(200));
            // A client that hung up only loses its own answer.
            let _ = request.respond(Response::from_string(body).with_header(html));
        }
        _ => {
            let body = Response::from_string("<html>not found</html>");
            let _ = request.respond(body.with_status_code(404).with_header(html));
        }
    }
}

/// An address where nothing listens: bind a free port, then let it go.
fn closed_port() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("bound address")
}

/// A URL without its origin (the port changes from run to run).
fn shown(url: &str) -> &str {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    rest.find('/').map_or(url, |i| &rest[i..])
}
