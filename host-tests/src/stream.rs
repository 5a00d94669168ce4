//! One HTTP request/response as it passes through the filter chain. It moves from filter to
//! filter (each filter's VM sees it while its callbacks run).

use crate::headers::find;
use std::collections::{BTreeMap, HashMap};

/// A reply produced by `proxy_send_local_response`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// `status_code_details` as the plugin passed it.
    pub details: String,
    /// Index of the filter that sent it (0 for a single plugin).
    pub filter: usize,
    /// The `grpc_status` argument (-1: none, as `send_http_response` passes).
    pub grpc_status: i32,
}

impl LocalReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Connection facts behind `source.*`, `destination.*` and `request.*` properties.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub source: String,
    pub destination: String,
    pub protocol: String,
    pub request_id: String,
    pub start_ns: u64,
}

#[derive(Debug, Default)]
pub struct StreamData {
    pub request_headers: Vec<(String, String)>,
    /// The body buffer the current filter sees (`HttpRequestBody`).
    pub request_body: Vec<u8>,
    pub request_trailers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Vec<u8>,
    pub response_trailers: Vec<(String, String)>,
    /// True once the upstream (or a local reply) has produced response headers.
    pub response_started: bool,
    pub local_reply: Option<LocalReply>,
    pub reset: bool,
    /// `set_property` values: filter state shared by every filter on this stream.
    pub properties: HashMap<Vec<u8>, Vec<u8>>,
    /// nginx variables (`ngx.<name>` properties) written on this request.
    pub ngx_vars: BTreeMap<String, String>,
    pub route_cache_cleared: u32,
    pub info: Option<ConnInfo>,
    /// Index of the filter whose callback runs now.
    pub filter: usize,
}

impl StreamData {
    pub fn request_header(&self, name: &str) -> Option<&str> {
        find(&self.request_headers, name)
    }
    pub fn response_header(&self, name: &str) -> Option<&str> {
        find(&self.response_headers, name)
    }
}
