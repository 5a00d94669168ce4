//! `PluginBuilder`: a loaded module plus its plugin configuration; `start()` makes a worker.

use crate::error::HostError;
use crate::host::Host;
use crate::logs::LogLevel;
use crate::vm::PluginInfo;
use crate::worker::Worker;
use std::collections::BTreeSet;
use std::path::Path;
use wasmtime::Module;

/// A module with its configuration, ready to start worker VMs. Clone it to start variants.
#[derive(Clone)]
pub struct PluginBuilder {
    pub(crate) host: Host,
    pub(crate) module: Module,
    pub(crate) path: String,
    pub(crate) info: PluginInfo,
}

impl PluginBuilder {
    pub(crate) fn new(host: Host, module: Module, path: &Path) -> Self {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        PluginBuilder {
            host,
            module,
            path: path.display().to_string(),
            info: PluginInfo {
                name,
                root_id: String::new(),
                vm_id: String::new(),
                vm_config: Vec::new(),
                plugin_config: Vec::new(),
                log_level: LogLevel::Info,
                ngx_vars: BTreeSet::new(),
                keep_rejected: false,
            },
        }
    }

    /// Plugin configuration (`proxy_on_configure`, buffer type PluginConfiguration).
    pub fn config(mut self, config: impl AsRef<[u8]>) -> Self {
        self.info.plugin_config = config.as_ref().to_vec();
        self
    }

    /// VM configuration (`proxy_on_vm_start`, buffer type VmConfiguration).
    pub fn vm_config(mut self, config: impl AsRef<[u8]>) -> Self {
        self.info.vm_config = config.as_ref().to_vec();
        self
    }

    /// Envoy `root_id` (property `plugin_root_id`; ngx_wasm_module always reads "0").
    pub fn root_id(mut self, root_id: &str) -> Self {
        self.info.root_id = root_id.to_string();
        self
    }

    /// Plugin name (property `plugin_name`); default: the file stem.
    pub fn name(mut self, name: &str) -> Self {
        self.info.name = name.to_string();
        self
    }

    /// VM id (property `plugin_vm_id`; the namespace of shared queues).
    pub fn vm_id(mut self, vm_id: &str) -> Self {
        self.info.vm_id = vm_id.to_string();
        self
    }

    /// The proxy's log level: `proxy_get_log_level` returns it and lower logs are dropped.
    /// Default Info (Envoy's default).
    pub fn log_level(mut self, level: LogLevel) -> Self {
        self.info.log_level = level;
        self
    }

    /// ngx_wasm_module: declare an nginx variable (`set $name '';` in nginx.conf) so the plugin
    /// can set it through the `ngx.<name>` property. Undeclared variables cannot be set.
    pub fn ngx_var(mut self, name: &str) -> Self {
        self.info.ngx_vars.insert(name.to_string());
        self
    }

    /// Keep the worker serving requests when `proxy_on_configure` returns false, as a host that
    /// ignores the result would. Lets a test reach a plugin's "no valid configuration" path.
    pub fn keep_rejected(mut self) -> Self {
        self.info.keep_rejected = true;
        self
    }

    /// Start one worker VM: instantiate, `_initialize`, root context, `proxy_on_vm_start`,
    /// `proxy_on_configure`. An error (with the plugin's logs) if either returns false or traps.
    pub fn start(&self) -> Result<Worker, HostError> {
        Worker::start(self)
    }

    /// Start `n` workers of this plugin on the same host (they share shared data, metrics...).
    pub fn start_workers(&self, n: usize) -> Result<Vec<Worker>, HostError> {
        (0..n).map(|_| self.start()).collect()
    }
}
