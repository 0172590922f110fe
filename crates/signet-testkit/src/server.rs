//! A minimal HTTP/1.1 server on loopback that serves the files of a directory (a log
//! published by [`crate::TestLog`], or a copy of a real log's files), lets a handler
//! answer first, and records every request.

#![expect(
    clippy::unwrap_used,
    reason = "test support: a failure is a test failure"
)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A request the test server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, with its leading slash.
    pub path: String,
    /// The body.
    pub body: Vec<u8>,
}

/// An answer from a test handler.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a status and body.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }
}

type Handler = dyn Fn(&Request) -> Option<Response> + Send + Sync;

/// A minimal HTTP/1.1 server on loopback (keep-alive, one thread per connection) that
/// serves the files of a directory, after giving a handler the first word on each
/// request. It records every request. It stops when dropped.
pub struct TestServer {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestServer({})", self.url)
    }
}

impl TestServer {
    /// Serves the files under `root`.
    pub fn serve(root: &Path) -> TestServer {
        TestServer::with_handler(root, |_| None)
    }

    /// Serves `root`, asking `handler` first.
    pub fn with_handler(
        root: &Path,
        handler: impl Fn(&Request) -> Option<Response> + Send + Sync + 'static,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let root = root.to_owned();
        {
            let (requests, stop) = (requests.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let (root, requests, handler) =
                        (root.clone(), requests.clone(), handler.clone());
                    std::thread::spawn(move || {
                        serve_connection(stream, &root, &requests, &*handler)
                    });
                }
            });
        }
        TestServer {
            url: format!("http://{addr}"),
            requests,
            stop,
            addr,
        }
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The paths requested so far.
    pub fn paths(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.path).collect()
    }

    /// Forgets the requests so far.
    pub fn clear(&self) {
        self.requests.lock().unwrap().clear();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve_connection(
    stream: TcpStream,
    root: &Path,
    requests: &Mutex<Vec<Request>>,
    handler: &Handler,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
            return;
        };
        let (method, path) = (method.to_owned(), path.to_owned());
        let mut length = 0usize;
        let mut close = false;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.parse().unwrap_or(0),
                    "connection" => close = value.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = Request { method, path, body };
        requests.lock().unwrap().push(request.clone());
        let response = handler(&request).unwrap_or_else(|| serve_file(root, &request));
        let mut head = format!(
            "HTTP/1.1 {} X\r\ncontent-length: {}\r\n",
            response.status,
            response.body.len()
        );
        // One content type only: given the default and the handler's, Chromium 148
        // showed a proxied page but never ran its script.
        if !response
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            head.push_str("content-type: application/octet-stream\r\n");
        }
        for (name, value) in &response.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(&response.body).is_err() {
            return;
        }
        if close {
            return;
        }
    }
}

fn serve_file(root: &Path, request: &Request) -> Response {
    let not_found = Response::new(404, "not found\n");
    if request.method != "GET" {
        return Response::new(405, "method not allowed\n");
    }
    let rel = request.path.trim_start_matches('/');
    if rel
        .split('/')
        .any(|p| p.is_empty() || p == "." || p == "..")
    {
        return not_found;
    }
    let path: PathBuf = root.join(rel);
    match fs::read(&path) {
        Ok(data) if path.is_file() => Response::new(200, data),
        _ => not_found,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `request` on a fresh connection and returns the status and body.
    fn ask(server: &TestServer, request: &str) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let text = String::from_utf8_lossy(&answer).into_owned();
        let (head, _) = text.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let body_at = head.len() + 4;
        (status, answer[body_at..].to_vec())
    }

    fn check(server: &TestServer, method: &str, path: &str, status: u16, body: &[u8]) {
        let request =
            format!("{method} {path} HTTP/1.1\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
        let (actual, data) = ask(server, &request);
        assert_eq!((actual, &data[..]), (status, body), "{method} {path}");
    }

    #[test]
    fn serves_files_asks_the_handler_first_and_records_requests() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("tile/0")).unwrap();
        fs::write(dir.path().join("tile/0/000"), b"tile").unwrap();
        let server = TestServer::with_handler(dir.path(), |r| {
            (r.path == "/busy").then(|| Response::new(503, "busy"))
        });
        check(&server, "GET", "/tile/0/000", 200, b"tile");
        check(&server, "GET", "/busy", 503, b"busy");
        check(&server, "GET", "/tile/0", 404, b"not found\n");
        check(&server, "GET", "/tile/../tile/0/000", 404, b"not found\n");
        check(&server, "GET", "/tile//0/000", 404, b"not found\n");
        check(&server, "POST", "/tile/0/000", 405, b"method not allowed\n");
        assert_eq!(
            server.paths(),
            [
                "/tile/0/000",
                "/busy",
                "/tile/0",
                "/tile/../tile/0/000",
                "/tile//0/000",
                "/tile/0/000"
            ]
        );
        server.clear();
        assert!(server.requests().is_empty());
    }
}
