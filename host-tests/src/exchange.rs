//! `Exchange`: what happened to one request — what the upstream received, what the client got,
//! each callback's action, and the stream's properties.

use crate::abi::codec;
use crate::headers::{find, find_all};
use crate::host_calls::HostCalls;
use crate::logs::LogEntry;
use crate::request::UpstreamRequest;
use crate::stream::LocalReply;
use std::collections::{BTreeMap, HashMap};

/// A stream callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    RequestHeaders,
    RequestBody,
    RequestTrailers,
    ResponseHeaders,
    ResponseBody,
    ResponseTrailers,
}

/// What a stream callback returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Continue,
    Pause,
    Other(u32),
}

impl Action {
    pub(crate) fn from_abi(v: u32) -> Action {
        match v {
            0 => Action::Continue,
            1 => Action::Pause,
            n => Action::Other(n),
        }
    }
}

/// One callback of one filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActionRecord {
    pub filter: usize,
    pub phase: Phase,
    pub action: Action,
    /// The plugin called `proxy_continue_stream` during this callback or its callouts.
    pub resumed: bool,
}

/// Where a paused stream stayed paused (nobody resumed it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stall {
    pub filter: usize,
    pub phase: Phase,
}

#[derive(Clone, Debug, Default)]
pub struct Exchange {
    pub(crate) upstream: Option<UpstreamRequest>,
    pub(crate) local_reply: Option<LocalReply>,
    /// Log lines the chain's workers wrote while this request ran.
    pub(crate) logs: Vec<LogEntry>,
    pub(crate) status: Option<u16>,
    pub(crate) response_headers: Vec<(String, String)>,
    pub(crate) response_body: Vec<u8>,
    pub(crate) response_trailers: Vec<(String, String)>,
    pub(crate) stall: Option<Stall>,
    pub(crate) actions: Vec<ActionRecord>,
    pub(crate) properties: HashMap<Vec<u8>, Vec<u8>>,
    pub(crate) ngx_vars: BTreeMap<String, String>,
    pub(crate) route_cache_cleared: u32,
    pub(crate) reset: bool,
    /// Host calls of each filter while this request ran, in chain order.
    pub(crate) host_calls: Vec<HostCalls>,
}

impl Exchange {
    /// What the upstream received; `None` if a filter replied locally, reset or stalled it.
    pub fn upstream(&self) -> Option<&UpstreamRequest> {
        self.upstream.as_ref()
    }

    /// A header as the upstream received it.
    pub fn upstream_header(&self, name: &str) -> Option<&str> {
        self.upstream.as_ref()?.header(name)
    }

    /// The local reply a filter sent (`send_http_response`), if any.
    /// The log lines of this request (its filters' workers, from the first callback to the last).
    pub fn logs(&self) -> &[LogEntry] {
        &self.logs
    }

    /// This request's log messages, one a line.
    pub fn log_text(&self) -> String {
        let lines: Vec<&str> = self.logs.iter().map(|e| e.message.as_str()).collect();
        lines.join("\n")
    }

    pub fn local_reply(&self) -> Option<&LocalReply> {
        self.local_reply.as_ref()
    }

    /// The status the client got (local reply or upstream response after the filters);
    /// `None` if the stream stalled or was reset.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// Response headers as the client got them (after the response callbacks).
    pub fn response_headers(&self) -> &[(String, String)] {
        &self.response_headers
    }

    pub fn response_header(&self, name: &str) -> Option<&str> {
        find(&self.response_headers, name)
    }

    /// Every value of a response header (e.g. several `set-cookie`).
    pub fn response_header_all(&self, name: &str) -> Vec<&str> {
        find_all(&self.response_headers, name)
    }

    pub fn response_body(&self) -> &[u8] {
        &self.response_body
    }

    pub fn response_text(&self) -> String {
        String::from_utf8_lossy(&self.response_body).into_owned()
    }

    pub fn response_trailers(&self) -> &[(String, String)] {
        &self.response_trailers
    }

    /// Where the stream stayed paused, if it did.
    pub fn stall(&self) -> Option<Stall> {
        self.stall
    }

    /// Every callback's action, in call order.
    pub fn actions(&self) -> &[ActionRecord] {
        &self.actions
    }

    /// The action of `phase` in filter `filter`.
    pub fn action(&self, filter: usize, phase: Phase) -> Option<Action> {
        self.actions
            .iter()
            .find(|a| a.filter == filter && a.phase == phase)
            .map(|a| a.action)
    }

    /// A property a filter set on this stream (`proxy_set_property`), e.g. `&["ngx", "var"]`.
    pub fn property(&self, path: &[&str]) -> Option<&[u8]> {
        self.properties
            .get(&codec::encode_path(path))
            .map(Vec::as_slice)
    }

    /// An nginx variable the plugin set (ngx_wasm_module profile: `ngx.<name>` property).
    pub fn ngx_var(&self, name: &str) -> Option<&str> {
        self.ngx_vars.get(name).map(String::as_str)
    }

    /// How many times a filter called the `clear_route_cache` foreign function.
    pub fn route_cache_cleared(&self) -> u32 {
        self.route_cache_cleared
    }

    /// Host calls every filter made for this request (context creation to `on_delete`,
    /// http-call answers included), and the payload bytes they copied across the ABI.
    pub fn host_calls(&self) -> HostCalls {
        let mut all = HostCalls::default();
        for calls in &self.host_calls {
            all.merge(calls);
        }
        all
    }

    /// Host calls of one filter of the chain (0 for a single plugin).
    pub fn host_calls_of(&self, filter: usize) -> Option<&HostCalls> {
        self.host_calls.get(filter)
    }

    /// A filter reset the stream (`proxy_close_stream`).
    pub fn reset(&self) -> bool {
        self.reset
    }
}
