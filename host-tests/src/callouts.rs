//! HTTP callouts (`proxy_http_call`): what the plugin asked for, and how the host answers it —
//! a scripted responder, or a real HTTP/1.1 request to a loopback address.

use crate::headers::find;
use crate::loopback_http;
use crate::profile::Profile;
pub use crate::response::CalloutResponse;
use crate::sync::lock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// An http call as the plugin dispatched it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalloutRequest {
    /// Envoy: a cluster name; ngx_wasm_module: `host:port`.
    pub upstream: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
    pub timeout_ms: u32,
}

impl CalloutRequest {
    /// First header with this name (case-insensitive), pseudo-headers included.
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }
    pub fn method(&self) -> &str {
        self.header(":method").unwrap_or("GET")
    }
    pub fn path(&self) -> &str {
        self.header(":path").unwrap_or("/")
    }
}

/// A scripted answer; `None` means the call failed (timeout, reset): the plugin gets
/// `on_http_call_response` with no headers and no body, as from Envoy.
pub type Responder = Arc<dyn Fn(&CalloutRequest) -> Option<CalloutResponse> + Send + Sync>;

/// Where an upstream name leads.
#[derive(Clone)]
enum Target {
    Scripted(Responder),
    Loopback(String),
}

/// Why `proxy_http_call` was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Envoy: unknown cluster or missing `:method`/`:path`/`:authority` -> BadArgument.
    BadArgument(String),
    /// ngx_wasm_module: the upstream is not `host:port` -> InternalFailure.
    InternalFailure(String),
}

#[derive(Default)]
pub struct Callouts {
    targets: Mutex<HashMap<String, Target>>,
    log: Mutex<Vec<CalloutRequest>>,
}

impl Callouts {
    pub fn script(&self, upstream: &str, responder: Responder) {
        lock(&self.targets).insert(upstream.to_string(), Target::Scripted(responder));
    }

    /// Envoy: a cluster name that leads to a loopback address.
    pub fn cluster(&self, name: &str, addr: &str) {
        lock(&self.targets).insert(name.to_string(), Target::Loopback(addr.to_string()));
    }

    /// Every callout dispatched so far, in order.
    pub fn history(&self) -> Vec<CalloutRequest> {
        lock(&self.log).clone()
    }

    /// The dispatch-time check each proxy makes.
    pub fn check(&self, profile: Profile, req: &CalloutRequest) -> Result<(), Refusal> {
        match profile {
            Profile::Envoy => {
                for required in [":method", ":path", ":authority"] {
                    if req.header(required).is_none() {
                        return Err(Refusal::BadArgument(format!(
                            "http call to `{}` lacks the `{required}` header",
                            req.upstream
                        )));
                    }
                }
                if !lock(&self.targets).contains_key(&req.upstream) {
                    return Err(Refusal::BadArgument(format!(
                        "unknown cluster `{}` (declare it with Host::cluster or Host::script_http_call)",
                        req.upstream
                    )));
                }
                Ok(())
            }
            Profile::NgxWasmModule => {
                if host_port(&req.upstream).is_none() {
                    return Err(Refusal::InternalFailure(format!(
                        "dispatch failed: `{}` is not host:port (ngx_wasm_module has no clusters)",
                        req.upstream
                    )));
                }
                Ok(())
            }
        }
    }

    /// Answer a dispatched call (records it first). `None` = the call failed.
    pub fn answer(&self, profile: Profile, req: &CalloutRequest) -> Option<CalloutResponse> {
        lock(&self.log).push(req.clone());
        let target = lock(&self.targets).get(&req.upstream).cloned();
        match target {
            Some(Target::Scripted(f)) => f(req),
            Some(Target::Loopback(addr)) => loopback_http::call(&addr, req),
            None if profile.is_ngx() => loopback_http::call(&req.upstream, req),
            None => None,
        }
    }
}

fn host_port(s: &str) -> Option<(&str, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let port = port.parse().ok()?;
    if host.is_empty() {
        return None;
    }
    Some((host, port))
}
