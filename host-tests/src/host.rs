//! `Host`: one emulated proxy process. Its workers (VM instances) share the clock, shared data,
//! queues, metrics, logs and callout targets.

use crate::callouts::{CalloutRequest, CalloutResponse, Callouts};
use crate::clock::Clock;
use crate::error::HostError;
use crate::grpc_callouts::{GrpcCall, GrpcCallouts, GrpcReply, GrpcStreamEvent};
use crate::logs::{LogEntry, Logs};
use crate::metrics::Metrics;
use crate::module_cache;
use crate::plugin::PluginBuilder;
use crate::profile::Profile;
use crate::queues::Queues;
use crate::request::UpstreamRequest;
use crate::response::UpstreamResponse;
use crate::shared_data::SharedData;
use crate::sync::lock;
use crate::worker::{Worker, WorkerCore};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

pub(crate) type UpstreamFn = Arc<dyn Fn(&UpstreamRequest) -> UpstreamResponse + Send + Sync>;

pub struct HostShared {
    pub profile: Profile,
    pub clock: Clock,
    pub shared_data: SharedData,
    pub queues: Queues,
    pub metrics: Metrics,
    pub logs: Logs,
    pub callouts: Callouts,
    pub grpc: GrpcCallouts,
    pub(crate) upstream: Mutex<Option<UpstreamFn>>,
    pub(crate) seed: AtomicU64,
    /// nginx: the `wasm { shm_kv * <size>; }` zone exists (shared data works).
    pub(crate) shm_kv: AtomicBool,
    /// nginx: `proxy_set_header` lines of the location (name, literal or `$var`).
    pub(crate) proxy_set_headers: Mutex<Vec<(String, String)>>,
    pub(crate) workers: Mutex<Vec<Weak<Mutex<WorkerCore>>>>,
    pub(crate) next_worker: AtomicU32,
    /// Where `Host::module(name)` looks (`None`: `module_cache::default_module_dir`).
    pub(crate) module_dir: Mutex<Option<PathBuf>>,
}

/// An emulated proxy (Envoy or nginx) that loads proxy-wasm plugins. Cheap to clone.
#[derive(Clone)]
pub struct Host {
    pub(crate) shared: Arc<HostShared>,
}

impl Host {
    pub fn new(profile: Profile) -> Host {
        Host {
            shared: Arc::new(HostShared {
                profile,
                clock: Clock::default(),
                shared_data: SharedData::default(),
                queues: Queues::default(),
                metrics: Metrics::default(),
                logs: Logs::default(),
                callouts: Callouts::default(),
                grpc: GrpcCallouts::default(),
                upstream: Mutex::new(None),
                seed: AtomicU64::new(0x5eed_1234_abcd_0001),
                shm_kv: AtomicBool::new(true),
                proxy_set_headers: Mutex::new(Vec::new()),
                workers: Mutex::new(Vec::new()),
                next_worker: AtomicU32::new(1),
                module_dir: Mutex::new(None),
            }),
        }
    }

    pub fn profile(&self) -> Profile {
        self.shared.profile
    }

    /// Load a plugin from a .wasm path (compiled once per process).
    pub fn plugin(&self, path: impl AsRef<Path>) -> Result<PluginBuilder, HostError> {
        let path = path.as_ref();
        let module = module_cache::load(path)?;
        Ok(PluginBuilder::new(self.clone(), module, path))
    }

    /// Load module `name` (`<dir>/<name>.wasm`) from the directory set with `module_dir`, else
    /// `$PROXY_WASM_MODULE_DIR`, else `<target>/wasm32-wasip1/release`. Missing file: `MissingModule`.
    pub fn module(&self, name: &str) -> Result<PluginBuilder, HostError> {
        let dir = lock(&self.shared.module_dir)
            .clone()
            .unwrap_or_else(module_cache::default_module_dir);
        self.plugin(module_cache::module_path(&dir, name)?)
    }

    /// The directory `module(name)` loads from.
    pub fn module_dir(&self, dir: impl Into<PathBuf>) -> &Self {
        *lock(&self.shared.module_dir) = Some(dir.into());
        self
    }

    /// Shorthand: load module `name`, configure it with `config` and start one worker.
    pub fn start(&self, name: &str, config: impl AsRef<[u8]>) -> Result<Worker, HostError> {
        self.module(name)?.config(config).start()
    }

    /// Seed of WASI `random_get` and generated request ids (each worker derives its own stream).
    pub fn seed(&self, seed: u64) -> &Self {
        self.shared.seed.store(seed, Ordering::SeqCst);
        self
    }

    /// ngx_wasm_module: whether nginx.conf declares the default shared-data zone
    /// (`wasm { shm_kv * 1m; }`). Default: declared, as a working configuration has it.
    /// Without it `proxy_get_shared_data` and `proxy_set_shared_data` trap ("could not resolve
    /// namespace") and the request gets a 500. No effect under Envoy.
    pub fn ngx_shm_kv(&self, declared: bool) -> &Self {
        self.shared.shm_kv.store(declared, Ordering::SeqCst);
        self
    }

    /// ngx_wasm_module: a `proxy_set_header <name> <value>;` line in the location, where
    /// `value` is a literal or one `$variable` a plugin sets (`PluginBuilder::ngx_var`). The
    /// upstream then gets that value (nothing if empty) instead of any client copy of the
    /// header, one a plugin removed included. No effect under Envoy.
    pub fn ngx_proxy_set_header(&self, name: &str, value: &str) -> &Self {
        lock(&self.shared.proxy_set_headers).push((name.to_string(), value.to_string()));
        self
    }

    // ----- time -----

    /// Virtual time in milliseconds since the Unix epoch (starts at 2026-01-01T00:00:00Z).
    pub fn now_ms(&self) -> u64 {
        self.shared.clock.now_ns() / 1_000_000
    }

    /// Move the virtual clock forward by `ms`, firing every worker's `on_tick` at its due times
    /// (in time order), then delivering queue notifications. A trap in `on_tick` is an error.
    pub fn advance(&self, ms: u64) -> Result<(), HostError> {
        let target = self.shared.clock.now_ns() + ms * 1_000_000;
        loop {
            let mut due: Option<(u64, Arc<Mutex<WorkerCore>>)> = None;
            for w in self.live_workers() {
                let next = lock(&w).next_tick_ns();
                if let Some(t) = next.filter(|t| *t <= target) {
                    if due.as_ref().is_none_or(|(best, _)| t < *best) {
                        due = Some((t, w));
                    }
                }
            }
            let Some((t, w)) = due else { break };
            self.shared.clock.set_ns(t);
            lock(&w).fire_tick()?;
            self.pump()?;
        }
        self.shared.clock.set_ns(target);
        self.pump()
    }

    // ----- shared data -----

    /// Current value of a shared-data key (what every worker reads). Envoy keeps one store per
    /// `vm_id`: this is the store of VMs with the default (empty) id; see `shared_data_of`.
    pub fn shared_data(&self, key: &str) -> Option<Vec<u8>> {
        self.shared_data_of("", key)
    }

    /// Envoy: a key in the store of VMs started with `PluginBuilder::vm_id(vm_id)`.
    /// (nginx has one store: use `shared_data`.)
    pub fn shared_data_of(&self, vm_id: &str, key: &str) -> Option<Vec<u8>> {
        self.shared.shared_data.get(vm_id, key).map(|(v, _)| v)
    }

    /// Value and CAS token of a shared-data key.
    pub fn shared_data_cas(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.shared.shared_data.get("", key)
    }

    /// Write a shared-data key unconditionally (seeding state for a test).
    pub fn set_shared_data(&self, key: &str, value: impl AsRef<[u8]>) {
        self.shared
            .shared_data
            .set("", key, value.as_ref().to_vec(), 0);
    }

    pub fn shared_data_keys(&self) -> Vec<String> {
        self.shared.shared_data.keys("")
    }

    // ----- metrics and logs -----

    /// Counter or gauge by the name the plugin defined (no `wasmcustom.` prefix).
    pub fn metric(&self, name: &str) -> Option<i64> {
        self.shared.metrics.value(name)
    }

    /// Values recorded in a histogram.
    pub fn histogram(&self, name: &str) -> Option<Vec<u64>> {
        self.shared.metrics.histogram(name)
    }

    /// Every counter and gauge.
    pub fn metrics(&self) -> BTreeMap<String, i64> {
        self.shared.metrics.snapshot()
    }

    /// Every log line of every worker, in order.
    pub fn logs(&self) -> Vec<LogEntry> {
        self.shared.logs.all()
    }

    // ----- callouts and the upstream -----

    /// Answer http calls to `upstream` (Envoy: a cluster name; nginx: `host:port`) with a
    /// function. Returning `None` makes the call fail (the plugin sees no headers, no body).
    pub fn script_http_call(
        &self,
        upstream: &str,
        responder: impl Fn(&CalloutRequest) -> Option<CalloutResponse> + Send + Sync + 'static,
    ) -> &Self {
        self.shared.callouts.script(upstream, Arc::new(responder));
        self
    }

    /// Envoy: declare cluster `name`, served by a real HTTP/1.1 server at a loopback `addr`.
    /// (Under ngx_wasm_module a `127.0.0.1:port` upstream needs no declaration.)
    pub fn cluster(&self, name: &str, addr: &str) -> &Self {
        self.shared.callouts.cluster(name, addr);
        self
    }

    /// Envoy: declare gRPC cluster `cluster` and answer its unary calls with a function
    /// (`GrpcReply::ok(body)` or `GrpcReply::error(14, "unavailable")`). Calls to a cluster not
    /// declared are refused at dispatch (ParseFailure), as Envoy does. nginx: every gRPC call traps.
    pub fn script_grpc_call(
        &self,
        cluster: &str,
        responder: impl Fn(&GrpcCall) -> GrpcReply + Send + Sync + 'static,
    ) -> &Self {
        self.shared.grpc.script(cluster, Arc::new(responder));
        self
    }

    /// Envoy: declare gRPC cluster `cluster` for streams. `responder(stream, end_stream)` runs for
    /// each message the plugin sends (`stream.message`) and returns what the server sends back
    /// (`GrpcStreamEvent`s, delivered in order after the plugin's callback returns).
    pub fn script_grpc_stream(
        &self,
        cluster: &str,
        responder: impl Fn(&GrpcCall, bool) -> Vec<GrpcStreamEvent> + Send + Sync + 'static,
    ) -> &Self {
        self.shared.grpc.script_stream(cluster, Arc::new(responder));
        self
    }

    /// Every gRPC call dispatched by any worker, in order (a stream: one entry per message).
    pub fn grpc_calls(&self) -> Vec<GrpcCall> {
        self.shared.grpc.history()
    }

    /// Every http call dispatched by any worker, in order.
    pub fn http_calls(&self) -> Vec<CalloutRequest> {
        self.shared.callouts.history()
    }

    /// How the upstream answers requests that reach it (unless the request sets `.respond`).
    /// Default: 200 with no body.
    pub fn set_upstream(
        &self,
        f: impl Fn(&UpstreamRequest) -> UpstreamResponse + Send + Sync + 'static,
    ) -> &Self {
        *lock(&self.shared.upstream) = Some(Arc::new(f));
        self
    }

    // ----- internals -----

    pub(crate) fn register(&self, w: &Arc<Mutex<WorkerCore>>) {
        let mut all = lock(&self.shared.workers);
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(w));
    }

    pub(crate) fn live_workers(&self) -> Vec<Arc<Mutex<WorkerCore>>> {
        lock(&self.shared.workers)
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }

    /// Deliver pending `on_queue_ready` notifications (Envoy posts them to the owner's thread).
    pub(crate) fn pump(&self) -> Result<(), HostError> {
        for _ in 0..10_000 {
            let ready = self.shared.queues.take_ready();
            if ready.is_empty() {
                return Ok(());
            }
            let workers = self.live_workers();
            for (worker, context, queue) in ready {
                if let Some(w) = workers.iter().find(|w| lock(w).id == worker) {
                    lock(w).queue_ready(context, queue)?;
                }
            }
        }
        Ok(())
    }
}
