//! A worker: one VM instance of a plugin (Envoy runs one per worker thread). `WorkerCore` calls
//! into the module and turns traps into errors; `Worker` is the test's handle.

use crate::abi::codec;
use crate::error::HostError;
use crate::grpc_callouts::GrpcStreamEvent;
use crate::host::Host;
use crate::host_calls::{self, HostCalls};
use crate::hostcalls;
use crate::logs::{render, LogEntry, LogLevel, LogSource};
use crate::module_cache::engine;
use crate::plugin::PluginBuilder;
use crate::request::RequestBuilder;
use crate::stream::StreamData;
use crate::sync::lock;
use crate::vm::{CalloutView, VmState};
use crate::wasi;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use wasmtime::{Instance, Linker, Store, Val};

/// Context id of the root context (Envoy allocates it first, after the VM context 0).
pub const ROOT_CONTEXT: u32 = 1;

/// What a stream callback returned, and whether the plugin resumed the stream meanwhile.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HookResult {
    pub action: u32,
    pub resumed_request: bool,
    pub resumed_response: bool,
    /// An http call was pending when the callback returned.
    pub dispatched: bool,
}

pub struct WorkerCore {
    pub(crate) id: u32,
    pub(crate) store: Store<VmState>,
    instance: Instance,
    pub(crate) dead: Option<String>,
    /// What started this VM, to start a fresh instance after a trap (ngx_wasm_module).
    builder: PluginBuilder,
}

impl WorkerCore {
    fn instantiate(p: &PluginBuilder, id: u32) -> Result<WorkerCore, HostError> {
        let host = &p.host;
        let profile = host.profile();
        let load_err = |reason: String| HostError::Load {
            path: p.path.clone(),
            reason,
        };
        for import in p.module.imports() {
            if import.module() == "env" && profile.missing_imports().contains(&import.name()) {
                return Err(load_err(format!(
                    "the module imports env.{}, which {profile} does not provide: it fails to load there",
                    import.name()
                )));
            }
        }
        let mut linker: Linker<VmState> = Linker::new(engine());
        hostcalls::link(&mut linker, profile).map_err(|e| load_err(e.to_string()))?;
        wasi::link(&mut linker, &p.module).map_err(|e| load_err(e.to_string()))?;
        let seed = host.shared.seed.load(Ordering::SeqCst)
            ^ (id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let state = VmState::new(host.shared.clone(), id, p.info.clone(), seed);
        let mut store = Store::new(engine(), state);
        // Fuel only counts instructions here: a VM never runs out.
        if crate::module_cache::counts_instructions() {
            store
                .set_fuel(u64::MAX)
                .map_err(|e| load_err(e.to_string()))?;
        }
        let linker = host_calls::counting_linker(&linker, &mut store, &p.module)
            .map_err(|e| load_err(e.to_string()))?;
        let instance = linker
            .instantiate(&mut store, &p.module)
            .map_err(|e| load_err(format!("{e:?}")))?;
        let memory = instance.get_memory(&mut store, "memory");
        let alloc = ["proxy_on_memory_allocate", "malloc"]
            .iter()
            .find_map(|n| instance.get_typed_func::<u32, u32>(&mut store, n).ok());
        let st = store.data_mut();
        st.memory = memory;
        st.alloc = alloc;
        let abi = ["proxy_abi_version_0_2_1", "proxy_abi_version_0_2_0"];
        if !abi
            .iter()
            .any(|n| instance.get_func(&mut store, n).is_some())
        {
            return Err(load_err(
                "not a proxy-wasm ABI 0.2.x module (no proxy_abi_version_0_2_1 export)".into(),
            ));
        }
        Ok(WorkerCore {
            id,
            store,
            instance,
            dead: None,
            builder: p.clone(),
        })
    }

    fn host_logs_mark(&self) -> usize {
        self.store.data().host.logs.len()
    }

    pub(crate) fn logs_text(&self) -> String {
        render(&self.store.data().host.logs.of_worker(self.id))
    }

    pub(crate) fn check_alive(&self) -> Result<(), HostError> {
        match &self.dead {
            Some(reason) => Err(HostError::Dead {
                worker: self.id,
                reason: reason.clone(),
                client_status: self.store.data().profile.failure_status(),
            }),
            None => Ok(()),
        }
    }

    /// Call an export with i32 arguments; a missing export is a no-op returning 0.
    pub(crate) fn call(&mut self, hook: &'static str, args: &[u32]) -> Result<u32, HostError> {
        self.call_or(hook, args, 0)
    }

    /// Like `call`, returning `missing` if the module does not export `hook`.
    fn call_or(
        &mut self,
        hook: &'static str,
        args: &[u32],
        missing: u32,
    ) -> Result<u32, HostError> {
        self.check_alive()?;
        let Some(func) = self.instance.get_func(&mut self.store, hook) else {
            return Ok(missing);
        };
        let ty = func.ty(&self.store);
        let params: Vec<Val> = (0..ty.params().len())
            .map(|i| Val::I32(args.get(i).copied().unwrap_or(0) as i32))
            .collect();
        let mut results = vec![Val::I32(0); ty.results().len()];
        let mark = self.host_logs_mark();
        let fuel = self.store.get_fuel().unwrap_or(0);
        let called = func.call(&mut self.store, &params, &mut results);
        let used = fuel.saturating_sub(self.store.get_fuel().unwrap_or(0));
        self.store.data_mut().calls.ran(hook, used);
        match called {
            Ok(()) => Ok(results.first().and_then(Val::i32).unwrap_or(0) as u32),
            Err(e) => {
                // A wasm trap (`unreachable` after a panic) or a host call that trapped on purpose.
                let message = match e.downcast_ref::<wasmtime::Trap>() {
                    Some(trap) => format!("wasm trap: {trap}"),
                    None => e.root_cause().to_string(),
                };
                let host = self.store.data().host.clone();
                let panic = host
                    .logs
                    .since(mark, self.id)
                    .into_iter()
                    .rev()
                    .find(|l| l.level == LogLevel::Critical && l.source == LogSource::Plugin)
                    .map(|l| l.message);
                self.dead = Some(format!("trapped in {hook}: {message}"));
                self.store.data().note(
                    LogLevel::Critical,
                    format!("VM trapped in {hook}: {message}; the VM is marked dead"),
                );
                Err(HostError::Trap {
                    worker: self.id,
                    hook,
                    message,
                    panic,
                    client_status: self.store.data().profile.failure_status(),
                    logs: self.logs_text(),
                })
            }
        }
    }

    /// Answer every pending http call and run `proxy_on_http_call_response` for each, then the
    /// gRPC calls (Envoy: `proxy_on_grpc_receive` for status 0, else `proxy_on_grpc_close`).
    pub(crate) fn deliver_callouts(&mut self) -> Result<(), HostError> {
        for _ in 0..10_000 {
            let st = self.store.data_mut();
            if st.pending_callouts.is_empty() {
                if !st.pending_grpc.is_empty() {
                    self.deliver_grpc()?;
                } else if !st.pending_stream_events.is_empty() {
                    self.deliver_stream_events()?;
                } else {
                    return Ok(());
                }
                continue;
            }
            let p = st.pending_callouts.remove(0);
            let host = st.host.clone();
            let view = match host.callouts.answer(st.profile, &p.request) {
                Some(r) => CalloutView {
                    headers: r.wire_headers(),
                    body: r.body,
                    trailers: r.trailers,
                },
                None => CalloutView::default(),
            };
            let args = [
                p.context,
                p.token,
                view.headers.len() as u32,
                view.body.len() as u32,
                view.trailers.len() as u32,
            ];
            let st = self.store.data_mut();
            st.callout_response = Some(view);
            st.active = p.context;
            let r = self.call("proxy_on_http_call_response", &args);
            self.store.data_mut().callout_response = None;
            r?;
        }
        Ok(())
    }

    fn deliver_grpc(&mut self) -> Result<(), HostError> {
        let st = self.store.data_mut();
        let p = st.pending_grpc.remove(0);
        let reply = st.host.grpc.answer(&p.call);
        st.active = p.context;
        st.grpc_status = (reply.status, reply.message);
        let r = if reply.status == 0 {
            let len = reply.body.len() as u32;
            st.grpc_response = Some(reply.body);
            self.call("proxy_on_grpc_receive", &[p.context, p.token, len])
        } else {
            self.call("proxy_on_grpc_close", &[p.context, p.token, reply.status])
        };
        let st = self.store.data_mut();
        st.grpc_response = None;
        st.grpc_status = (0, String::new());
        r.map(|_| ())
    }

    /// The server side of one gRPC stream send, event by event (a close ends the stream).
    fn deliver_stream_events(&mut self) -> Result<(), HostError> {
        let st = self.store.data_mut();
        let p = st.pending_stream_events.remove(0);
        for event in p.events {
            let st = self.store.data_mut();
            if !st.grpc_streams.contains_key(&p.token) {
                break;
            }
            st.active = p.context;
            let (hook, arg) = match event {
                GrpcStreamEvent::InitialMetadata(m) => {
                    let n = m.len() as u32;
                    st.grpc_metadata = Some(m);
                    ("proxy_on_grpc_receive_initial_metadata", n)
                }
                GrpcStreamEvent::TrailingMetadata(m) => {
                    let n = m.len() as u32;
                    st.grpc_metadata = Some(m);
                    ("proxy_on_grpc_receive_trailing_metadata", n)
                }
                GrpcStreamEvent::Message(body) => {
                    let n = body.len() as u32;
                    st.grpc_response = Some(body);
                    ("proxy_on_grpc_receive", n)
                }
                GrpcStreamEvent::Close(code, message) => {
                    st.grpc_streams.remove(&p.token);
                    st.grpc_status = (code, message);
                    ("proxy_on_grpc_close", code)
                }
            };
            let r = self.call(hook, &[p.context, p.token, arg]);
            let st = self.store.data_mut();
            st.grpc_metadata = None;
            st.grpc_response = None;
            st.grpc_status = (0, String::new());
            r?;
        }
        Ok(())
    }

    /// Call a root-context hook, then answer its callouts. A missing export counts as success.
    fn root_hook(&mut self, hook: &'static str, args: &[u32]) -> Result<u32, HostError> {
        let st = self.store.data_mut();
        st.active = st.root_context;
        let r = self.call_or(hook, args, 1)?;
        self.deliver_callouts()?;
        Ok(r)
    }

    /// `_initialize`, then the root context.
    fn create_root(&mut self) -> Result<(), HostError> {
        if self
            .instance
            .get_func(&mut self.store, "_initialize")
            .is_some()
        {
            self.call("_initialize", &[])?;
        }
        self.root_hook("proxy_on_context_create", &[ROOT_CONTEXT, 0])
            .map(|_| ())
    }

    fn lifecycle(&mut self) -> Result<(), HostError> {
        self.create_root()?;
        let vm_len = self.store.data().plugin.vm_config.len() as u32;
        if self.root_hook("proxy_on_vm_start", &[ROOT_CONTEXT, vm_len])? == 0 {
            return Err(self.rejected("proxy_on_vm_start"));
        }
        match self.configure() {
            Err(HostError::Rejected { .. }) if self.store.data().plugin.keep_rejected => {
                self.note(
                    LogLevel::Warn,
                    "host: proxy_on_configure returned false; serving anyway (keep_rejected)"
                        .into(),
                );
                Ok(())
            }
            other => other,
        }
    }

    /// ngx_wasm_module replaces a trapped instance when the next request needs it: a new
    /// instance, a new root context and `on_configure`, but no `on_vm_start`
    /// (`ngx_proxy_wasm_create_context` in ngx_proxy_wasm.c). Envoy keeps the VM dead.
    pub(crate) fn revive_if_ngx(&mut self) -> Result<(), HostError> {
        if self.dead.is_none() || !self.store.data().profile.is_ngx() {
            return Ok(());
        }
        let mut builder = self.builder.clone();
        builder.info = self.store.data().plugin.clone();
        let reason = self.dead.clone().unwrap_or_default();
        let outside = std::mem::take(&mut self.store.data_mut().calls_outside);
        *self = WorkerCore::instantiate(&builder, self.id)?;
        self.store.data_mut().calls_outside = outside;
        self.note(
            LogLevel::Info,
            format!("ngx_wasm_module: a new instance replaces the one that {reason}"),
        );
        self.create_root()?;
        self.configure()
    }

    fn configure(&mut self) -> Result<(), HostError> {
        let len = self.store.data().plugin.plugin_config.len() as u32;
        if self.root_hook("proxy_on_configure", &[ROOT_CONTEXT, len])? == 0 {
            return Err(self.rejected("proxy_on_configure"));
        }
        Ok(())
    }

    fn rejected(&self, hook: &'static str) -> HostError {
        HostError::Rejected {
            worker: self.id,
            hook,
            logs: self.logs_text(),
        }
    }

    pub(crate) fn next_tick_ns(&self) -> Option<u64> {
        if self.dead.is_some() {
            return None;
        }
        self.store.data().next_tick_ns
    }

    pub(crate) fn fire_tick(&mut self) -> Result<(), HostError> {
        if self.dead.is_some() {
            return Ok(());
        }
        let st = self.store.data_mut();
        let now = st.host.clock.now_ns();
        st.next_tick_ns = match st.tick_period_ms {
            0 => None,
            p => Some(now + p as u64 * 1_000_000),
        };
        self.root_hook("proxy_on_tick", &[ROOT_CONTEXT]).map(|_| ())
    }

    pub(crate) fn queue_ready(&mut self, context: u32, queue: u32) -> Result<(), HostError> {
        if self.dead.is_some() {
            return Ok(());
        }
        self.root_hook("proxy_on_queue_ready", &[context, queue])
            .map(|_| ())
    }

    /// Create the http context for a new stream; returns its id.
    pub(crate) fn open_stream(&mut self) -> Result<u32, HostError> {
        self.check_alive()?;
        let st = self.store.data_mut();
        let ctx = st.next_context;
        st.next_context += 1;
        st.stream_context = Some(ctx);
        st.active = ctx;
        self.call("proxy_on_context_create", &[ctx, ROOT_CONTEXT])?;
        Ok(ctx)
    }

    /// Run a stream callback with the stream's data visible to the VM, then answer callouts.
    pub(crate) fn stream_hook(
        &mut self,
        s: &mut StreamData,
        hook: &'static str,
        args: &[u32],
    ) -> Result<HookResult, HostError> {
        let st = self.store.data_mut();
        st.stream = Some(std::mem::take(s));
        st.active = st.stream_context.unwrap_or(0);
        st.resume_request = false;
        st.resume_response = false;
        let r = self.call(hook, args);
        let st = self.store.data();
        let dispatched = !st.pending_callouts.is_empty() || !st.pending_grpc.is_empty();
        let r = r.and_then(|a| self.deliver_callouts().map(|_| a));
        let st = self.store.data_mut();
        *s = st.stream.take().unwrap_or_default();
        let result = HookResult {
            action: r?,
            resumed_request: st.resume_request,
            resumed_response: st.resume_response,
            dispatched,
        };
        Ok(result)
    }

    /// Calls counted so far happened outside a request: set them aside, count from zero.
    /// Those of a request that failed before its end are dropped.
    pub(crate) fn start_counting_request(&mut self) {
        let st = self.store.data_mut();
        let before = std::mem::take(&mut st.calls);
        if !st.counting_request {
            st.calls_outside.merge(&before);
        }
        st.counting_request = true;
    }

    /// Calls since `start_counting_request`: the request's.
    pub(crate) fn take_request_calls(&mut self) -> HostCalls {
        let st = self.store.data_mut();
        st.counting_request = false;
        std::mem::take(&mut st.calls)
    }

    pub(crate) fn close_stream(&mut self) {
        self.store.data_mut().stream_context = None;
    }

    pub(crate) fn note(&self, level: LogLevel, msg: String) {
        self.store.data().note(level, msg);
    }
}

/// A worker VM of a plugin. Cheap to clone (a handle).
#[derive(Clone)]
pub struct Worker {
    pub(crate) core: Arc<Mutex<WorkerCore>>,
    pub(crate) host: Host,
    id: u32,
}

impl Worker {
    pub(crate) fn start(p: &PluginBuilder) -> Result<Worker, HostError> {
        let id = p.host.shared.next_worker.fetch_add(1, Ordering::SeqCst);
        let mut core = WorkerCore::instantiate(p, id)?;
        core.lifecycle()?;
        let core = Arc::new(Mutex::new(core));
        p.host.register(&core);
        p.host.pump()?;
        Ok(Worker {
            core,
            host: p.host.clone(),
            id,
        })
    }

    /// Worker id (unique in the host, from 1); log entries carry it.
    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Build a request through this worker's plugin.
    pub fn request(&self) -> RequestBuilder {
        RequestBuilder::new(self.host.clone(), vec![self.clone()])
    }

    /// Run `proxy_on_configure` again in the same VM with a new plugin configuration
    /// (Envoy ECDS update). `Err(Rejected)` if the plugin returns false.
    pub fn reconfigure(&self, config: impl AsRef<[u8]>) -> Result<(), HostError> {
        let r = {
            let mut core = lock(&self.core);
            core.store.data_mut().plugin.plugin_config = config.as_ref().to_vec();
            core.configure()
        };
        self.host.pump()?;
        r
    }

    /// Counter or gauge by name (metrics are host-wide, as in Envoy).
    pub fn metric(&self, name: &str) -> Option<i64> {
        self.host.metric(name)
    }

    /// This worker's log lines.
    pub fn logs(&self) -> Vec<LogEntry> {
        self.host.shared.logs.of_worker(self.id)
    }

    /// This worker's log messages joined by newlines (handy for `contains`).
    pub fn log_text(&self) -> String {
        self.logs()
            .iter()
            .map(|l| l.message.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Why the VM died (a trap), or `None` while it is alive.
    pub fn dead(&self) -> Option<String> {
        lock(&self.core).dead.clone()
    }

    /// The tick period the root context set (0 = none).
    pub fn tick_period_ms(&self) -> u32 {
        lock(&self.core).store.data().tick_period_ms
    }

    /// Size of the VM's linear memory in bytes. It never shrinks, so after `on_configure` it
    /// is the peak the module needed to load its configuration.
    pub fn memory_bytes(&self) -> usize {
        let mut core = lock(&self.core);
        let core = &mut *core;
        match core.instance.get_memory(&mut core.store, "memory") {
            Some(m) => m.data_size(&core.store),
            None => 0,
        }
    }

    /// Host calls this VM made outside requests (start, `on_configure`, ticks, queue
    /// deliveries, `reconfigure`) since the worker started or since the last `take_host_calls`.
    pub fn take_host_calls(&self) -> HostCalls {
        let mut core = lock(&self.core);
        let st = core.store.data_mut();
        let since = std::mem::take(&mut st.calls);
        if !st.counting_request {
            st.calls_outside.merge(&since);
        }
        st.counting_request = false;
        std::mem::take(&mut st.calls_outside)
    }

    /// A property the root context set with `proxy_set_property`.
    pub fn root_property(&self, path: &[&str]) -> Option<Vec<u8>> {
        lock(&self.core)
            .store
            .data()
            .root_properties
            .get(&codec::encode_path(path))
            .cloned()
    }
}
