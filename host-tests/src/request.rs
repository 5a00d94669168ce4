//! Building a request for a worker or chain, and the upstream side of the exchange.

use crate::error::HostError;
use crate::exchange::Exchange;
use crate::flow;
use crate::headers::{find, find_all};
use crate::host::Host;
use crate::response::UpstreamResponse;
use crate::worker::Worker;

/// What reached the upstream: headers (pseudo-headers included) after every filter, the body
/// and trailers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpstreamRequest {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
}

impl UpstreamRequest {
    /// First header with this name, case-insensitive (`:path`, `:authority` work too).
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }
    /// Every value of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        find_all(&self.headers, name)
    }
}

/// A request under construction. Defaults: `GET /`, authority `example.com`, scheme `http`,
/// client `127.0.0.1:40000`, listener `127.0.0.1:10000`, no body.
#[derive(Clone)]
pub struct RequestBuilder {
    pub(crate) host: Host,
    pub(crate) filters: Vec<Worker>,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) authority: String,
    pub(crate) scheme: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<Vec<u8>>,
    pub(crate) trailers: Vec<(String, String)>,
    pub(crate) source: String,
    pub(crate) destination: String,
    pub(crate) response: Option<UpstreamResponse>,
    /// Properties seeded for this request (path segments, value).
    pub(crate) properties: Vec<(Vec<String>, Vec<u8>)>,
}

impl RequestBuilder {
    pub(crate) fn new(host: Host, filters: Vec<Worker>) -> Self {
        RequestBuilder {
            host,
            filters,
            method: "GET".into(),
            path: "/".into(),
            authority: "example.com".into(),
            scheme: "http".into(),
            headers: Vec::new(),
            body: Vec::new(),
            trailers: Vec::new(),
            source: "127.0.0.1:40000".into(),
            destination: "127.0.0.1:10000".into(),
            response: None,
            properties: Vec::new(),
        }
    }

    pub fn method(mut self, m: &str) -> Self {
        self.method = m.to_string();
        self
    }
    /// Path with optional `?query` (`:path`).
    pub fn path(mut self, p: &str) -> Self {
        self.path = p.to_string();
        self
    }
    /// `:authority` (the Host header).
    pub fn authority(mut self, a: &str) -> Self {
        self.authority = a.to_string();
        self
    }
    pub fn scheme(mut self, s: &str) -> Self {
        self.scheme = s.to_string();
        self
    }
    /// Add a header. Pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`) set those
    /// fields; `host` sets the authority.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match name.to_ascii_lowercase().as_str() {
            ":method" => self.method = value.to_string(),
            ":path" => self.path = value.to_string(),
            ":authority" | "host" => self.authority = value.to_string(),
            ":scheme" => self.scheme = value.to_string(),
            _ => self.headers.push((name.to_string(), value.to_string())),
        }
        self
    }
    /// Cookie header convenience.
    pub fn cookie(self, name: &str, value: &str) -> Self {
        self.header("cookie", &format!("{name}={value}"))
    }
    /// The whole body, delivered in one chunk with end_of_stream.
    pub fn body(mut self, body: impl AsRef<[u8]>) -> Self {
        self.body = vec![body.as_ref().to_vec()];
        self
    }
    /// The body in several chunks (each one `proxy_on_request_body` call).
    pub fn body_chunks<B: AsRef<[u8]>>(mut self, chunks: impl IntoIterator<Item = B>) -> Self {
        self.body = chunks.into_iter().map(|c| c.as_ref().to_vec()).collect();
        self
    }
    pub fn trailer(mut self, name: &str, value: &str) -> Self {
        self.trailers.push((name.to_string(), value.to_string()));
        self
    }
    /// Client address (`source.address`), e.g. "10.1.2.3:5555".
    pub fn source(mut self, addr: &str) -> Self {
        self.source = addr.to_string();
        self
    }
    /// Listener address (`destination.address`).
    pub fn destination(mut self, addr: &str) -> Self {
        self.destination = addr.to_string();
        self
    }
    /// Seed a property of this request, as the proxy or an earlier filter would have set it:
    /// e.g. Envoy dynamic metadata `&["metadata", "filter_metadata", "acme", "tenant"]` or filter
    /// state `&["filter_state", "key"]` (the value as the plugin reads it: a leaf's raw bytes).
    /// nginx has only variables: seed `&["ngx", "<var>"]` (others are a usage error at `send`).
    pub fn property(mut self, path: &[&str], value: impl AsRef<[u8]>) -> Self {
        let path = path.iter().map(|s| s.to_string()).collect();
        self.properties.push((path, value.as_ref().to_vec()));
        self
    }
    /// How the upstream answers this request (runs the response callbacks).
    pub fn respond(
        mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: impl AsRef<[u8]>,
    ) -> Self {
        let mut r = UpstreamResponse::new(status).body(body);
        for (k, v) in headers {
            r = r.header(k, v);
        }
        self.response = Some(r);
        self
    }
    /// Like `respond`, with a full `UpstreamResponse` (trailers too).
    pub fn response(mut self, r: UpstreamResponse) -> Self {
        self.response = Some(r);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), HostError> {
        flow::check_filters(self)
    }

    /// Run the request through the filters. `Err` if a VM traps (or is already dead): the error
    /// says where, shows the panic message and logs, and gives the client's status.
    pub fn send(self) -> Result<Exchange, HostError> {
        let logs = &self.host.shared.logs;
        let mark = logs.len();
        let r = flow::run(&self);
        self.host.pump()?;
        let mut ex = r?;
        let workers: Vec<u32> = self.filters.iter().map(Worker::id).collect();
        ex.logs = logs.since_any(mark, &workers);
        Ok(ex)
    }
}
