//! An HTTP response a test scripts: the upstream's answer to a request, or a callout's answer.

use crate::headers::find;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
    /// Where `body` is cut into the chunks the proxy delivers (empty: one chunk).
    pub(crate) cuts: Vec<usize>,
}

/// The upstream's answer to a request (runs the response callbacks).
pub type UpstreamResponse = HttpResponse;
/// The answer to a plugin's http call.
pub type CalloutResponse = HttpResponse;

impl HttpResponse {
    pub fn new(status: u16) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            trailers: Vec::new(),
            cuts: Vec::new(),
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    pub fn body(mut self, body: impl AsRef<[u8]>) -> Self {
        self.body = body.as_ref().to_vec();
        self.cuts.clear();
        self
    }
    /// The body in several chunks, each one body callback (an upstream response only).
    pub fn body_chunks<B: AsRef<[u8]>>(mut self, chunks: impl IntoIterator<Item = B>) -> Self {
        self.body.clear();
        self.cuts.clear();
        for c in chunks {
            self.body.extend_from_slice(c.as_ref());
            self.cuts.push(self.body.len());
        }
        self
    }
    /// The body's chunks as the proxy delivers them (none if the body is empty).
    pub fn chunks(&self) -> Vec<Vec<u8>> {
        if self.cuts.is_empty() {
            return if self.body.is_empty() {
                Vec::new()
            } else {
                vec![self.body.clone()]
            };
        }
        let mut from = 0;
        let mut out = Vec::new();
        for &to in &self.cuts {
            if to > from {
                out.push(self.body[from..to].to_vec());
            }
            from = to;
        }
        out
    }
    pub fn trailer(mut self, name: &str, value: &str) -> Self {
        self.trailers.push((name.to_string(), value.to_string()));
        self
    }
    /// First header with this name (case-insensitive).
    pub fn get_header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }
    /// Headers as a plugin reads them: `:status` first.
    pub fn wire_headers(&self) -> Vec<(String, String)> {
        let mut h = vec![(":status".to_string(), self.status.to_string())];
        h.extend(self.headers.iter().filter(|(k, _)| k != ":status").cloned());
        h
    }
}
