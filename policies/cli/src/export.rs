//! `unitgate export`: one policy and one ingress's settings as the configuration a host loads
//! the one-pass module `unitgate.wasm` with (plugin configuration: plugins/README.md §1).

use crate::ingress::IngressArgs;
use crate::policy_file::{load_valid, read_text};
use anyhow::{Context, Result};
use clap::ValueEnum;
use serde_json::{json, Map, Value};
use std::path::PathBuf;

pub const HELP: &str = "Example:
  unitgate export policies/examples/dual-cloud-city.json --to ecds --local-unit uc \\
      --secret \"$UNITGATE_SECRET\" --remote-upstream jcloud=peer_jcloud > unitgate.ecds.yaml";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// One entry of an HTTP connection manager's http_filters (YAML).
    EnvoyFilter,
    /// An ECDS resource file (TypedExtensionConfig) for a filter with config_discovery.
    Ecds,
    /// An Istio WasmPlugin manifest.
    Istio,
    /// The wasm{} and location blocks for nginx with ngx_wasm_module.
    Nginx,
}

#[derive(clap::Args)]
pub struct Args {
    /// Policy file (JSON); it must be valid.
    policy: PathBuf,
    #[arg(long, value_enum)]
    to: Target,
    #[command(flatten)]
    ingress: IngressArgs,
    /// Stages the module runs (comma separated, in order) [default: shard,gray,isolation].
    #[arg(long, value_delimiter = ',')]
    stages: Vec<String>,
    /// Add the x-unitgate-explain response header.
    #[arg(long)]
    explain: bool,
    /// Path of unitgate.wasm on the proxy host (Envoy, nginx).
    #[arg(long, default_value = "/etc/unitgate/unitgate.wasm")]
    module: String,
    /// Where Istio pulls the module from.
    #[arg(
        long,
        default_value = "oci://registry.example.internal/unitgate/unitgate:0.1.0"
    )]
    url: String,
    /// Filter / plugin / vm name.
    #[arg(long, default_value = "unitgate")]
    name: String,
    /// nginx variable that receives the upstream.
    #[arg(long, default_value = "unitgate_upstream")]
    nginx_variable: String,
    /// nginx variable that receives the peer stamp.
    #[arg(long, default_value = "unitgate_ctx")]
    nginx_ctx_variable: String,
}

pub fn run(a: &Args) -> Result<u8> {
    let loaded = load_valid(&a.policy)?;
    let ingress = a.ingress.ingress(&loaded.policy)?;
    let policy: Value = serde_json::from_str(&read_text(&a.policy)?).context("policy JSON")?;
    let mut config = Map::new();
    config.insert("local_unit".into(), json!(ingress.local_unit));
    config.insert("fail_mode".into(), json!(a.ingress.fail_mode.as_str()));
    config.insert("secret".into(), json!(a.ingress.secret));
    config.insert("policy".into(), policy);
    if !ingress.remote_upstreams.is_empty() {
        config.insert("remote_upstreams".into(), json!(ingress.remote_upstreams));
    }
    if !a.stages.is_empty() {
        config.insert("stages".into(), json!(a.stages));
    }
    if a.explain {
        config.insert("explain".into(), json!(true));
    }
    if a.to == Target::Nginx {
        config.insert("nginx_variable".into(), json!(a.nginx_variable));
        config.insert("nginx_ctx_variable".into(), json!(a.nginx_ctx_variable));
    }
    let config = Value::Object(config);
    let local_upstream = loaded
        .policy
        .unit(&ingress.local_unit)
        .map(|u| u.upstream.clone())
        .unwrap_or_default();
    let out = match a.to {
        Target::EnvoyFilter => yaml(&json!({"name": a.name, "typed_config": wasm(a, &config)?}))?,
        Target::Ecds => yaml(&json!({
            "version_info": loaded.policy.version(),
            "resources": [{
                "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
                "name": a.name,
                "typed_config": wasm(a, &config)?,
            }],
        }))?,
        Target::Istio => yaml(&json!({
            "apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": {"name": a.name, "namespace": "istio-system"},
            "spec": {
                "selector": {"matchLabels": {"istio": "ingressgateway"}},
                "url": a.url,
                "imagePullPolicy": "IfNotPresent",
                "phase": "STATS",
                "type": "HTTP",
                "failStrategy": "FAIL_CLOSE",
                "pluginConfig": config,
            },
        }))?,
        Target::Nginx => nginx(a, &config, &local_upstream)?,
    };
    print!("{out}");
    Ok(0)
}

fn yaml(v: &Value) -> Result<String> {
    serde_yaml_ng::to_string(v).context("writing YAML")
}

/// The `envoy.filters.http.wasm` typed config (FAIL_CLOSED; body keys need the stop flag).
fn wasm(a: &Args, config: &Value) -> Result<Value> {
    Ok(json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
        "config": {
            "name": a.name,
            "root_id": "",
            "vm_config": {
                "vm_id": a.name,
                "runtime": "envoy.wasm.runtime.v8",
                "code": {"local": {"filename": a.module}},
            },
            "configuration": {
                "@type": "type.googleapis.com/google.protobuf.StringValue",
                "value": serde_json::to_string_pretty(config)?,
            },
            "failure_policy": "FAIL_CLOSED",
            "allow_on_headers_stop_iteration": true,
        },
    }))
}

/// nginx quotes: inside '…', a backslash and a quote need a backslash.
fn nginx_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn nginx(a: &Args, config: &Value, local_upstream: &str) -> Result<String> {
    let (up, ctx) = (&a.nginx_variable, &a.nginx_ctx_variable);
    Ok(format!(
        "# main context: the module, and the shared memory its breaker needs
wasm {{
    module {name} {module};
    shm_kv * 1m;
}}

# inside http {{ server {{ … }} }}: the module picks the upstream, nginx proxies to it.
# Declare the variables (the module sets them through ngx.{up} / ngx.{ctx}).
set ${up} {local_upstream};
set ${ctx} \"\";
proxy_wasm_request_headers_in_access on;

location / {{
    proxy_wasm {name} {json};
    proxy_pass http://${up};
    # The peer stamp only when crossing clouds (nginx sends no header with an empty value);
    # these also override any copy the client sent.
    proxy_set_header x-unitgate-ctx ${ctx};
    proxy_set_header x-unitgate-cluster \"\";
}}
",
        name = a.name,
        module = a.module,
        json = nginx_quote(&serde_json::to_string(config)?),
    ))
}
