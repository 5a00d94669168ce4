//! Host calls that never panic on what a client or the host sends.
//!
//! The SDK's string header getters unwrap UTF-8 (a client-sent byte 0xff would abort the VM),
//! and its header setters, `send_http_response` and `set_property` panic on any non-OK status
//! (ngx_wasm_module answers NOT_FOUND for an undeclared variable, and refuses some calls in
//! some phases). These wrappers read bytes, and the mutators return the host status instead.

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, LogLevel, MapType};
use std::time::UNIX_EPOCH;

/// Milliseconds since the Unix epoch from the host clock (0 if the host has none).
pub fn now_ms() -> u64 {
    now_ns() / 1_000_000
}

/// Nanoseconds since the Unix epoch from the host clock (0 if none); u64 lasts until 2554.
pub fn now_ns() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
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

/// The request header map as the host serialized it (read it with `request::pairs`): one
/// host call and one allocation. The SDK's reader copies every name and value into a `String`
/// and a `Vec` of their own (about 1,000 wasm instructions a header), and panics on a name
/// that is not UTF-8.
pub fn request_header_map() -> Vec<u8> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: on success the host wrote `size` bytes at `data`, which it allocated through
    // this module's `proxy_on_memory_allocate` (a boxed slice of exactly `size` bytes) and
    // hands over to us: the SDK's own `get_map_bytes` takes it the same way.
    unsafe {
        if raw_get_header_map_pairs(REQUEST_HEADERS, &mut data, &mut size) != 0 || data.is_null() {
            return Vec::new();
        }
        Vec::from_raw_parts(data, size, size)
    }
}

pub fn response_header(name: &str) -> Option<String> {
    hostcalls::get_map_value_bytes(MapType::HttpResponseHeaders, name)
        .ok()
        .flatten()
        .map(lossy)
}

/// The response status from `:status`, or the `response.code` property.
pub fn response_status() -> Option<u16> {
    let from_header = hostcalls::get_map_value_bytes(MapType::HttpResponseHeaders, ":status")
        .ok()
        .flatten()
        .and_then(|v| status_text(&v));
    from_header.or_else(|| {
        let raw = property(&["response", "code"])?;
        // Envoy encodes response.code as a little-endian i64; ngx as text.
        if let Ok(bytes) = <[u8; 8]>::try_from(raw.as_slice()) {
            return u16::try_from(i64::from_le_bytes(bytes)).ok();
        }
        status_text(&raw)
    })
}

/// An HTTP status written as text. Parsed as a `u64`, the type every other number of the
/// module is parsed as (each integer type's `str::parse` is its own copy in the module).
pub fn status_text(text: &[u8]) -> Option<u16> {
    let n: u64 = std::str::from_utf8(text).ok()?.trim().parse().ok()?;
    u16::try_from(n).ok()
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

// Raw imports for the calls whose SDK wrappers panic on a non-OK status (and the header map,
// read without the SDK's copies). A host may refuse them (ngx_wasm_module in some phases, an
// undeclared nginx variable); a refusal must cost the request at most a missing header,
// never the VM.
#[link(wasm_import_module = "env")]
extern "C" {
    #[link_name = "proxy_get_header_map_pairs"]
    fn raw_get_header_map_pairs(map: u32, data: *mut *mut u8, size: *mut usize) -> u32;
    #[link_name = "proxy_set_property"]
    fn raw_set_property(
        path: *const u8,
        path_len: usize,
        value: *const u8,
        value_len: usize,
    ) -> u32;
    #[link_name = "proxy_replace_header_map_value"]
    fn raw_replace_header(
        map: u32,
        key: *const u8,
        key_len: usize,
        value: *const u8,
        value_len: usize,
    ) -> u32;
    #[link_name = "proxy_add_header_map_value"]
    fn raw_add_header(
        map: u32,
        key: *const u8,
        key_len: usize,
        value: *const u8,
        value_len: usize,
    ) -> u32;
    #[link_name = "proxy_remove_header_map_value"]
    fn raw_remove_header(map: u32, key: *const u8, key_len: usize) -> u32;
    #[link_name = "proxy_send_local_response"]
    fn raw_send_local_response(
        status: u32,
        details: *const u8,
        details_len: usize,
        body: *const u8,
        body_len: usize,
        headers: *const u8,
        headers_len: usize,
        grpc_status: i32,
    ) -> u32;
}

const REQUEST_HEADERS: u32 = 0;
const RESPONSE_HEADERS: u32 = 2;

fn status(code: u32) -> Result<(), u32> {
    if code == 0 {
        Ok(())
    } else {
        Err(code)
    }
}

/// Signature shared by `proxy_replace_header_map_value` and `proxy_add_header_map_value`.
type PairCall = unsafe extern "C" fn(u32, *const u8, usize, *const u8, usize) -> u32;

fn pair_call(call: PairCall, map: u32, name: &str, value: &str) -> Result<(), u32> {
    // SAFETY: the buffers outlive the call; the host copies them.
    status(unsafe { call(map, name.as_ptr(), name.len(), value.as_ptr(), value.len()) })
}

pub fn set_request_header(name: &str, value: &str) -> Result<(), u32> {
    pair_call(raw_replace_header, REQUEST_HEADERS, name, value)
}

pub fn add_response_header(name: &str, value: &str) -> Result<(), u32> {
    pair_call(raw_add_header, RESPONSE_HEADERS, name, value)
}

pub fn remove_request_header(name: &str) -> Result<(), u32> {
    // SAFETY: as above.
    status(unsafe { raw_remove_header(REQUEST_HEADERS, name.as_ptr(), name.len()) })
}

/// proxy-wasm header map: u32 count, (u32 key_len, u32 value_len) per pair, then each key
/// and value followed by NUL.
pub(crate) fn serialize_headers(headers: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    let count = u32::try_from(headers.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&count.to_le_bytes());
    for (k, v) in headers {
        for len in [k.len(), v.len()] {
            out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
        }
    }
    for (k, v) in headers {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

pub fn send_reply(code: u16, headers: &[(String, String)], body: &str) -> Result<(), u32> {
    let map = serialize_headers(headers);
    // SAFETY: as above; no details string, no gRPC status (-1).
    status(unsafe {
        raw_send_local_response(
            u32::from(code),
            std::ptr::null(),
            0,
            body.as_ptr(),
            body.len(),
            map.as_ptr(),
            map.len(),
            -1,
        )
    })
}

/// Sets nginx variable `$name` through ngx_wasm_module's `ngx.<name>` property.
/// Returns the host status on failure (e.g. the variable was never declared with `set`).
pub fn set_ngx_variable(name: &str, value: &str) -> Result<(), u32> {
    let path = format!("ngx\0{name}");
    // SAFETY: as above.
    status(unsafe { raw_set_property(path.as_ptr(), path.len(), value.as_ptr(), value.len()) })
}
