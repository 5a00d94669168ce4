//! One scenario file, four hosts, identical decisions: every request of
//! `policies/scenarios/parity.json` goes through `unitgate.wasm` in host-tests (envoy and
//! ngx_wasm_module profiles), in real Envoy and in real nginx (two clouds each), and each host
//! must reach the decision the table expects. The table itself must agree with the core.
//! On any disagreement the test prints the whole table.

use proxy_wasm_test_host::{Host, Profile, Worker};
use std::collections::BTreeMap;
use std::time::Duration;
use unitgate_envoy::plugin_config::{plugin_config, PluginSettings};
use unitgate_envoy::{clock, table, Reply};
use unitgate_nginx::chunked::send_chunked;
use unitgate_nginx::conf::{nginx_plugin_config, CTX_VAR, UPSTREAM_VAR};
use unitgate_nginx::scenario::{self, Case, Expect, Scenario};
use unitgate_nginx::{Clouds, Options, ProxyKind};

const EXPLAIN: &str = "x-unitgate-explain";

fn settings(s: &Scenario) -> PluginSettings {
    PluginSettings {
        secret: s.secret.clone(),
        fail_mode: "closed".to_string(),
        explain: true,
        ..PluginSettings::default()
    }
}

/// Decisions of host-tests under `profile`: one worker per cloud.
fn host_tests(s: &Scenario, profile: Profile) -> Vec<String> {
    let host = Host::new(profile);
    let mut workers: BTreeMap<String, Worker> = BTreeMap::new();
    for (unit, cloud) in s.clouds() {
        let ingress = s.ingress(&cloud).unwrap();
        let mut cfg = plugin_config(&s.policy, &unit, &ingress.remote_upstreams, &settings(s));
        let mut builder = host.module("unitgate").unwrap();
        if profile.is_ngx() {
            cfg = nginx_plugin_config(&cfg).unwrap();
            builder = builder.ngx_var(UPSTREAM_VAR).ngx_var(CTX_VAR);
        }
        workers.insert(cloud, builder.config(cfg).start().unwrap());
    }
    s.cases
        .iter()
        .map(|case| {
            let mut b = workers[&case.at]
                .request()
                .method(&case.method)
                .path(&case.path);
            for (k, v) in &case.headers {
                b = b.header(k, v);
            }
            if let Some(body) = &case.body {
                b = if case.chunked {
                    let (x, y) = body.split_at(body.len() / 2);
                    b.header("transfer-encoding", "chunked").body_chunks([x, y])
                } else {
                    b.body(body)
                };
            }
            let r = b.send().unwrap();
            match r.response_header(EXPLAIN).and_then(Expect::from_explain) {
                Some(seen) => seen.to_string(),
                None => format!("no explain (status {:?})", r.status()),
            }
        })
        .collect()
}

/// What a real entry ingress decided: its explain header (the peers have explain off), and
/// for a route the unit whose backend actually answered, reached through at most one peer.
fn real_decision(reply: &Reply, case: &Case, clouds: &Clouds) -> String {
    let explain = reply.header(EXPLAIN).and_then(Expect::from_explain);
    let Some(seen) = explain else {
        return format!("no explain (status {})", reply.status);
    };
    if let Some(unit) = &seen.unit {
        let served = reply.served_by().unwrap_or_else(|| "nobody".to_string());
        if &served != unit {
            return format!("{seen} but served by {served}");
        }
        let unit_cloud = clouds.unit_cloud(unit).unwrap_or_default();
        let mut hops = vec![format!("unitgate-{}", case.at)];
        if unit_cloud != case.at {
            hops.push(format!("unitgate-{unit_cloud}"));
        }
        let via = reply.hops().unwrap_or_default();
        if via != hops.join(", ") {
            return format!("{seen} via {via}");
        }
    }
    seen.to_string()
}

/// Decisions of real ingresses of `kind`: one two-cloud deployment per entry cloud, with
/// explain on at that cloud only.
fn real(s: &Scenario, kind: ProxyKind) -> Vec<String> {
    let mut out = vec![String::new(); s.cases.len()];
    let clouds_of_units = s.clouds();
    let entry_clouds: std::collections::BTreeSet<&String> = clouds_of_units.values().collect();
    for entry in entry_clouds {
        let mut options = Options::new(&format!("parity-{kind:?}-{entry}"), s.policy.clone());
        options.settings = settings(s);
        options.explain_only_at = Some(entry.clone());
        for cloud in clouds_of_units.values() {
            options = options.with_proxy(cloud, kind);
        }
        let started = Clouds::start(options);
        for (i, case) in s.cases.iter().enumerate().filter(|(_, c)| &c.at == entry) {
            out[i] = match &started {
                // Every cell then says why; the table still shows the other hosts.
                Err(e) => format!("{kind:?} did not start: {e:#}"),
                Ok(clouds) => {
                    let port = clouds.ingress(&case.at).unwrap().proxy.listen_port();
                    let sent = if case.chunked {
                        send_chunked(port, &case.request(), Duration::from_secs(10))
                    } else {
                        clouds.send(&case.at, &case.request())
                    };
                    match sent {
                        Ok(reply) => real_decision(&reply, case, clouds),
                        Err(e) => format!("error: {e:#}"),
                    }
                }
            };
        }
    }
    out
}

#[test]
fn four_hosts_reach_the_decisions_of_the_scenario_table() {
    let s = scenario::load("parity").unwrap();
    let now = clock::now_ms();
    let columns: Vec<(&str, Vec<String>)> = vec![
        (
            "core",
            s.cases
                .iter()
                .map(|c| s.core_decision(c, now).unwrap().to_string())
                .collect(),
        ),
        ("host-tests envoy", host_tests(&s, Profile::Envoy)),
        ("host-tests ngx", host_tests(&s, Profile::NgxWasmModule)),
        ("Envoy", real(&s, ProxyKind::Envoy)),
        ("nginx", real(&s, ProxyKind::Nginx)),
    ];
    let mut rows = Vec::new();
    let mut failures = 0;
    for (i, case) in s.cases.iter().enumerate() {
        let expected = case.expect.to_string();
        let mut row = vec![format!("{} @{}", case.name, case.at), expected.clone()];
        for (_, col) in &columns {
            let got = &col[i];
            if *got == expected {
                row.push("ok".to_string());
            } else {
                failures += 1;
                row.push(got.clone());
            }
        }
        rows.push(row);
    }
    let mut header = vec!["case", "expected"];
    header.extend(columns.iter().map(|(name, _)| *name));
    let rendered = table::render(&header, &rows);
    println!("{rendered}");
    assert_eq!(
        failures, 0,
        "hosts disagree with the scenario table:\n{rendered}"
    );
}
