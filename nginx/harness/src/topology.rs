//! A multi-cloud deployment on loopback where each cloud's ingress is nginx or Envoy, both
//! loading the one module `unitgate.wasm` with the same policy: per unit one echo backend, per
//! cloud one ingress with an upstream per local unit and `peer_<cloud>` for every other cloud.

use crate::conf::{nginx_plugin_config, NginxFailover, NginxSpec};
use crate::locate;
use crate::nginx::{Nginx, Reload};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use unitgate_core::Policy;
use unitgate_envoy::backend::Backend;
use unitgate_envoy::bootstrap::{ClusterSpec, FilterSource, IngressSpec, WasmFilter};
use unitgate_envoy::envoy::Envoy;
use unitgate_envoy::plugin_config::{peer_cluster, plugin_config, PluginSettings};
use unitgate_envoy::unit_backends::{clouds_of, UnitBackends};
use unitgate_envoy::{ports, Client, Reply, Request};

/// Which proxy serves a cloud.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyKind {
    Nginx,
    Envoy,
}

#[derive(Clone, Debug)]
pub struct Options {
    /// Label for the scratch directory.
    pub label: String,
    pub policy: Value,
    pub settings: PluginSettings,
    /// Proxy per cloud; a cloud not listed runs nginx.
    pub proxies: BTreeMap<String, ProxyKind>,
    /// Only this cloud's ingress adds `x-unitgate-explain` (None: as `settings` says). A
    /// response carries the explain header of the last ingress that decided, so a test that
    /// wants the entry ingress's decision of a crossing request turns it off at the peers.
    pub explain_only_at: Option<String>,
    /// nginx worker processes per ingress (each compiles unitgate.wasm).
    pub workers: u32,
    pub request_timeout: Duration,
    /// Keep confs and logs after a clean drop (they are always kept after a panic).
    pub keep_dir: bool,
}

impl Options {
    pub fn new(label: &str, policy: Value) -> Self {
        Self {
            label: label.to_string(),
            policy,
            settings: PluginSettings::default(),
            proxies: BTreeMap::new(),
            explain_only_at: None,
            workers: 2,
            request_timeout: Duration::from_secs(10),
            keep_dir: false,
        }
    }

    /// The plugin settings of `cloud`'s ingress.
    fn settings_for(&self, cloud: &str) -> PluginSettings {
        let mut settings = self.settings.clone();
        if let Some(only) = &self.explain_only_at {
            settings.explain = only == cloud;
        }
        settings
    }

    pub fn with_proxy(mut self, cloud: &str, kind: ProxyKind) -> Self {
        self.proxies.insert(cloud.to_string(), kind);
        self
    }
}

pub enum Proxy {
    Nginx(Nginx),
    Envoy(Envoy),
}

impl Proxy {
    pub fn listen_port(&self) -> u16 {
        match self {
            Proxy::Nginx(n) => n.listen_port(),
            Proxy::Envoy(e) => e.listen_port,
        }
    }

    pub fn kind(&self) -> ProxyKind {
        match self {
            Proxy::Nginx(_) => ProxyKind::Nginx,
            Proxy::Envoy(_) => ProxyKind::Envoy,
        }
    }
}

/// One cloud's ingress.
pub struct CloudIngress {
    pub cloud: String,
    pub local_unit: String,
    pub proxy: Proxy,
    remote_upstreams: BTreeMap<String, String>,
}

pub struct Clouds {
    pub dir: PathBuf,
    pub ingresses: Vec<CloudIngress>,
    backends: UnitBackends,
    options: Options,
    client: Client,
}

/// Each nginx cloud's side of failover. A unit whose failover unit is in another cloud, both
/// behind nginx, gets that cloud's failover server as its backup: the n-th such pair listens
/// on `ports[n]` and serves reads from the failover unit's upstream.
fn failover_of(
    policy: &Policy,
    is_nginx: impl Fn(&str) -> bool,
    ports: &[u16],
) -> BTreeMap<String, NginxFailover> {
    let unit = |name: &str| policy.units.iter().find(|u| u.name == name);
    let mut out: BTreeMap<String, NginxFailover> = BTreeMap::new();
    let crossing = policy.isolation.failover.iter().filter_map(|(from, to)| {
        let (from, to) = (unit(from)?, unit(to)?);
        let both = from.cloud != to.cloud && is_nginx(&from.cloud) && is_nginx(&to.cloud);
        both.then_some((from, to))
    });
    for ((from, to), &port) in crossing.zip(ports) {
        let outbound = (from.upstream.clone(), port);
        out.entry(from.cloud.clone())
            .or_default()
            .outbound
            .push(outbound);
        let listener = (port, to.upstream.clone());
        out.entry(to.cloud.clone())
            .or_default()
            .listeners
            .push(listener);
    }
    out
}

impl Clouds {
    /// Starts every backend and ingress; retries with fresh ports if a start fails.
    pub fn start(options: Options) -> Result<Self> {
        let policy: Policy =
            serde_json::from_value(options.policy.clone()).context("policy does not parse")?;
        let dir = locate::scratch_dir(&options.label)?;
        let mut me = Self {
            client: Client::with_timeout(options.request_timeout),
            dir,
            ingresses: Vec::new(),
            backends: UnitBackends::start(&policy)?,
            options,
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
        // Keep the confs and logs that say why.
        me.options.keep_dir = true;
        Err(last_err)
    }

    fn start_ingresses(&self, policy: &Policy) -> Result<Vec<CloudIngress>> {
        let clouds = clouds_of(policy);
        let kind_of = |cloud: &str| {
            self.options
                .proxies
                .get(cloud)
                .copied()
                .unwrap_or(ProxyKind::Nginx)
        };
        // Two per cloud (listener; Envoy's admin), one per failover pair at most.
        let ports = ports::free_ports(clouds.len() * 2 + policy.isolation.failover.len())?;
        let mut failover = failover_of(
            policy,
            |c| kind_of(c) == ProxyKind::Nginx,
            ports.get(clouds.len() * 2..).unwrap_or_default(),
        );
        let listen: BTreeMap<&str, u16> = clouds
            .iter()
            .enumerate()
            .map(|(i, (c, _))| (c.as_str(), ports[2 * i]))
            .collect();
        let mut started = Vec::new();
        for (i, (cloud, units)) in clouds.iter().enumerate() {
            let local_unit = units.first().cloned().unwrap_or_default();
            let mut upstreams = BTreeMap::new();
            for unit in policy.units.iter().filter(|u| &u.cloud == cloud) {
                upstreams.insert(unit.upstream.clone(), self.backends.port(&unit.name)?);
            }
            let mut remote_upstreams = BTreeMap::new();
            for (other, _) in clouds.iter().filter(|(c, _)| c != cloud) {
                upstreams.insert(peer_cluster(other), listen[other.as_str()]);
                remote_upstreams.insert(other.clone(), peer_cluster(other));
            }
            let config =
                self.plugin_config(&self.options.policy, cloud, &local_unit, &remote_upstreams);
            let proxy = match kind_of(cloud) {
                ProxyKind::Nginx => {
                    let default_upstream = policy
                        .units
                        .iter()
                        .find(|u| u.name == local_unit)
                        .map(|u| u.upstream.clone())
                        .unwrap_or_default();
                    Proxy::Nginx(Nginx::start(NginxSpec {
                        cloud: cloud.clone(),
                        listen_port: listen[cloud.as_str()],
                        upstreams,
                        default_upstream,
                        plugin_config: nginx_plugin_config(&config)?,
                        ngx_wasm_module: locate::ngx_wasm_module()?,
                        unitgate_wasm: locate::unitgate_wasm()?,
                        workers: self.options.workers,
                        dir: self.dir.clone(),
                        failover: failover.remove(cloud).unwrap_or_default(),
                    })?)
                }
                ProxyKind::Envoy => Proxy::Envoy(Envoy::start(
                    &IngressSpec {
                        cloud: cloud.clone(),
                        listen_port: listen[cloud.as_str()],
                        admin_port: ports[2 * i + 1],
                        cluster_header: self.options.settings.cluster_header.clone(),
                        clusters: upstreams
                            .iter()
                            .map(|(name, port)| ClusterSpec {
                                name: name.clone(),
                                port: *port,
                            })
                            .collect(),
                        filters: vec![WasmFilter {
                            name: "unitgate".to_string(),
                            module: locate::unitgate_wasm()?,
                            configuration: config,
                            source: FilterSource::Inline,
                        }],
                        access_log: self.dir.join(format!("{cloud}.access.log")),
                        failover: Default::default(),
                    },
                    &self.dir,
                )?),
            };
            started.push(CloudIngress {
                cloud: cloud.clone(),
                local_unit,
                proxy,
                remote_upstreams,
            });
        }
        Ok(started)
    }

    /// The plugin configuration JSON of one ingress (before the nginx-only fields).
    fn plugin_config(
        &self,
        policy: &Value,
        cloud: &str,
        local_unit: &str,
        remote_upstreams: &BTreeMap<String, String>,
    ) -> String {
        plugin_config(
            policy,
            local_unit,
            remote_upstreams,
            &self.options.settings_for(cloud),
        )
    }

    pub fn ingress(&self, cloud: &str) -> Result<&CloudIngress> {
        self.ingresses
            .iter()
            .find(|i| i.cloud == cloud)
            .ok_or_else(|| anyhow!("no ingress for cloud {cloud}"))
    }

    /// `cloud`'s nginx (error if that cloud runs Envoy).
    pub fn nginx(&self, cloud: &str) -> Result<&Nginx> {
        match &self.ingress(cloud)?.proxy {
            Proxy::Nginx(n) => Ok(n),
            Proxy::Envoy(_) => bail!("cloud {cloud} runs Envoy"),
        }
    }

    /// Sends `req` to `cloud`'s ingress.
    pub fn send(&self, cloud: &str, req: &Request) -> Result<Reply> {
        self.client
            .send(self.ingress(cloud)?.proxy.listen_port(), req)
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

    /// The cloud `unit` lives in.
    pub fn unit_cloud(&self, unit: &str) -> Option<String> {
        self.backends.cloud(unit)
    }

    pub fn policy(&self) -> &Value {
        &self.options.policy
    }

    /// Writes `policy` into every nginx ingress's conf and runs `nginx -s reload` there.
    /// The policy becomes the current one only if every ingress applied it.
    pub fn reload(&mut self, policy: Value) -> Result<Vec<(String, Reload)>> {
        let clouds: Vec<String> = self.ingresses.iter().map(|i| i.cloud.clone()).collect();
        let mut outcomes = Vec::new();
        for cloud in clouds {
            outcomes.push((cloud.clone(), self.reload_cloud(&cloud, policy.clone())?));
        }
        if outcomes.iter().all(|(_, o)| *o == Reload::Applied) {
            self.options.policy = policy;
        }
        Ok(outcomes)
    }

    /// Checked reload of one cloud's nginx with `policy` (error if it runs Envoy).
    pub fn reload_cloud(&mut self, cloud: &str, policy: Value) -> Result<Reload> {
        let config = self.nginx_config(cloud, &policy)?;
        self.nginx_mut(cloud)?.reload(config)
    }

    /// `nginx -s reload` of one cloud with `policy`, without the check.
    pub fn reload_unchecked(&mut self, cloud: &str, policy: Value) -> Result<Reload> {
        let config = self.nginx_config(cloud, &policy)?;
        self.nginx_mut(cloud)?.reload_unchecked(config)
    }

    fn nginx_mut(&mut self, cloud: &str) -> Result<&mut Nginx> {
        let ingress = self
            .ingresses
            .iter_mut()
            .find(|i| i.cloud == cloud)
            .ok_or_else(|| anyhow!("no ingress for cloud {cloud}"))?;
        match &mut ingress.proxy {
            Proxy::Nginx(n) => Ok(n),
            Proxy::Envoy(_) => bail!("cloud {cloud} runs Envoy"),
        }
    }

    /// The nginx plugin configuration of `cloud`'s ingress with `policy`.
    fn nginx_config(&self, cloud: &str, policy: &Value) -> Result<String> {
        let ingress = self.ingress(cloud)?;
        let config = self.plugin_config(
            policy,
            cloud,
            &ingress.local_unit,
            &ingress.remote_upstreams,
        );
        nginx_plugin_config(&config)
    }
}

impl Drop for Clouds {
    fn drop(&mut self) {
        // Stop the proxies first (they write into the directory), then tidy up.
        self.ingresses.clear();
        self.backends.stop_all();
        if !self.options.keep_dir && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
