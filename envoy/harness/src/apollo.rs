//! One ingress Envoy whose unitgate module follows the Apollo stand-in by itself: no inline
//! policy, the config service as cluster `apollo_config`, signed requests, several workers.
//! Units: uc is local (`uc_backend`); jc is in the peer cloud, whose ingress is stood in for
//! by jc's backend itself (`peer_jcloud`), so a backend's answer names the unit that served.

use crate::backend::Backend;
use crate::bootstrap::{bootstrap, ClusterSpec, FilterSource, IngressSpec, WasmFilter};
use crate::client::{Client, Reply, Request};
use crate::envoy::Envoy;
use crate::plugin_config::{peer_cluster, plugin_config, PluginSettings};
use crate::{locate, ports};
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use unitgate_apollo_fixture::{Fixture, Options};

pub const APP_ID: &str = "unitgate";
pub const NAMESPACE: &str = "unitgate.json";
/// Open API token of the stand-in (what `unitgate publish --token` sends).
pub const TOKEN: &str = "demo-open-api-token";
/// The app's access key: the module signs its config-service requests with it.
pub const ACCESS_KEY: &str = "demo-access-key-change-me";
pub const CONFIG_CLUSTER: &str = "apollo_config";

pub struct ApolloIngress {
    pub apollo: Fixture,
    pub envoy: Envoy,
    pub dir: PathBuf,
    _backends: Vec<Backend>,
}

impl ApolloIngress {
    /// Starts the stand-in (holding long polls for `hold`), uc's and jc's backends, and Envoy
    /// with `workers` workers. Publish a policy before expecting routes: until then the
    /// module fails closed (503).
    pub fn start(label: &str, workers: usize, hold: Duration) -> Result<Self> {
        let dir = locate::scratch_dir(label)?;
        let apollo = Fixture::start(Options {
            hold,
            open_api_token: Some(TOKEN.into()),
            access_keys: BTreeMap::from([(APP_ID.to_string(), vec![ACCESS_KEY.to_string()])]),
            ..Options::default()
        })?;
        let uc = Backend::start("uc", "ucloud", 0)?;
        let jc = Backend::start("jc", "jcloud", 0)?;
        let remote = BTreeMap::from([("jcloud".to_string(), peer_cluster("jcloud"))]);
        let settings = PluginSettings::default();
        let mut config: Value =
            serde_json::from_str(&plugin_config(&json!({}), "uc", &remote, &settings))?;
        if let Some(obj) = config.as_object_mut() {
            obj.remove("policy");
        }
        config["apollo"] = json!({
            "upstream": CONFIG_CLUSTER,
            "app_id": APP_ID,
            "access_key": ACCESS_KEY,
        });
        let p = ports::free_ports(2)?;
        let cluster = |name: &str, port| ClusterSpec {
            name: name.to_string(),
            port,
        };
        let spec = IngressSpec {
            cloud: "ucloud".into(),
            listen_port: p[0],
            admin_port: p[1],
            cluster_header: settings.cluster_header.clone(),
            clusters: vec![
                cluster("uc_backend", uc.port()),
                cluster(&peer_cluster("jcloud"), jc.port()),
                cluster(CONFIG_CLUSTER, apollo.addr().port()),
            ],
            filters: vec![WasmFilter {
                name: "unitgate".into(),
                module: locate::wasm_module("unitgate")?,
                configuration: config.to_string(),
                source: FilterSource::Inline,
            }],
            access_log: dir.join("ucloud.access.log"),
            failover: Default::default(),
        };
        let envoy =
            Envoy::start_with_workers("ucloud", &bootstrap(&spec), (p[0], p[1]), &dir, workers)
                .context("starting Envoy")?;
        Ok(ApolloIngress {
            apollo,
            envoy,
            dir,
            _backends: vec![uc, jc],
        })
    }

    /// Base URL of the stand-in (config service and Open API).
    pub fn apollo_url(&self) -> String {
        self.apollo.url()
    }

    /// Publishes `text` as is, bypassing any validation (as a careless operator could).
    pub fn publish_raw(&self, text: &str) {
        self.apollo.seed(APP_ID, "default", NAMESPACE, text);
    }

    /// Sends `req` on a new connection (so requests spread over the workers).
    pub fn send(&self, req: &Request) -> Result<Reply> {
        Client::with_timeout(Duration::from_secs(10)).send(self.envoy.listen_port, req)
    }

    /// A `wasmcustom.unitgate.pipeline.<name>` counter or gauge (0 when not created yet).
    pub fn metric(&self, name: &str) -> u64 {
        let full = format!("wasmcustom.unitgate.pipeline.{name}");
        self.envoy.counter(&full).unwrap_or(0)
    }

    /// Envoy's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.envoy.log_path).unwrap_or_default()
    }

    /// `unitgate publish` arguments that reach this stand-in (after the policy file).
    pub fn publish_args(&self) -> Vec<String> {
        [
            "--portal",
            &self.apollo.url(),
            "--token",
            TOKEN,
            "--app-id",
            APP_ID,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
}

impl Drop for ApolloIngress {
    fn drop(&mut self) {
        self.envoy.stop();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
