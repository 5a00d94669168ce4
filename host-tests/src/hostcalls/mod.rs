//! The `env.proxy_*` imports. Each file links one family of calls.

mod buffers;
mod foreign;
mod grpc;
mod http_call;
mod log_time;
mod maps;
mod metrics;
mod properties;
mod queues;
mod shared_data;
mod stream_control;

use crate::logs::LogLevel;
use crate::profile::Profile;
use crate::vm::VmState;
use wasmtime::{Caller, Linker, Result};

/// Every `env` function of ABI 0.2.1 this crate defines (the README coverage table lists each).
pub const PROXY_FUNCTIONS: &[&str] = &[
    "proxy_log",
    "proxy_get_log_level",
    "proxy_get_current_time_nanoseconds",
    "proxy_set_tick_period_milliseconds",
    "proxy_get_buffer_bytes",
    "proxy_set_buffer_bytes",
    "proxy_get_buffer_status",
    "proxy_get_header_map_pairs",
    "proxy_set_header_map_pairs",
    "proxy_get_header_map_value",
    "proxy_add_header_map_value",
    "proxy_replace_header_map_value",
    "proxy_remove_header_map_value",
    "proxy_get_header_map_size",
    "proxy_get_property",
    "proxy_set_property",
    "proxy_get_shared_data",
    "proxy_set_shared_data",
    "proxy_register_shared_queue",
    "proxy_resolve_shared_queue",
    "proxy_enqueue_shared_queue",
    "proxy_dequeue_shared_queue",
    "proxy_continue_stream",
    "proxy_close_stream",
    "proxy_send_local_response",
    "proxy_http_call",
    "proxy_grpc_call",
    "proxy_grpc_stream",
    "proxy_grpc_send",
    "proxy_grpc_cancel",
    "proxy_grpc_close",
    "proxy_get_status",
    "proxy_set_effective_context",
    "proxy_call_foreign_function",
    "proxy_done",
    "proxy_define_metric",
    "proxy_increment_metric",
    "proxy_record_metric",
    "proxy_get_metric",
];

/// Define every `env.proxy_*` function the profile's host provides.
pub fn link(linker: &mut Linker<VmState>, profile: Profile) -> Result<()> {
    log_time::link(linker)?;
    maps::link(linker, profile)?;
    buffers::link(linker, profile)?;
    properties::link(linker)?;
    shared_data::link(linker)?;
    queues::link(linker)?;
    stream_control::link(linker)?;
    http_call::link(linker)?;
    grpc::link(linker)?;
    foreign::link(linker)?;
    metrics::link(linker)?;
    Ok(())
}

/// ngx_wasm_module answers calls it does not implement with a trap ("NYI"); the filter fails
/// and the request gets a 500.
pub(crate) fn ngx_nyi(caller: &Caller<'_, VmState>, what: &str) -> wasmtime::Error {
    let msg = format!(
        "ngx_wasm_module: NYI - `{what}` is not implemented (trap; request fails with 500)"
    );
    caller.data().note(LogLevel::Error, msg.clone());
    wasmtime::format_err!(msg)
}

/// Log why a call was refused and hand back the status.
pub(crate) fn refuse(caller: &Caller<'_, VmState>, status: i32, why: String) -> i32 {
    caller.data().note(LogLevel::Warn, why);
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Host;
    use crate::logs::LogLevel;
    use crate::module_cache::engine;
    use crate::vm::PluginInfo;
    use wasmtime::Store;

    /// The linker defines exactly PROXY_FUNCTIONS (minus the profile's missing ones).
    #[test]
    fn linker_matches_the_list() {
        for profile in Profile::ALL {
            let mut linker: Linker<VmState> = Linker::new(engine());
            link(&mut linker, profile).unwrap();
            let info = PluginInfo {
                name: String::new(),
                root_id: String::new(),
                vm_id: String::new(),
                vm_config: Vec::new(),
                plugin_config: Vec::new(),
                log_level: LogLevel::Info,
                ngx_vars: Default::default(),
                keep_rejected: false,
            };
            let host = Host::new(profile);
            let mut store = Store::new(engine(), VmState::new(host.shared.clone(), 1, info, 1));
            let mut defined: Vec<String> = linker
                .iter(&mut store)
                .filter(|(m, _, _)| *m == "env")
                .map(|(_, n, _)| n.to_string())
                .collect();
            defined.sort();
            let mut expected: Vec<String> = PROXY_FUNCTIONS
                .iter()
                .filter(|n| !profile.missing_imports().contains(n))
                .map(|n| n.to_string())
                .collect();
            expected.sort();
            assert_eq!(defined, expected, "{profile}");
        }
    }
}
