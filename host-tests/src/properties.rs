//! Properties (`proxy_get_property` / `proxy_set_property`) with Envoy's attribute names.
//! Strings are raw bytes; integers are 8-byte little-endian, as Envoy serializes them.

use crate::abi::status;
use crate::logs::LogLevel;
use crate::profile::Profile;
use crate::stream::StreamData;
use crate::vm::VmState;

/// Resolve a property path (segments) for the active context. `None` = NotFound.
pub fn get(state: &VmState, path: &[String], raw: &[u8]) -> Option<Vec<u8>> {
    let segs: Vec<&str> = path.iter().map(String::as_str).collect();
    if let Some(v) = plugin_attribute(state, &segs) {
        return Some(v);
    }
    if let Some(s) = state.stream_ref() {
        if let Some(v) = stream_attribute(state.profile, s, &segs) {
            return Some(v);
        }
        if let Some(v) = s.properties.get(raw) {
            return Some(v.clone());
        }
    }
    state.root_properties.get(raw).cloned()
}

/// Store a property. Returns the status for the plugin.
pub fn set(state: &mut VmState, path: &[String], raw: &[u8], value: Vec<u8>) -> i32 {
    let in_stream = state.in_stream();
    if let [ns, var] = path {
        if ns == "ngx" && state.profile.is_ngx() {
            if !in_stream || !state.plugin.ngx_vars.contains(var.as_str()) {
                state.note(
                    LogLevel::Error,
                    format!(
                        "ngx_wasm_module: cannot set nginx variable ${var}: not declared \
                         (nginx needs `set ${var} '';`; declare it with PluginBuilder::ngx_var)"
                    ),
                );
                return status::NOT_FOUND;
            }
            let text = String::from_utf8_lossy(&value).into_owned();
            if let Some(s) = state.stream_mut() {
                s.ngx_vars.insert(var.clone(), text);
            }
        }
    }
    if state.profile.is_ngx() {
        // ngx_proxy_wasm_properties_set: only `ngx.*` and the host namespace `wasmx.*` can be
        // set; anything else is NotFound, and `wasmx.*` exists only in a request.
        match path.first().map(String::as_str) {
            Some("ngx") => {}
            Some("wasmx") if in_stream => {}
            Some("wasmx") => {
                state.note(
                    LogLevel::Error,
                    "ngx_wasm_module: cannot set scoped properties outside of a request".into(),
                );
                return status::INTERNAL_FAILURE;
            }
            _ => {
                state.note(
                    LogLevel::Warn,
                    format!(
                        "ngx_wasm_module: property {} cannot be set (only ngx.* and wasmx.*)",
                        path.join(".")
                    ),
                );
                return status::NOT_FOUND;
            }
        }
    }
    match state.stream_mut() {
        Some(s) if in_stream => {
            s.properties.insert(raw.to_vec(), value);
        }
        _ => {
            state.root_properties.insert(raw.to_vec(), value);
        }
    }
    status::OK
}

fn plugin_attribute(state: &VmState, segs: &[&str]) -> Option<Vec<u8>> {
    let p = &state.plugin;
    let v = match segs {
        ["plugin_name"] => p.name.clone(),
        ["plugin_root_id"] if state.profile.is_ngx() => "0".to_string(),
        ["plugin_root_id"] => p.root_id.clone(),
        ["plugin_vm_id"] => p.vm_id.clone(),
        _ => return None,
    };
    Some(v.into_bytes())
}

fn int(v: i64) -> Option<Vec<u8>> {
    Some(v.to_le_bytes().to_vec())
}

fn text(v: &str) -> Option<Vec<u8>> {
    Some(v.as_bytes().to_vec())
}

fn port_of(addr: &str) -> i64 {
    addr.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(0)
}

fn stream_attribute(profile: Profile, s: &StreamData, segs: &[&str]) -> Option<Vec<u8>> {
    let info = s.info.as_ref()?;
    let path = s.request_header(":path").unwrap_or("/");
    let (url_path, query) = path.split_once('?').unwrap_or((path, ""));
    match segs {
        ["request", "path"] => text(path),
        ["request", "url_path"] => text(url_path),
        ["request", "query"] => text(query),
        ["request", "host"] => text(s.request_header(":authority")?),
        ["request", "scheme"] => text(s.request_header(":scheme")?),
        ["request", "method"] => text(s.request_header(":method")?),
        ["request", "headers", name] => text(s.request_header(name)?),
        ["request", "referer"] => text(s.request_header("referer")?),
        ["request", "useragent"] => text(s.request_header("user-agent")?),
        ["request", "id"] => text(&info.request_id),
        ["request", "protocol"] => text(&info.protocol),
        ["request", "time"] => int(info.start_ns as i64),
        ["response", "code"] if s.response_started => {
            int(s.response_header(":status")?.parse().ok()?)
        }
        ["response", "code_details"] if s.local_reply.is_some() => text(
            s.local_reply
                .as_ref()
                .map(|r| r.details.as_str())
                .unwrap_or(""),
        ),
        ["response", "headers", name] if s.response_started => text(s.response_header(name)?),
        ["response", "flags"] if s.response_started => int(0),
        ["source", "address"] => text(&info.source),
        ["source", "port"] => int(port_of(&info.source)),
        ["destination", "address"] => text(&info.destination),
        ["destination", "port"] => int(port_of(&info.destination)),
        ["connection", "mtls"] => Some(vec![0]),
        ["ngx", var] if profile.is_ngx() => ngx_variable(s, info, var),
        _ => None,
    }
}

/// nginx variables: written ones, then the built-ins a plugin usually reads.
fn ngx_variable(s: &StreamData, info: &crate::stream::ConnInfo, var: &str) -> Option<Vec<u8>> {
    if let Some(v) = s.ngx_vars.get(var) {
        return text(v);
    }
    let path = s.request_header(":path").unwrap_or("/");
    let (uri, args) = path.split_once('?').unwrap_or((path, ""));
    let (remote_addr, remote_port) = info.source.rsplit_once(':').unwrap_or((&info.source, ""));
    let (server_addr, server_port) = info
        .destination
        .rsplit_once(':')
        .unwrap_or((&info.destination, ""));
    match var {
        "request_method" => text(s.request_header(":method")?),
        "request_uri" => text(path),
        "uri" => text(uri),
        "args" => text(args),
        "host" => text(s.request_header(":authority")?),
        "scheme" => text(s.request_header(":scheme")?),
        "remote_addr" => text(remote_addr),
        "remote_port" => text(remote_port),
        "server_addr" => text(server_addr),
        "server_port" => text(server_port),
        "request_id" => text(&info.request_id),
        "status" if s.response_started => text(s.response_header(":status")?),
        _ => {
            let header = var.strip_prefix("http_")?.replace('_', "-");
            text(s.request_header(&header)?)
        }
    }
}
