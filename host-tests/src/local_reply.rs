//! What the proxy sends for a `proxy_send_local_response`, beyond what the plugin passed.
//! Envoy 1.40 (measured with curl against a real Envoy): a body adds `content-length` and
//! `content-type: text/plain` (unless given); a gRPC request (`content-type: application/grpc`)
//! gets a trailers-only gRPC reply instead: status 200, `grpc-status` (the plugin's, else mapped
//! from the HTTP status), `grpc-message` (the body), no body. nginx (ngx_wasm_module 3bed2783,
//! `ngx_http_wasm_local_response.c`, and measured with curl on nginx 1.22): ignores `grpc_status`
//! and gRPC requests; a body gets a trailing LF, `Content-Length` of that and `Content-Type` from
//! `default_type` (nginx's default `text/plain`); no body: `Content-Length: 0`.

use crate::headers::find;
use crate::profile::Profile;
use crate::stream::LocalReply;

/// Status, headers (without `:status`) and body of the reply as the proxy encodes it.
pub fn encode(
    profile: Profile,
    reply: &LocalReply,
    request_headers: &[(String, String)],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut headers = reply.headers.clone();
    let has = |h: &[(String, String)], n: &str| find(h, n).is_some();
    match profile {
        Profile::Envoy => {
            let grpc = find(request_headers, "content-type")
                .is_some_and(|t| t.starts_with("application/grpc"));
            if grpc {
                let status = match reply.grpc_status {
                    s if s >= 0 => s as u32,
                    _ => grpc_from_http(reply.status),
                };
                headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
                headers.push(("content-type".into(), "application/grpc".into()));
                headers.push(("grpc-status".into(), status.to_string()));
                if !reply.body.is_empty() {
                    let message = String::from_utf8_lossy(&reply.body).into_owned();
                    headers.push(("grpc-message".into(), message));
                }
                return (200, headers, Vec::new());
            }
            if !reply.body.is_empty() {
                headers.push(("content-length".into(), reply.body.len().to_string()));
                if !has(&headers, "content-type") {
                    headers.push(("content-type".into(), "text/plain".into()));
                }
            }
            (reply.status, headers, reply.body.clone())
        }
        Profile::NgxWasmModule => {
            if reply.body.is_empty() {
                headers.push(("Content-Length".into(), "0".into()));
                return (reply.status, headers, Vec::new());
            }
            let mut body = reply.body.clone();
            body.push(b'\n');
            if !has(&headers, "content-type") {
                headers.push(("Content-Type".into(), "text/plain".into()));
            }
            headers.push(("Content-Length".into(), body.len().to_string()));
            (reply.status, headers, body)
        }
    }
}

/// Envoy's `Grpc::Utility::httpToGrpcStatus`.
fn grpc_from_http(status: u16) -> u32 {
    match status {
        400 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502 | 503 | 504 => 14,
        _ => 2,
    }
}
