//! A multi-cloud deployment on loopback, derived from the policy: per cloud one ingress Envoy
//! (the one-pass `unitgate` module, or the three per-concern modules chained, before the
//! router), per unit one backend. Each ingress has a cluster per local unit (the unit's upstream
//! name) and `peer_<cloud>` for every other cloud.

use crate::backend::Backend;
use crate::bootstrap::{ClusterSpec, FilterSource, IngressSpec, WasmFilter};
use crate::client::{Client, Reply, Request};
use crate::envoy::Envoy;
use crate::failover::{local_cluster, FailoverListener, FailoverSpec};
use crate::plugin_config::{peer_cluster, plugin_config, PluginSettings};
use crate::unit_backends::{clouds_of, UnitBackends};
use crate::{ecds, locate, ports};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use unitgate_core::Policy;

/// The recommended deployment: one filter, one VM, the whole pipeline in one pass.
/// (filter and ECDS resource name, module file stem).
pub const PIPELINE_FILTER: (&str, &str) = ("unitgate", "unitgate");

/// The three per-concern modules in chain order (filter and ECDS resource names, modules).
pub const FILTERS: [(&str, &str); 3] = [
    ("unitgate.shard", "unitgate_shard_router"),
    ("unitgate.gray", "unitgate_gray_release"),
    ("unitgate.isolation", "unitgate_fault_isolation"),
];

/// Which modules an ingress runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Modules {
    /// `unitgate.wasm`: shard, gray and isolation in one pass (recommended).
    #[default]
    Pipeline,
    /// shard-router -> gray-release -> fault-isolation, three filters and three VMs.
    Chain,
}

impl Modules {
    /// (filter name, module) of each filter, in chain order.
    pub fn filters(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Modules::Pipeline => std::slice::from_ref(&PIPELINE_FILTER),
            Modules::Chain => &FILTERS,
        }
    }

    /// `<module>` in the metrics of the filter that takes the final decision:
    /// `unitgate.<module>.decisions.unit.<u>.reason.<r>`, `unitgate.<module>.breaker...`.
    pub fn metrics_name(self) -> &'static str {
        match self {
            Modules::Pipeline => "pipeline",
            Modules::Chain => "isolation",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigMode {
    /// Plugin configuration inline in the bootstrap.
    Inline,
    /// Plugin configuration from ECDS files (policy can be swapped live).
    Ecds,
}

#[derive(Clone, Debug)]
pub struct Options {
    /// Label for the scratch directory.
    pub label: String,
    pub policy: Value,
    pub settings: PluginSettings,
    pub mode: ConfigMode,
    /// The one-pass module (default) or the three-module chain.
    pub modules: Modules,
    /// False: no wasm filters at all (tests of the harness itself).
    pub with_plugins: bool,
    /// Per-request timeout of `MultiCloud::send`.
    pub request_timeout: Duration,
    /// Keep configs and logs after a clean drop (they are always kept after a panic).
    pub keep_dir: bool,
}

impl Options {
    pub fn new(label: &str, policy: Value) -> Self {
        Self {
            label: label.to_string(),
            policy,
            settings: PluginSettings::default(),
            mode: ConfigMode::Ecds,
            modules: Modules::default(),
            with_plugins: true,
            request_timeout: Duration::from_secs(10),
            keep_dir: false,
        }
    }
}

/// One cloud's ingress.
pub struct CloudIngress {
    pub cloud: String,
    pub local_unit: String,
    pub envoy: Envoy,
    /// Port of the listener peers fail over to, if a unit fails over to this cloud.
    pub failover_port: Option<u16>,
    filters: Vec<WasmFilter>,
    remote_upstreams: BTreeMap<String, String>,
}

pub struct MultiCloud {
    pub dir: PathBuf,
    pub ingresses: Vec<CloudIngress>,
    backends: UnitBackends,
    options: Options,
    policy_version: u64,
    client: Client,
}

/// Each cloud's failover side: a local unit whose failover unit is in another cloud gets an
/// aggregate cluster towards that cloud's failover listener, and a cloud that a unit fails
/// over to gets that listener. `failover_ports` maps cloud to its failover listener's port.
pub fn failover_specs(
    policy: &Policy,
    failover_ports: &BTreeMap<&str, u16>,
) -> BTreeMap<String, FailoverSpec> {
    let unit = |name: &str| policy.units.iter().find(|u| u.name == name);
    let mut specs: BTreeMap<String, FailoverSpec> = BTreeMap::new();
    let crossing = policy.isolation.failover.iter().filter_map(|(from, to)| {
        let (from, to) = (unit(from)?, unit(to)?);
        (from.cloud != to.cloud).then_some((from, to))
    });
    let crossing: Vec<_> = crossing.collect();
    for (from, to) in &crossing {
        if let Some(&port) = failover_ports.get(to.cloud.as_str()) {
            let spec = specs.entry(from.cloud.clone()).or_default();
            spec.outbound.push((from.upstream.clone(), port));
        }
    }
    for (from, to) in &crossing {
        let Some(&port) = failover_ports.get(to.cloud.as_str()) else {
            continue;
        };
        // Serve from the failover unit's own backends, never onwards to its failover.
        let spec = specs.entry(to.cloud.clone()).or_default();
        let target = match spec.peer_port(&to.upstream) {
            Some(_) => local_cluster(&to.upstream),
            None => to.upstream.clone(),
        };
        let listener = spec.listener.get_or_insert(FailoverListener {
            port,
            routes: Vec::new(),
        });
        listener.routes.push((from.upstream.clone(), target));
    }
    specs
}

impl MultiCloud {
    /// Starts every backend and ingress; retries with fresh ports if a start fails.
    pub fn start(options: Options) -> Result<Self> {
        let policy: Policy =
            serde_json::from_value(options.policy.clone()).context("policy does not parse")?;
        let dir = locate::scratch_dir(&options.label)?;
        let backends = UnitBackends::start(&policy)?;
        let client = Client::with_timeout(options.request_timeout);
        let mut me = Self {
            client,
            dir,
            ingresses: Vec::new(),
            backends,
            options,
            policy_version: 1,
        };
        let mut last_err = anyhow!("no attempt");
        for _attempt in 0..3 {
            match me.start_ingresses(&policy) {
                Ok(ingresses) => {
                    me.ingresses = ingresses;
                    return Ok(me);
                }
                Err(e) => last_err = e,
            }
        }
        Err(last_err)
    }

    fn start_ingresses(&self, policy: &Policy) -> Result<Vec<CloudIngress>> {
        let clouds = clouds_of(policy);
        let ports = ports::free_ports(clouds.len() * 3)?;
        let listen: BTreeMap<&str, u16> = clouds
            .iter()
            .enumerate()
            .map(|(i, (c, _))| (c.as_str(), ports[3 * i]))
            .collect();
        let failover_ports: BTreeMap<&str, u16> = clouds
            .iter()
            .enumerate()
            .map(|(i, (c, _))| (c.as_str(), ports[3 * i + 2]))
            .collect();
        let mut failover = failover_specs(policy, &failover_ports);
        let mut started = Vec::new();
        for (i, (cloud, units)) in clouds.iter().enumerate() {
            let local_unit = units.first().cloned().unwrap_or_default();
            let mut clusters = Vec::new();
            for unit in policy.units.iter().filter(|u| &u.cloud == cloud) {
                clusters.push(ClusterSpec {
                    name: unit.upstream.clone(),
                    port: self.backends.port(&unit.name)?,
                });
            }
            let mut remote_upstreams = BTreeMap::new();
            for (other, _) in clouds.iter().filter(|(c, _)| c != cloud) {
                clusters.push(ClusterSpec {
                    name: peer_cluster(other),
                    port: listen[other.as_str()],
                });
                remote_upstreams.insert(other.clone(), peer_cluster(other));
            }
            let mut filters = Vec::new();
            if self.options.with_plugins {
                for &(name, module) in self.options.modules.filters() {
                    filters.push(WasmFilter {
                        name: name.to_string(),
                        module: locate::wasm_module(module)?,
                        configuration: self.filter_config(
                            &self.options.policy,
                            &local_unit,
                            &remote_upstreams,
                        ),
                        source: match self.options.mode {
                            ConfigMode::Inline => FilterSource::Inline,
                            ConfigMode::Ecds => FilterSource::Ecds(
                                self.dir.join(format!("{cloud}.{name}.ecds.json")),
                            ),
                        },
                    });
                }
            }
            let spec = IngressSpec {
                cloud: cloud.clone(),
                listen_port: listen[cloud.as_str()],
                admin_port: ports[3 * i + 1],
                cluster_header: self.options.settings.cluster_header.clone(),
                clusters,
                filters: filters.clone(),
                access_log: self.dir.join(format!("{cloud}.access.log")),
                failover: failover.remove(cloud).unwrap_or_default(),
            };
            let envoy = Envoy::start(&spec, &self.dir)?;
            started.push(CloudIngress {
                cloud: cloud.clone(),
                local_unit,
                envoy,
                failover_port: spec.failover.listener.as_ref().map(|l| l.port),
                filters,
                remote_upstreams,
            });
        }
        Ok(started)
    }

    /// Configuration JSON for one ingress (the same text for every module). The modules of a
    /// chain are told the whole chain (`"chain"`), so each trusts the handoff of the ones
    /// before it; the one-pass module takes no such field.
    fn filter_config(
        &self,
        policy: &Value,
        local_unit: &str,
        remote_upstreams: &BTreeMap<String, String>,
    ) -> String {
        let config = plugin_config(policy, local_unit, remote_upstreams, &self.options.settings);
        match self.options.modules {
            Modules::Pipeline => config,
            Modules::Chain => {
                let mut value: Value = serde_json::from_str(&config).unwrap_or(Value::Null);
                value["chain"] = serde_json::json!(["shard", "gray", "isolation"]);
                value.to_string()
            }
        }
    }

    pub fn ingress(&self, cloud: &str) -> Result<&CloudIngress> {
        self.ingresses
            .iter()
            .find(|i| i.cloud == cloud)
            .ok_or_else(|| anyhow!("no ingress for cloud {cloud}"))
    }

    /// Sends `req` to `cloud`'s ingress.
    pub fn send(&self, cloud: &str, req: &Request) -> Result<Reply> {
        self.client
            .send(self.ingress(cloud)?.envoy.listen_port, req)
    }

    /// Every unit's backend (for `outage::run`).
    pub fn unit_backends(&mut self) -> &mut UnitBackends {
        &mut self.backends
    }

    pub fn backend(&self, unit: &str) -> Option<&Backend> {
        self.backends.get(unit)
    }

    /// Stops `unit`'s backend (a unit failure).
    pub fn stop_backend(&mut self, unit: &str) {
        self.backends.stop(unit)
    }

    /// Starts `unit`'s backend again on its old port.
    pub fn start_backend(&mut self, unit: &str) -> Result<()> {
        self.backends.restart(unit)
    }

    /// The modules the ingresses run.
    pub fn modules(&self) -> Modules {
        self.options.modules
    }

    pub fn policy(&self) -> &Value {
        &self.options.policy
    }

    /// Publishes `policy` to every ingress through ECDS without waiting for it, and without
    /// making it the harness's policy: for policies the modules must refuse.
    pub fn push_policy(&mut self, policy: Value) -> Result<()> {
        self.policy_version += 1;
        let version = self.policy_version.to_string();
        for ingress in &self.ingresses {
            let config =
                self.filter_config(&policy, &ingress.local_unit, &ingress.remote_upstreams);
            for filter in &ingress.filters {
                if let FilterSource::Ecds(path) = &filter.source {
                    let pushed = WasmFilter {
                        configuration: config.clone(),
                        ..filter.clone()
                    };
                    ecds::publish(&pushed, path, &version)?;
                }
            }
        }
        Ok(())
    }

    /// Swaps the policy on every ingress through ECDS (atomic file rename) and waits until each
    /// filter reports the reload.
    pub fn set_policy(&mut self, policy: Value) -> Result<()> {
        if self.options.mode != ConfigMode::Ecds {
            bail!("set_policy needs ConfigMode::Ecds");
        }
        self.policy_version += 1;
        let version = self.policy_version.to_string();
        let mut expected = Vec::new();
        let configs: Vec<String> = self
            .ingresses
            .iter()
            .map(|ing| self.filter_config(&policy, &ing.local_unit, &ing.remote_upstreams))
            .collect();
        for (ingress, config) in self.ingresses.iter_mut().zip(configs) {
            for filter in &mut ingress.filters {
                filter.configuration = config.clone();
                if let FilterSource::Ecds(path) = &filter.source {
                    let before = reloads(&ingress.envoy, &filter.name)?;
                    ecds::publish(filter, path, &version)?;
                    expected.push((ingress.cloud.clone(), filter.name.clone(), before));
                }
            }
        }
        self.options.policy = policy;
        let deadline = Instant::now() + Duration::from_secs(60);
        for (cloud, name, before) in expected {
            let envoy = &self.ingress(&cloud)?.envoy;
            while reloads(envoy, &name)? <= before {
                if Instant::now() > deadline {
                    bail!(
                        "{cloud}: ECDS filter {name} did not reload:\n{}",
                        envoy.log_tail(20)
                    );
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        }
        Ok(())
    }
}

impl Drop for MultiCloud {
    fn drop(&mut self) {
        // Stop the Envoys first (they write into the directory), then tidy up.
        self.ingresses.clear();
        self.backends.stop_all();
        if !self.options.keep_dir && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// ECDS reload counter of one filter.
fn reloads(envoy: &Envoy, filter: &str) -> Result<u64> {
    let name = format!("extension_config_discovery.http_filter.{filter}.config_reload");
    envoy.counter(&name)
}
