//! Host calls that never panic on what a client or the host sends.
//!
//! The SDK's string header getters unwrap UTF-8 (a client-sent byte 0xff would abort the VM),
//! and its `set_property` panics on any non-OK status (ngx_wasm_module answers NOT_FOUND for
//! an undeclared variable). These wrappers read bytes and return errors instead.

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, LogLevel, MapType};
use std::time::UNIX_EPOCH;

/// Milliseconds since the Unix epoch from the host clock (0 if the host has none).
pub fn now_ms() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

pub fn log(level: LogLevel, message: &str) {
    let _ = hostcalls::log(level, message);
}

fn lossy(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

fn map(map_type: MapType) -> Vec<(String, String)> {
    hostcalls::get_map_bytes(map_type)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, lossy(v)))
        .collect()
}

pub fn request_headers() -> Vec<(String, String)> {
    map(MapType::HttpRequestHeaders)
}

pub fn set_request_header(name: &str, value: &str) {
    let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value));
}

pub fn remove_request_header(name: &str) {
    let _ = hostcalls::remove_map_value(MapType::HttpRequestHeaders, name);
}

pub fn add_response_header(name: &str, value: &str) {
    let _ = hostcalls::add_map_value(MapType::HttpResponseHeaders, name, value);
}

pub fn response_header(name: &str) -> Option<String> {
    hostcalls::get_map_value_bytes(MapType::HttpResponseHeaders, name)
        .ok()
        .flatten()
        .map(lossy)
}

/// True on ngx_wasm_module: only it resolves `ngx.*` properties (nginx variables).
/// Needs a request context; asked only when the body framing is ambiguous.
pub fn is_nginx() -> bool {
    property(&["ngx", "request_method"]).is_some()
}

/// The response status from `:status`, or the `response.code` property.
pub fn response_status() -> Option<u16> {
    let from_header = hostcalls::get_map_value_bytes(MapType::HttpResponseHeaders, ":status")
        .ok()
        .flatten()
        .and_then(|v| std::str::from_utf8(&v).ok()?.trim().parse().ok());
    from_header.or_else(|| {
        let raw = property(&["response", "code"])?;
        // Envoy encodes response.code as a little-endian i64; ngx as text.
        if let Ok(bytes) = <[u8; 8]>::try_from(raw.as_slice()) {
            return u16::try_from(i64::from_le_bytes(bytes)).ok();
        }
        std::str::from_utf8(&raw).ok()?.trim().parse().ok()
    })
}

/// `size` bytes of the buffered request body from `start`.
pub fn request_body(start: usize, size: usize) -> Vec<u8> {
    hostcalls::get_buffer(BufferType::HttpRequestBody, start, size)
        .ok()
        .flatten()
        .unwrap_or_default()
}

pub fn property(path: &[&str]) -> Option<Vec<u8>> {
    hostcalls::get_property(path.to_vec()).ok().flatten()
}

pub fn send_reply(status: u16, headers: &[(String, String)], body: &str) {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let _ = hostcalls::send_http_response(u32::from(status), headers, Some(body.as_bytes()));
}

#[link(wasm_import_module = "env")]
extern "C" {
    #[link_name = "proxy_set_property"]
    fn raw_set_property(
        path_data: *const u8,
        path_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
}

/// Sets nginx variable `$name` through ngx_wasm_module's `ngx.<name>` property.
/// Returns the host status on failure (e.g. the variable was never declared with `set`).
pub fn set_ngx_variable(name: &str, value: &str) -> Result<(), u32> {
    let path = format!("ngx\0{name}");
    // SAFETY: both buffers outlive the call; the host copies them.
    let status =
        unsafe { raw_set_property(path.as_ptr(), path.len(), value.as_ptr(), value.len()) };
    if status == 0 {
        Ok(())
    } else {
        Err(status)
    }
}
