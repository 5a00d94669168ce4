//! The proxy-wasm SDK's context methods (`self.get_http_request_header(..)`,
//! `self.set_property(..)`, ...) unwrap the host's status and panic on an unexpected one, which
//! aborts the VM. The glue and the modules call the host through `host.rs` and `hostcalls`
//! instead, which return the status. This test fails when one of those methods is called.

use std::path::{Path, PathBuf};

/// Every SDK 0.2.5 context method whose default body unwraps a host call (the `on_*`
/// callbacks aside, which the host calls, not us).
const PANICKING: &[&str] = &[
    "get_current_time",
    "get_property",
    "set_property",
    "get_shared_data",
    "register_shared_queue",
    "resolve_shared_queue",
    "get_plugin_configuration",
    "get_vm_configuration",
    "set_tick_period",
    "send_http_response",
    "send_grpc_response",
    "cancel_grpc_call",
    "cancel_grpc_stream",
    "close_grpc_stream",
    "send_grpc_stream_message",
    "get_grpc_stream_initial_metadata_value",
    "get_grpc_stream_trailing_metadata_value",
    "resume_http_request",
    "resume_http_response",
    "reset_http_request",
    "reset_http_response",
    "resume_downstream",
    "resume_upstream",
    "close_downstream",
    "close_upstream",
    "get_downstream_data",
    "set_downstream_data",
    "get_upstream_data",
    "set_upstream_data",
];

/// Prefixes of the SDK's header, trailer and body accessors: every one of them unwraps.
const PANICKING_PREFIXES: &[&str] = &[
    "get_http_request_",
    "set_http_request_",
    "add_http_request_",
    "remove_http_request_",
    "get_http_response_",
    "set_http_response_",
    "add_http_response_",
    "remove_http_response_",
    "get_http_call_response_",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Method names called as `.name(` in `text`.
fn called_methods(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices('.') {
        let rest = &text[i + 1..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if !name.is_empty() && rest[name.len()..].starts_with('(') {
            out.push(name);
        }
    }
    out
}

#[test]
fn no_module_calls_a_panicking_sdk_method() {
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in [
        "glue/src",
        "unitgate/src",
        "shard-router/src",
        "gray-release/src",
        "fault-isolation/src",
    ] {
        rust_files(&plugins.join(dir), &mut files);
    }
    assert!(
        files.len() > 10,
        "sources not found under {}",
        plugins.display()
    );
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for name in called_methods(&text) {
            let panics = PANICKING.contains(&name.as_str())
                || PANICKING_PREFIXES.iter().any(|p| name.starts_with(p));
            if panics {
                found.push(format!("{}: .{name}(", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "SDK methods that panic on a host status:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_such_a_call() {
    let names = called_methods("let v = self.get_http_request_header(\"x\"); host::log(v.len());");
    assert_eq!(names, ["get_http_request_header", "len"]);
}
