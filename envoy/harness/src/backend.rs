//! A unit's backend service: a small HTTP/1.1 server (keep-alive, Content-Length and chunked
//! request bodies) that answers JSON saying which unit served the request and which unitgate
//! headers it saw. Its status can be forced (fault injection), and it can be stopped and started
//! again on the same port (a unit failure: Envoy then gets "connection refused" and replies 503).

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Request headers echoed back (besides every `x-unitgate-*` header).
const ECHOED: [&str; 4] = ["x-city-id", "x-user-id", "cookie", "content-type"];
/// Where Envoy's active health check asks.
pub const HEALTH_PATH: &str = "/healthz";

#[derive(Default)]
struct Shared {
    stopping: AtomicBool,
    /// 0 = answer 200; otherwise answer this status.
    forced_status: AtomicU16,
    hits: AtomicU64,
    /// Requests whose method is not GET, HEAD or OPTIONS (writes).
    writes: AtomicU64,
    conns: Mutex<BTreeMap<u64, TcpStream>>,
}

pub struct Backend {
    pub unit: String,
    pub cloud: String,
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Backend {
    /// Listens on 127.0.0.1:`port` (0 = any free port).
    pub fn start(unit: &str, cloud: &str, port: u16) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .with_context(|| format!("backend {unit}: binding 127.0.0.1:{port}"))?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
        let identity = Arc::new((unit.to_string(), cloud.to_string()));
        let acceptor = {
            let shared = shared.clone();
            std::thread::spawn(move || accept_loop(listener, shared, identity))
        };
        Ok(Self {
            unit: unit.to_string(),
            cloud: cloud.to_string(),
            port,
            shared,
            acceptor: Some(acceptor),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Requests answered so far (health checks on `HEALTH_PATH` not counted).
    pub fn hits(&self) -> u64 {
        self.shared.hits.load(Ordering::Relaxed)
    }

    /// Writes (any method but GET, HEAD and OPTIONS) answered so far.
    pub fn writes(&self) -> u64 {
        self.shared.writes.load(Ordering::Relaxed)
    }

    /// Answer every request but the health check with `status` (None: normal 200).
    pub fn force_status(&self, status: Option<u16>) {
        self.shared
            .forced_status
            .store(status.unwrap_or(0), Ordering::Relaxed);
    }

    /// Closes the listener and every open connection. Idempotent.
    pub fn stop(&mut self) {
        let Some(acceptor) = self.acceptor.take() else {
            return;
        };
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the blocking accept().
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        let _ = acceptor.join();
        if let Ok(mut conns) = self.shared.conns.lock() {
            for conn in conns.values() {
                let _ = conn.shutdown(Shutdown::Both);
            }
            conns.clear();
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, identity: Arc<(String, String)>) {
    let mut next_id = 0u64;
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        next_id += 1;
        let id = next_id;
        if let (Ok(copy), Ok(mut conns)) = (stream.try_clone(), shared.conns.lock()) {
            conns.insert(id, copy);
        }
        let shared = shared.clone();
        let identity = identity.clone();
        std::thread::spawn(move || {
            let _ = serve_connection(stream, &shared, &identity);
            if let Ok(mut conns) = shared.conns.lock() {
                conns.remove(&id);
            }
        });
    }
}

struct HttpRequest {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn serve_connection(stream: TcpStream, shared: &Shared, identity: &(String, String)) -> Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    while let Some(req) = read_request(&mut reader)? {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        if req.path != HEALTH_PATH {
            shared.hits.fetch_add(1, Ordering::Relaxed);
        }
        if !matches!(req.method.as_str(), "GET" | "HEAD" | "OPTIONS") {
            shared.writes.fetch_add(1, Ordering::Relaxed);
        }
        // The health check stays 200: a forced status is an application failing its requests
        // while its health endpoint says it is fine, which only the passive breaker sees.
        let status = match shared.forced_status.load(Ordering::Relaxed) {
            0 => 200,
            _ if req.path == HEALTH_PATH => 200,
            s => s,
        };
        let body = describe(&req, identity, status).to_string();
        let close = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        // One write per response: several small writes meet Nagle + delayed ACK (40 ms stalls).
        let response = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-backend-unit: {}\r\n{}\r\n{body}",
            if status < 400 { "OK" } else { "Error" },
            body.len(),
            identity.0,
            if close { "connection: close\r\n" } else { "" },
        );
        writer.write_all(response.as_bytes())?;
        if close {
            break;
        }
    }
    Ok(())
}

/// The JSON answer: who served it and what it saw.
fn describe(req: &HttpRequest, identity: &(String, String), status: u16) -> Value {
    let mut seen = Map::new();
    for (k, v) in &req.headers {
        if k.starts_with("x-unitgate-") || ECHOED.contains(&k.as_str()) {
            // Repeated headers are joined like HTTP does.
            let joined = match seen.get(k).and_then(Value::as_str) {
                Some(prev) => format!("{prev}, {v}"),
                None => v.clone(),
            };
            seen.insert(k.clone(), Value::String(joined));
        }
    }
    let via: Vec<&str> = req
        .headers
        .iter()
        .filter(|(k, _)| k == "via")
        .map(|(_, v)| v.as_str())
        .collect();
    json!({
        "unit": identity.0,
        "cloud": identity.1,
        "status": status,
        "method": req.method,
        "path": req.path,
        "via": via.join(", "),
        "headers": seen,
        "body_bytes": req.body.len(),
    })
}

/// Reads one request; None on a clean EOF before a request line.
fn read_request(reader: &mut impl BufRead) -> Result<Option<HttpRequest>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        bail!("bad request line {line:?}");
    };
    let (method, path) = (method.to_string(), path.to_string());
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            bail!("EOF in headers");
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((k, v)) = trimmed.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let mut req = HttpRequest {
        method,
        path,
        headers,
        body: Vec::new(),
    };
    if req
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        req.body = read_chunked(reader)?;
    } else if let Some(len) = req.header("content-length") {
        let len: usize = len.parse().context("content-length")?;
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        req.body = body;
    }
    Ok(Some(req))
}

fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let size_text = line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size_text, 16).context("chunk size")?;
        if size == 0 {
            // Trailers until the empty line.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        reader.read_line(&mut line)?;
    }
}
