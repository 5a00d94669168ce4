//! Applying a core `Decision` to the host: upstream header or nginx variable, handoff or
//! peer stamp, local replies, response headers, explain header, metrics.

use crate::host;
use crate::metrics::Metrics;
use crate::root::Shared;
use crate::serving::Active;
use proxy_wasm::types::LogLevel;
use unitgate_core::{LocalReply, Reason, Route, CTX_HEADER};

/// Response header with the decision explained (opt-in; never contains secrets).
pub const EXPLAIN_HEADER: &str = "x-unitgate-explain";

/// What the response phase still has to do, and a debug line (only at debug level).
pub struct Applied {
    pub response_headers: Vec<(String, String)>,
    pub log: Option<String>,
}

/// Points the request at `route.upstream` and adds the route's request headers (the handoff
/// to a later module, or the signed stamp for a peer cloud). With `nginx_variable` the
/// upstream and the stamp go into nginx variables and no such request header is written:
/// ngx_wasm_module cannot remove a client's copy, so the nginx conf sets them with
/// `proxy_set_header`. `last`: no later module follows, so this one explains.
pub fn route(active: &Active, shared: &Shared, route: &Route, last: bool) -> Applied {
    let settings = &active.settings;
    let set = match &settings.nginx_variable {
        Some(var) => ngx_variable(shared, var, &route.upstream),
        None => host::set_request_header(&settings.cluster_header, &route.upstream),
    };
    for (name, value) in &route.request_headers {
        match (&settings.nginx_variable, &settings.nginx_ctx_variable) {
            (Some(_), Some(var)) if name == CTX_HEADER => {
                let _ = ngx_variable(shared, var, value);
            }
            // No variable for the stamp: the peer routes the request again itself.
            (Some(_), None) if name == CTX_HEADER => {}
            // A refused header only means the next module or the peer routes from scratch.
            _ => {
                let _ = host::set_request_header(name, value);
            }
        }
    }
    shared.metrics.decision(&route.unit, route.reason);

    let mut response_headers = route.response_headers.clone();
    let (explain, debug) = (settings.explain && last, shared.debug.get());
    let explained =
        (explain || debug).then(|| unitgate_core::explain(route, active.policy.version()));
    if let (true, Some(e)) = (explain, &explained) {
        response_headers.push((EXPLAIN_HEADER.to_string(), e.clone()));
    }
    let log = explained.filter(|_| debug).map(|e| {
        let refused = if set.is_ok() {
            ""
        } else {
            " (refused by the host)"
        };
        format!("routed to {}{refused}: {e}", route.upstream)
    });
    Applied {
        response_headers,
        log,
    }
}

/// Sets `$var`; a refusal is warned once per VM (the variable must be declared with `set`).
fn ngx_variable(shared: &Shared, var: &str, value: &str) -> Result<(), u32> {
    let set = host::set_ngx_variable(var, value);
    if set.is_err() && !shared.ngx_var_warned.replace(true) {
        let msg = format!("unitgate: host refused nginx variable ${var}: declare it with set");
        host::log(LogLevel::Warn, &msg);
    }
    set
}

/// Sends the core's local reply as JSON. Err: the host refused to send it.
pub fn reply(active: &Active, metrics: &Metrics, reply: &LocalReply) -> Result<(), u32> {
    let mut headers = reply.headers.clone();
    if !headers
        .iter()
        .any(|(k, _)| unitgate_core::eq_ascii_case(k.as_bytes(), b"content-type"))
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
