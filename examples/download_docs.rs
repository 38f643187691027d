//! The `concurrent.futures` download example (seed 001), in pymt.
//!
//! The Python original downloads ten pages of docs.python.org with a
//! `ThreadPoolExecutor`. Here the example serves the pages itself, from an
//! HTTP server on 127.0.0.1 (port 0, so any free port) built on
//! `std::net::TcpListener`, and fetches them with a tiny HTTP/1.0 client
//! built on `TcpStream`: no network, no dependency. One URL answers 404 and
//! one points at a closed port; both are reported, nothing crashes.
//!
//! Run with `cargo run --example download_docs`.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use pymt::{Pool, ReturnWhen, Task, TaskError};

/// Bound of every blocking wait in this example.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Python's `urlopen(url, timeout=3)`.
const NET_TIMEOUT: Duration = Duration::from_secs(3);

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

fn main() {
    // Some downloads below panic on purpose (a panic is what
    // `FIRST_EXCEPTION` waits for); pymt turns each into a value. Keep the
    // default hook's report of them to its first lines, without a backtrace.
    std::panic::set_hook(Box::new(|info| eprintln!("{info}")));

    let server = DocServer::start().expect("bind 127.0.0.1:0");
    let dir = std::env::temp_dir().join(format!("pymt-download-docs-{}", std::process::id()));

    let mut urls: Vec<String> = PAGES
        .iter()
        .map(|page| format!("{}/3/library/{page}", server.origin()))
        .collect();
    // Bad URLs: a page the server does not have, and a port nobody listens on.
    urls.push(format!("{}/3/library/no-such-page.html", server.origin()));
    urls.push(format!("http://{}/3/library/asyncio.html", closed_port()));

    println!("serving {} pages on 127.0.0.1", PAGES.len());
    download_docs(&urls, &dir);
    futures_api(&urls);
    wait_modes(&urls);

    server.stop();
    fs::remove_dir_all(&dir).expect("remove the downloaded files");
}

// ===== the seed's example =====

/// Why a download failed: Python's `download_url` returns `None` for all of
/// them; here the reason travels with the result.
#[derive(Debug)]
enum DownloadError {
    BadUrl,
    Io(io::Error),
    Status(u16),
}

impl fmt::Display for DownloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownloadError::BadUrl => f.write_str("not an http:// URL"),
            DownloadError::Io(error) => write!(f, "{error}"),
            DownloadError::Status(code) => write!(f, "HTTP status {code}"),
        }
    }
}

impl From<io::Error> for DownloadError {
    fn from(error: io::Error) -> Self {
        DownloadError::Io(error)
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
fn download_url(url: &str) -> Result<Vec<u8>, DownloadError> {
    let rest = url.strip_prefix("http://").ok_or(DownloadError::BadUrl)?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr: SocketAddr = host.parse().map_err(|_| DownloadError::BadUrl)?;
    let mut stream = TcpStream::connect_timeout(&addr, NET_TIMEOUT)?;
    stream.set_read_timeout(Some(NET_TIMEOUT))?;
    stream.set_write_timeout(Some(NET_TIMEOUT))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let (head, body) = split_head(&response).ok_or(DownloadError::Status(0))?;
    // "HTTP/1.0 200 OK"
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    if status == 200 {
        Ok(body.to_vec())
    } else {
        Err(DownloadError::Status(status))
    }
}

/// Splits an HTTP message at the blank line: (status line and headers, body).
fn split_head(message: &[u8]) -> Option<(String, &[u8])> {
    let end = message.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&message[..end]).into_owned();
    Some((head, &message[end + 4..]))
}

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
/// Also returns where the file went, if anywhere.
fn download_and_save(url: &str, path: &Path) -> Option<PathBuf> {
    let data = match download_url(url) {
        Ok(data) => data,
        Err(error) => {
            println!(">Error downloading {} ({error})", shown(url));
            return None;
        }
    };
    match save_file(url, &data, path) {
        Ok(outpath) => {
            let filename = outpath.file_name().unwrap_or_default().to_string_lossy();
            println!(">Saved {} to docs/{filename}", shown(url));
            Some(outpath)
        }
        Err(error) => {
            println!(">Error saving {} ({error})", shown(url));
            None
        }
    }
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
fn download_docs(urls: &[String], path: &Path) {
    println!("\n== download_docs (the seed's example; lines in completion order)");
    fs::create_dir_all(path).expect("create the download directory");
    let executor = Pool::builder()
        .max_workers(urls.len())
        .build()
        .expect("valid settings");
    let futures: Vec<Task<Option<PathBuf>>> = urls
        .iter()
        .map(|url| {
            let (url, path) = (url.clone(), path.to_path_buf());
            executor.submit(move || download_and_save(&url, &path))
        })
        .collect();
    assert!(executor.join(TIMEOUT), "every download finishes");

    let saved = futures
        .into_iter()
        .filter_map(|f| f.join().expect("download_and_save never panics"))
        .count();
    println!("{saved} of {} URLs saved", urls.len());
    assert_eq!(saved, PAGES.len());
    assert_eq!(
        fs::read_dir(path).expect("read the directory").count(),
        saved
    );
}

// ===== Future: result, exception, cancel, done callbacks =====

/// `Executor.submit` / `map`, and the `Future` methods of the notes.
fn futures_api(urls: &[String]) {
    println!("\n== the Future API");
    let executor = Pool::builder()
        .max_workers(3)
        .build()
        .expect("valid settings");

    // executor.map(fn, items): results in input order.
    let sizes: Vec<Result<usize, String>> = executor
        .map(
            |url: String| {
                download_url(&url)
                    .map(|d| d.len())
                    .map_err(|e| e.to_string())
            },
            urls[..3].to_vec(),
        )
        .into_iter()
        .map(|t| t.result_timeout(TIMEOUT).expect("map task"))
        .collect();
    println!("map over the first 3 URLs, in input order: {sizes:?}");

    // future = executor.submit(fn, arg); future.result(timeout=...)
    let url = urls[0].clone();
    let future = executor.submit(move || {
        download_url(&url)
            .map(|d| d.len())
            .map_err(|e| e.to_string())
    });
    println!("result(timeout=10): {:?}", future.result_timeout(TIMEOUT));
    println!(
        "done(): {}, running(): {}, cancelled(): {}",
        future.is_done(),
        future.is_running(),
        future.is_cancelled()
    );

    // exception(): the panic, if the body raised one.
    let bad = urls[urls.len() - 1].clone();
    let raising = executor.submit(move || download_url(&bad).expect("download failed").len());
    match raising.error() {
        Some(TaskError::Panicked { message }) => println!("exception(): {message}"),
        other => panic!("expected a panic, got {other:?}"),
    }

    // add_done_callback(fn): runs once, on the thread that finishes the task.
    let (tx, rx) = mpsc::channel();
    let url = urls[1].clone();
    let watched = executor.submit(move || {
        download_url(&url)
            .map(|d| d.len())
            .map_err(|e| e.to_string())
    });
    watched.on_done(move |result| {
        let _ = tx.send(format!("done callback got {result:?}"));
    });
    println!("{}", rx.recv_timeout(TIMEOUT).expect("the callback runs"));

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
    let url = urls[2].clone();
    let queued = single.submit(move || {
        download_url(&url)
            .map(|d| d.len())
            .map_err(|e| e.to_string())
    });
    println!(
        "busy.cancel(): {}, queued.cancel(): {}",
        busy.cancel(),
        queued.cancel()
    );
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

// ===== wait and as_completed =====

/// ```python
/// done, not_done = wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
/// done, not_done = wait(futures, return_when=concurrent.futures.ALL_COMPLETED)
/// done, not_done = wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION)
///
/// for future in as_completed(futures):
///     result = future.result() # blocking
/// ```
fn wait_modes(urls: &[String]) {
    let executor = Pool::builder()
        .max_workers(4)
        .build()
        .expect("valid settings");
    let fetch = |url: &String| {
        let url = url.clone();
        executor.submit(move || {
            download_url(&url)
                .map(|d| d.len())
                .map_err(|e| e.to_string())
        })
    };

    println!("\n== wait(FIRST_COMPLETED)");
    let futures: Vec<_> = urls.iter().map(fetch).collect();
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

    println!("\n== wait(FIRST_EXCEPTION)");
    // A download that panics on a bad URL is the "exception".
    let raising: Vec<Task<usize>> = urls
        .iter()
        .rev()
        .take(3)
        .map(|url| {
            let url = url.clone();
            executor.submit(move || download_url(&url).expect("download failed").len())
        })
        .collect();
    let (done, _) = pymt::wait(&raising, ReturnWhen::FirstException, TIMEOUT);
    let first = done
        .iter()
        .find_map(Task::error)
        .expect("a panicking download is done");
    println!("returned at the first exception: {first}");

    println!("\n== as_completed");
    let futures: Vec<_> = urls.iter().map(fetch).collect();
    // Each download gives up after NET_TIMEOUT, so this loop ends.
    let mut ok = 0;
    for future in pymt::as_completed(futures) {
        match future.join().expect("the body returns its own errors") {
            Ok(_) => ok += 1,
            Err(error) => println!("a download failed: {error}"),
        }
    }
    println!("{ok} downloads succeeded");
    assert_eq!(ok, PAGES.len());
    assert!(executor.join(TIMEOUT));
}

// ===== the local server =====

/// A one-thread HTTP/1.0 server for `PAGES` under `/3/library/`.
struct DocServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<()>,
}

impl DocServer {
    fn start() -> io::Result<DocServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name("doc-server".into())
            .spawn(move || serve(&listener, &flag))?;
        Ok(DocServer { addr, stop, thread })
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking `accept` so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, NET_TIMEOUT);
        self.thread.join().expect("the server thread ends");
    }
}

fn serve(listener: &TcpListener, stop: &AtomicBool) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if let Ok(stream) = stream {
            // A client that misbehaves only loses its own response.
            let _ = respond(stream);
        }
    }
}

fn respond(mut stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(NET_TIMEOUT))?;
    let mut request = Vec::new();
    let mut buf = [0; 1024];
    while split_head(&request).is_none() {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&request);
    let path = line.split(' ').nth(1).unwrap_or("/");
    let page = path
        .strip_prefix("/3/library/")
        .filter(|page| PAGES.contains(page));
    let (status, body) = match page {
        Some(page) => (
            "200 OK",
            format!("<html><title>{page}</title>{}</html>", "docs ".repeat(200)),
        ),
        None => ("404 Not Found", String::from("<html>not found</html>")),
    };
    write!(
        stream,
        "HTTP/1.0 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// An address where nothing listens: bind a free port, then let it go.
fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("bound address")
}

/// A URL without its origin (the port changes from run to run).
fn shown(url: &str) -> &str {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    rest.find('/').map_or(url, |i| &rest[i..])
}
