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
                if ngx_address(req).is_none() {
                    return Err(Refusal::InternalFailure(format!(
                        "dispatch failed: `{}` is not host[:port] (ngx_wasm_module has no clusters)",
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
        let targets = lock(&self.targets);
        // nginx: a script for the name as written, else for the address it resolves to.
        let resolved = profile.is_ngx().then(|| ngx_address(req)).flatten();
        let target = targets
            .get(&req.upstream)
            .or_else(|| targets.get(resolved.as_deref()?))
            .cloned();
        drop(targets);
        match (target, resolved) {
            (Some(Target::Scripted(f)), _) => f(req),
            (Some(Target::Loopback(addr)), _) => loopback_http::call(&addr, req),
            (None, Some(addr)) => loopback_http::call(&addr, req),
            (None, None) => None,
        }
    }
}

/// The `host:port` ngx_wasm_module connects to: the port as written, else 80, or 443 when the
/// call's `:scheme` is `https` (`ngx_wasm_socket_tcp_init`: `url.default_port = tls ? 443 : 80`).
pub fn ngx_address(req: &CalloutRequest) -> Option<String> {
    let s = req.upstream.as_str();
    let host_end = if s.starts_with('[') {
        s.find(']')? + 1
    } else {
        0
    };
    let (host, port) = match s[host_end..].find(':') {
        Some(i) => {
            let port: u16 = s[host_end + i + 1..].parse().ok()?;
            (&s[..host_end + i], port)
        }
        None if req.header(":scheme") == Some("https") => (s, 443),
        None => (s, 80),
    };
    if host.is_empty() {
        return None;
    }
    Some(format!("{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(upstream: &str, scheme: Option<&str>) -> CalloutRequest {
        let headers = scheme.map(|s| vec![(":scheme".to_string(), s.to_string())]);
        CalloutRequest {
            upstream: upstream.to_string(),
            headers: headers.unwrap_or_default(),
            body: Vec::new(),
            trailers: Vec::new(),
            timeout_ms: 0,
        }
    }

    #[test]
    fn ngx_defaults_the_port_by_scheme() {
        let addr = |u, s| ngx_address(&call(u, s));
        assert_eq!(addr("auth", None).as_deref(), Some("auth:80"));
        assert_eq!(addr("auth", Some("https")).as_deref(), Some("auth:443"));
        assert_eq!(
            addr("auth:8080", Some("https")).as_deref(),
            Some("auth:8080")
        );
        assert_eq!(addr("[::1]", None).as_deref(), Some("[::1]:80"));
        assert_eq!(addr("[::1]:9", None).as_deref(), Some("[::1]:9"));
        assert_eq!(addr("auth:x", None), None);
        assert_eq!(addr(":80", None), None);
    }
}
