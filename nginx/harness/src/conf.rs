//! nginx.conf for one unitgate ingress: ngx_wasm_module loaded, `unitgate.wasm` in the
//! location, the upstream chosen through `$unitgate_upstream`, and the peer stamp through
//! `$unitgate_ctx`. `proxy_set_header` overrides whatever the client sent under those names,
//! so forged internal headers never travel on. Failover without loss: a unit whose failover
//! unit is in a peer cloud has that cloud's failover server as its `backup`, reads are retried
//! there, and a cloud that units fail over to has one read-only failover server per such unit.

use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;
use unitgate_envoy::failover::FAILOVER_HEADER;

/// nginx variable that carries the chosen upstream.
pub const UPSTREAM_VAR: &str = "unitgate_upstream";
/// nginx variable that carries the signed stamp for a peer cloud (empty within a cloud).
pub const CTX_VAR: &str = "unitgate_ctx";
/// nginx reads a configuration file in 4096-byte buffers, and one parameter must fit in one.
const NGINX_PARAM_MAX: usize = 4000;
/// What nginx retries on the next server (at last the backup): a refused or timed-out
/// connection, a reset, and 502, 503, 504 answers. Without `non_idempotent`, nginx never sends
/// a POST, PATCH or LOCK on once it reached a server, so a write is never applied twice.
pub const NEXT_UPSTREAM: &str = "proxy_next_upstream error timeout http_502 http_503 http_504;";
/// A dead unit host must fail fast for its reads to be retried in time.
pub const CONNECT_TIMEOUT: &str = "proxy_connect_timeout 250ms;";
/// A unit server that failed once is skipped (its reads go straight to the next server) for
/// this long, then tried again with one request: nginx's passive health check. nginx counts
/// it in whole seconds.
pub const FAIL_TIMEOUT: &str = "1s";

/// This cloud's side of failover.
#[derive(Clone, Debug, Default)]
pub struct NginxFailover {
    /// Local upstreams whose failover unit is in a peer cloud: (upstream, port of the peer's
    /// failover server for it). That server becomes the upstream's `backup`.
    pub outbound: Vec<(String, u16)>,
    /// Failover servers for peer units: (port, the local upstream it serves reads from).
    pub listeners: Vec<(u16, String)>,
}

/// Everything that differs between two nginx ingresses.
#[derive(Clone, Debug)]
pub struct NginxSpec {
    pub cloud: String,
    pub listen_port: u16,
    /// Upstream name -> loopback port (local unit backends and `peer_<cloud>` ingresses).
    pub upstreams: BTreeMap<String, u16>,
    /// `$unitgate_upstream` before the module runs (used when nothing routes: fail open).
    pub default_upstream: String,
    /// The plugin configuration JSON (plugins/README.md §1) handed to `proxy_wasm`.
    pub plugin_config: String,
    pub ngx_wasm_module: PathBuf,
    pub unitgate_wasm: PathBuf,
    pub workers: u32,
    /// Scratch directory: pid file, logs, temp paths.
    pub dir: PathBuf,
    /// Backups and failover servers (empty: none).
    pub failover: NginxFailover,
}

/// The plugin configuration an nginx ingress uses: the Envoy one plus the two variables.
pub fn nginx_plugin_config(envoy_config: &str) -> Result<String> {
    let mut cfg: Value = serde_json::from_str(envoy_config)?;
    cfg["nginx_variable"] = json!(UPSTREAM_VAR);
    cfg["nginx_ctx_variable"] = json!(CTX_VAR);
    if let Some(obj) = cfg.as_object_mut() {
        // nginx routes with proxy_pass, not a cluster header.
        obj.remove("cluster_header");
    }
    Ok(cfg.to_string())
}

/// A single-quoted nginx string: nginx unescapes `\\`, `\'`, `\"`, `\t`, `\r`, `\n`, so every
/// backslash of the JSON must be doubled to reach the module unchanged.
pub fn quote(text: &str) -> Result<String> {
    let escaped = text.replace('\\', "\\\\").replace('\'', "\\'");
    if escaped.len() > NGINX_PARAM_MAX {
        bail!(
            "the plugin configuration is {} bytes; nginx refuses parameters over about 4 KB (NGX_CONF_BUFFER)",
            escaped.len()
        );
    }
    Ok(format!("'{escaped}'"))
}

impl NginxSpec {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    pub fn pid_file(&self) -> PathBuf {
        self.dir.join(format!("{}.nginx.pid", self.cloud))
    }

    pub fn error_log(&self) -> PathBuf {
        self.dir.join(format!("{}.error.log", self.cloud))
    }

    /// The whole nginx.conf.
    pub fn render(&self) -> Result<String> {
        let cloud = &self.cloud;
        let mut upstreams = String::new();
        for (name, port) in &self.upstreams {
            let backup = self.failover.outbound.iter().find(|(n, _)| n == name);
            match backup {
                Some((_, peer)) => writeln!(
                    upstreams,
                    "    upstream {name} {{ zone {name} 64k; server 127.0.0.1:{port} max_fails=1 \
                     fail_timeout={FAIL_TIMEOUT}; server 127.0.0.1:{peer} backup; keepalive 8; }}"
                )?,
                None => writeln!(
                    upstreams,
                    "    upstream {name} {{ server 127.0.0.1:{port}; keepalive 8; }}"
                )?,
            }
        }
        let mut failover_servers = String::new();
        for (port, target) in &self.failover.listeners {
            failover_servers += &self.failover_server(*port, target);
        }
        let tmp = self.path("tmp");
        Ok(format!(
            r#"# unitgate ingress of cloud {cloud} (generated by unitgate-nginx)
load_module {module};
daemon off;
master_process on;
worker_processes {workers};
pid {pid};
error_log {error_log} info;
events {{ worker_connections 512; }}

# One wasm VM per worker holds every module; each worker compiles unitgate.wasm.
wasm {{
    module unitgate {wasm};
    # The breaker's shared data; without a zone every request fails with 500.
    shm_kv * 1m;
}}

http {{
    access_log {access_log};
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;

{upstreams}
    # Each ingress appends itself to `via`, so a backend sees the hops a request took.
    map $http_via $unitgate_via {{ "" "unitgate-{cloud}"; default "$http_via, unitgate-{cloud}"; }}

    server {{
        listen 127.0.0.1:{port};
        # A request that already passed this ingress is looping (peers whose stamps do not
        # verify, e.g. different secrets): stop it instead of bouncing between clouds.
        if ($http_via ~ "(^|, )unitgate-{cloud}(,|$)") {{ return 508; }}
        set ${UPSTREAM_VAR} {default_upstream};
        set ${CTX_VAR} "";
        # Request headers are handled in the access phase, after every `set`.
        proxy_wasm_request_headers_in_access on;

        location / {{
            proxy_wasm unitgate {config};
            proxy_pass http://${UPSTREAM_VAR};
            # Failover: reads that fail on a unit's server go to the next (at last the backup,
            # the failover cloud); writes only if they never reached a server.
            {NEXT_UPSTREAM}
            {CONNECT_TIMEOUT}
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header via $unitgate_via;
            # Sent only when the request crosses to a peer cloud (an empty value is not sent).
            proxy_set_header x-unitgate-ctx ${CTX_VAR};
            # Never sent: also drops a client's forged copy.
            proxy_set_header x-unitgate-cluster "";
            # The per-concern modules' chain handoff: never sent either.
            proxy_set_header x-unitgate-hop "";
        }}
    }}
{failover_servers}}}
"#,
            module = self.ngx_wasm_module.display(),
            workers = self.workers,
            pid = self.pid_file().display(),
            error_log = self.error_log().display(),
            wasm = self.unitgate_wasm.display(),
            access_log = self.path(&format!("{cloud}.access.log")),
            port = self.listen_port,
            default_upstream = self.default_upstream,
            config = quote(&self.plugin_config)?,
        ))
    }

    /// A failover server: the reads a peer ingress retries here when its unit's backends fail,
    /// served from the local unit `target`'s servers, with no module (the peer's module
    /// decided). Anything but GET, HEAD and OPTIONS gets 503. Every answer carries
    /// `x-unitgate-failover`, as from Envoy's failover listener.
    fn failover_server(&self, port: u16, target: &str) -> String {
        let cloud = &self.cloud;
        let mut upstream = target.to_string();
        let mut own = String::new();
        // A target that itself fails over gets a copy without its backup: never onwards.
        if self.failover.outbound.iter().any(|(n, _)| n == target) {
            let local = self.upstreams.get(target).copied().unwrap_or_default();
            upstream = format!("{target}_failover_local");
            own = format!("    upstream {upstream} {{ server 127.0.0.1:{local}; keepalive 8; }}\n");
        }
        format!(
            r#"
{own}    # Failover server (reads only) for a peer unit that fails over to {target}.
    server {{
        listen 127.0.0.1:{port};
        add_header {FAILOVER_HEADER} {cloud} always;
        if ($request_method !~ ^(GET|HEAD|OPTIONS)$) {{ return 503 '{{"error":"failover_refused"}}'; }}
        location / {{
            proxy_pass http://{upstream};
            {CONNECT_TIMEOUT}
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header via $unitgate_via;
            proxy_set_header x-unitgate-ctx "";
            proxy_set_header x-unitgate-cluster "";
            proxy_set_header x-unitgate-hop "";
        }}
    }}
"#
        )
    }
}
