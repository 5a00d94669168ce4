//! An HTTP response a test scripts: the upstream's answer to a request, or a callout's answer.

use crate::headers::find;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
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
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    pub fn body(mut self, body: impl AsRef<[u8]>) -> Self {
        self.body = body.as_ref().to_vec();
        self
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
