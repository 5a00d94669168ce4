//! Applying a core `Decision` to the host: upstream header / nginx variable, ctx header,
//! local replies, response headers, explain header, metrics.

use crate::host;
use crate::metrics::Metrics;
use crate::root::Shared;
use crate::serving::Active;
use proxy_wasm::types::LogLevel;
use unitgate_core::{LocalReply, Reason, Route};

/// Response header with the decision explained (opt-in; never contains secrets).
pub const EXPLAIN_HEADER: &str = "x-unitgate-explain";

/// What the response phase still has to do, and a debug line.
pub struct Applied {
    pub response_headers: Vec<(String, String)>,
    pub log: String,
}

/// Points the request at `route.upstream` and adds the route's request headers
/// (the signed ctx for the next module or the peer cloud).
pub fn route(active: &Active, shared: &Shared, route: &Route) -> Applied {
    let header_set = host::set_request_header(&active.settings.cluster_header, &route.upstream);
    if let Some(var) = &active.settings.nginx_variable {
        if let Err(status) = host::set_ngx_variable(var, &route.upstream) {
            if !shared.ngx_var_warned.replace(true) {
                let msg = format!(
                    "unitgate: host refused nginx variable ${var} (status {status}); \
                     declare it with `set ${var} <default>;`"
                );
                host::log(LogLevel::Warn, &msg);
            }
        }
    }
    for (name, value) in &route.request_headers {
        // A refused ctx header only means the next module routes again from scratch.
        let _ = host::set_request_header(name, value);
    }
    shared.metrics.decision(&route.unit, route.reason);

    let mut response_headers = route.response_headers.clone();
    let explained = unitgate_core::explain(route, active.policy.version());
    if active.settings.explain {
        response_headers.push((EXPLAIN_HEADER.to_string(), explained.clone()));
    }
    Applied {
        response_headers,
        log: match header_set {
            Ok(()) => format!("routed to {}: {explained}", route.upstream),
            Err(status) => format!(
                "host refused the cluster header (status {status}); decided {}: {explained}",
                route.upstream
            ),
        },
    }
}

/// Sends the core's local reply as JSON. Err: the host refused to send it.
pub fn reply(active: &Active, metrics: &Metrics, reply: &LocalReply) -> Result<(), u32> {
    let mut headers = reply.headers.clone();
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("content-type".to_string(), "application/json".to_string()));
    }
    if active.settings.explain {
        let explained = format!(
            "reply={}; reason={}; version={}",
            reply.status,
            reply.reason.as_str(),
            active.policy.version()
        );
        headers.push((EXPLAIN_HEADER.to_string(), explained));
    }
    host::send_reply(reply.status, &headers, &reply.body)?;
    metrics.reply(reply.status, reply.reason);
    Ok(())
}

/// 503 when no valid policy was ever loaded and fail_mode is closed.
pub fn no_policy_reply(metrics: &Metrics) -> Result<(), u32> {
    let headers = [("content-type".to_string(), "application/json".to_string())];
    host::send_reply(503, &headers, r#"{"error":"no_policy"}"#)?;
    metrics.reply(503, Reason::NoPolicy);
    Ok(())
}
