//! The per-VM state every host call sees (the wasmtime `Store` data of one worker).

use crate::callouts::CalloutRequest;
use crate::grpc_callouts::{GrpcCall, GrpcStreamEvent};
use crate::host::HostShared;
use crate::host_calls::HostCalls;
use crate::logs::{LogEntry, LogLevel, LogSource};
use crate::profile::Profile;
use crate::stream::StreamData;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use wasmtime::{Memory, TypedFunc};

/// Static facts about the loaded plugin (Envoy's plugin config).
#[derive(Clone, Debug)]
pub struct PluginInfo {
    pub name: String,
    pub root_id: String,
    pub vm_id: String,
    pub vm_config: Vec<u8>,
    pub plugin_config: Vec<u8>,
    pub log_level: LogLevel,
    /// nginx variables declared in the config (`set $name ...;`); others cannot be set.
    pub ngx_vars: BTreeSet<String>,
    /// Keep serving after `proxy_on_configure` returned false (see `PluginBuilder::keep_rejected`).
    pub keep_rejected: bool,
}

/// A callout waiting for its answer.
#[derive(Clone, Debug)]
pub struct PendingCallout {
    pub token: u32,
    pub context: u32,
    pub request: CalloutRequest,
}

/// A gRPC call waiting for its answer.
#[derive(Clone, Debug)]
pub struct PendingGrpc {
    pub token: u32,
    pub context: u32,
    pub call: GrpcCall,
}

/// Server events of a gRPC stream waiting for delivery.
#[derive(Clone, Debug)]
pub struct PendingStreamEvents {
    pub token: u32,
    pub context: u32,
    pub events: Vec<GrpcStreamEvent>,
}

/// A callout answer as the plugin reads it (map types 6/7, buffer type 4).
#[derive(Clone, Debug, Default)]
pub struct CalloutView {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
}

pub struct VmState {
    pub host: Arc<HostShared>,
    pub profile: Profile,
    pub worker: u32,
    pub plugin: PluginInfo,
    pub root_context: u32,
    pub next_context: u32,
    /// The context host calls act on (`proxy_set_effective_context` changes it).
    pub active: u32,
    /// The in-flight stream's context id in this VM and its data while callbacks run.
    pub stream_context: Option<u32>,
    pub stream: Option<StreamData>,
    /// `set_property` values written from the root context.
    pub root_properties: HashMap<Vec<u8>, Vec<u8>>,
    pub tick_period_ms: u32,
    pub next_tick_ns: Option<u64>,
    pub next_token: u32,
    pub pending_callouts: Vec<PendingCallout>,
    /// The answer readable while `proxy_on_http_call_response` runs.
    pub callout_response: Option<CalloutView>,
    pub pending_grpc: Vec<PendingGrpc>,
    /// The gRPC answer readable while it is delivered: body (buffer type 5) and status.
    pub grpc_response: Option<Vec<u8>>,
    pub grpc_status: (u32, String),
    /// Open gRPC streams by token: what was opened, and the context it answers to.
    pub grpc_streams: HashMap<u32, (GrpcCall, u32)>,
    pub pending_stream_events: Vec<PendingStreamEvents>,
    /// gRPC stream metadata readable while it is delivered (map types 4 and 5).
    pub grpc_metadata: Option<Vec<(String, String)>>,
    pub resume_request: bool,
    pub resume_response: bool,
    pub rng: u64,
    /// The module's `memory` and allocator, set right after instantiation.
    pub memory: Option<Memory>,
    pub alloc: Option<TypedFunc<u32, u32>>,
    /// Host calls counted since the last time a request or `Worker::host_calls` took them.
    pub calls: HostCalls,
    /// Host calls made outside any request (lifecycle, ticks, reconfigure).
    pub calls_outside: HostCalls,
    /// `calls` belong to a request in flight (one that trapped never hands them over).
    pub counting_request: bool,
}

impl VmState {
    /// A new callout token (unique in this VM: the SDK panics on reuse) and the context it
    /// answers to.
    pub fn new_token(&mut self) -> (u32, u32) {
        self.next_token += 1;
        (self.next_token, self.active)
    }

    pub fn new(host: Arc<HostShared>, worker: u32, plugin: PluginInfo, seed: u64) -> VmState {
        VmState {
            profile: host.profile,
            host,
            worker,
            plugin,
            root_context: crate::worker::ROOT_CONTEXT,
            next_context: crate::worker::ROOT_CONTEXT + 1,
            active: crate::worker::ROOT_CONTEXT,
            stream_context: None,
            stream: None,
            root_properties: HashMap::new(),
            tick_period_ms: 0,
            next_tick_ns: None,
            next_token: 0,
            pending_callouts: Vec::new(),
            callout_response: None,
            pending_grpc: Vec::new(),
            grpc_response: None,
            grpc_status: (0, String::new()),
            grpc_streams: HashMap::new(),
            pending_stream_events: Vec::new(),
            grpc_metadata: None,
            resume_request: false,
            resume_response: false,
            rng: seed | 1,
            memory: None,
            alloc: None,
            calls: HostCalls::default(),
            calls_outside: HostCalls::default(),
            counting_request: false,
        }
    }

    /// Record a log line (below the configured level it is dropped, as a proxy does).
    pub fn log(&self, level: LogLevel, source: LogSource, message: String) {
        if level < self.plugin.log_level && source != LogSource::Host {
            return;
        }
        self.host.logs.push(LogEntry {
            worker: self.worker,
            level,
            source,
            message,
        });
    }

    /// A host note (refused calls, profile behaviour), always kept.
    pub fn note(&self, level: LogLevel, message: String) {
        self.log(level, LogSource::Host, message);
    }

    /// True if the active context is the in-flight stream.
    pub fn in_stream(&self) -> bool {
        self.stream.is_some() && self.stream_context == Some(self.active)
    }

    pub fn stream_mut(&mut self) -> Option<&mut StreamData> {
        if self.in_stream() {
            self.stream.as_mut()
        } else {
            None
        }
    }

    pub fn stream_ref(&self) -> Option<&StreamData> {
        if self.in_stream() {
            self.stream.as_ref()
        } else {
            None
        }
    }

    /// Deterministic xorshift64* stream for WASI `random_get` and request ids.
    pub fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}
