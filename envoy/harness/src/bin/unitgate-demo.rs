//! `make demo`: two ingress Envoys ("ucloud" and "jcloud") running the one-pass unitgate module,
//! one backend per unit, and a narrated scenario: routing, cross-cloud forwarding, a gray
//! rollout swapped live through ECDS, a write-forbidden cutover, and a unit failure with breaker
//! failover and recovery, then a gray step published through the Apollo stand-in with the
//! `unitgate` CLI and followed by an ingress by itself. Every process is stopped at the end, on
//! Ctrl-C, and on any panic, including the one a closed output pipe causes (`make demo | head`).

use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use unitgate_envoy::apollo::ApolloIngress;
use unitgate_envoy::policies::{self, GRAY_CITY};
use unitgate_envoy::{clock, locate, process, table, MultiCloud, Options, Reply, Request};

const UC: &str = "ucloud";
const JC: &str = "jcloud";

fn main() {
    process::main_stopping_children("every Envoy and backend stopped", run)
}

fn step(title: &str) {
    println!("\n== {title} ==");
}

fn cell(v: Option<impl ToString>) -> String {
    v.map(|s| s.to_string()).unwrap_or_else(|| "-".into())
}

/// "served by" column: the backend's unit, or the proxy's own reply.
fn served(r: &Reply) -> String {
    match r.served_by() {
        Some(u) => u,
        None => format!("(proxy {})", r.status),
    }
}

fn run() -> Result<()> {
    println!(
        "unitgate demo: two clouds on loopback, real Envoy ({}), one module per ingress ({})",
        locate::envoy_binary()?.display(),
        locate::wasm_module(locate::PIPELINE_MODULE)?.display()
    );
    let mut options = Options::new("demo", policies::demo_policy());
    options.request_timeout = Duration::from_secs(3);
    options.keep_dir = true;
    let mut mc = MultiCloud::start(options)?;
    let rows = mc
        .ingresses
        .iter()
        .map(|i| {
            vec![
                i.cloud.clone(),
                i.local_unit.clone(),
                format!("127.0.0.1:{}", i.envoy.listen_port),
                format!("127.0.0.1:{}", i.envoy.admin_port),
                cell(mc.backend(&i.local_unit).map(|b| b.port())),
                i.envoy.pid().to_string(),
            ]
        })
        .collect::<Vec<_>>();
    table::print(
        &[
            "cloud",
            "local unit",
            "ingress",
            "admin",
            "backend port",
            "envoy pid",
        ],
        &rows,
    );
    println!("  config, ECDS files and logs: {}", mc.dir.display());

    routing(&mc)?;
    wrong_cloud(&mc)?;
    gray_rollout(&mut mc)?;
    cutover(&mut mc)?;
    unit_failure(&mut mc)?;
    metrics(&mc)?;
    drop(mc);
    apollo_publish()?;
    Ok(())
}

/// The `unitgate` CLI: $UNITGATE_CLI, else the release build `make demo` makes.
fn cli() -> Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| locate::workspace_root().join("target"));
    let path = std::env::var_os("UNITGATE_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("release/unitgate"));
    if !path.is_file() {
        bail!(
            "the unitgate CLI {} is missing: build it with `cargo build --release -p unitgate-cli`",
            path.display()
        );
    }
    Ok(path)
}

/// Runs the CLI, echoing the command line (relative to `dir`) and its output.
fn run_cli(args: &[String], dir: &Path) -> Result<()> {
    let shown: Vec<String> = args
        .iter()
        .map(|a| a.replace(&format!("{}/", dir.display()), ""))
        .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
        .collect();
    println!("  $ unitgate {}", shown.join(" "));
    let out = Command::new(cli()?)
        .args(args)
        .output()
        .context("running unitgate")?;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        println!("    {line}");
    }
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        println!("    {line}");
    }
    if !out.status.success() {
        bail!("unitgate {} failed ({})", shown.join(" "), out.status);
    }
    Ok(())
}

/// (f) a gray step published with the CLI through the Apollo stand-in; an ingress following
/// Apollo by itself (two workers, one poller) serves it; `unitgate explain` on one request.
fn apollo_publish() -> Result<()> {
    step(&format!("7. Apollo: gray step city {GRAY_CITY} 0% -> 20% published with the CLI; a third ingress (2 workers) follows the Apollo stand-in by itself"));
    let ing = ApolloIngress::start("demo-apollo", 2, Duration::from_secs(30))?;
    println!(
        "  Apollo stand-in {}; ingress 127.0.0.1:{} (module config: \"apollo\": {{\"upstream\": \"apollo_config\", \"app_id\": \"unitgate\", \"access_key\": ...}})",
        ing.apollo_url(),
        ing.envoy.listen_port
    );
    let base = policies::demo_policy();
    let mut files = Vec::new();
    for percent in [0.0, 20.0] {
        let policy = policies::with_gray_percent(&base, percent);
        let file = ing.dir.join(format!("gray-{percent}.json"));
        std::fs::write(&file, serde_json::to_string_pretty(&policy)?)?;
        files.push((file, policy["version"].as_str().unwrap_or("").to_string()));
    }
    let args = |file: &Path| -> Vec<String> {
        let mut a = vec!["publish".to_string(), file.display().to_string()];
        a.extend(ing.publish_args());
        a
    };
    let probe = |user: &str| Request::get("/api/orders/1").city(GRAY_CITY).user(user);
    let users: Vec<String> = (1..=100).map(|i| format!("user{i:03}")).collect();
    let mut rows = Vec::new();
    let mut moved = None;
    for (file, version) in &files {
        let t = Instant::now();
        run_cli(&args(file), &ing.dir)?;
        while ing.send(&probe("user001"))?.explain("version").as_deref() != Some(version) {
            if t.elapsed() > Duration::from_secs(30) {
                bail!(
                    "the ingress never served {version}:\n{}",
                    ing.envoy.log_tail(20)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let took = t.elapsed().as_millis();
        let mut on_jc = 0;
        for user in &users {
            let r = ing.send(&probe(user))?;
            if r.served_by().as_deref() == Some("jc") {
                on_jc += 1;
                moved.get_or_insert((user.clone(), r));
            }
        }
        rows.push(vec![
            version.clone(),
            format!("{took} ms"),
            format!("{on_jc}/{}", users.len()),
        ]);
    }
    table::print(
        &["version", "publish -> served", "city 21 users on jc"],
        &rows,
    );
    let Some((user, r)) = moved else {
        bail!("no user moved to jc at 20%");
    };
    println!(
        "  {user} now goes to jc; the ingress explains: {}",
        cell(r.header("x-unitgate-explain"))
    );
    println!("  and the CLI, from the same policy file, says why:");
    let (gray20, _) = &files[1];
    let explain: Vec<String> = [
        "explain",
        &gray20.display().to_string(),
        "--local-unit",
        "uc",
        "--remote-upstream",
        "jcloud=peer_jcloud",
        "/api/orders/1",
        "-H",
        &format!("x-city-id: {GRAY_CITY}"),
        "-H",
        &format!("x-user-id: {user}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    run_cli(&explain, &ing.dir)?;
    println!(
        "  polls the stand-in received: {} (one poller for the proxy, not one per worker)",
        ing.apollo.poll_count()
    );
    Ok(())
}

/// (a) cities and users routed to their units, from either ingress.
fn routing(mc: &MultiCloud) -> Result<()> {
    step("1. Routing: cities 1~299 -> uc (ucloud), 300~999 -> jc (jcloud); same answer from either ingress");
    let samples = [
        (
            "GET /api/orders   city 7",
            Request::get("/api/orders/1").city("7").user("alice"),
        ),
        (
            "GET /api/orders   city 150",
            Request::get("/api/orders/2").city("150").user("bob"),
        ),
        (
            "GET /api/orders   city 310",
            Request::get("/api/orders/3").city("310").user("carol"),
        ),
        (
            "GET /api/orders   city 720",
            Request::get("/api/orders/4").city("720").user("dave"),
        ),
        (
            "GET /api/orders?city_id=720",
            Request::get("/api/orders/5?city_id=720"),
        ),
        (
            "POST /api/orders  body city_id 500",
            Request::post("/api/orders", r#"{"city_id":500,"sku":"tea"}"#),
        ),
        ("GET /api/config (global)", Request::get("/api/config")),
        (
            "GET /api/catalog (shared read)",
            Request::get("/api/catalog/9"),
        ),
        (
            "POST /api/catalog (shared write)",
            Request::post("/api/catalog/9", "{}"),
        ),
    ];
    let mut rows = Vec::new();
    for (label, req) in &samples {
        for cloud in [UC, JC] {
            // A failed request is shown, not fatal: the table is the point of this step.
            let row = match mc.send(cloud, req) {
                Ok(r) => vec![
                    r.status.to_string(),
                    served(&r),
                    r.reason_chain(),
                    cell(r.hops()),
                ],
                Err(e) => vec![
                    "error".into(),
                    format!("{e:#}")
                        .rsplit(": ")
                        .next()
                        .unwrap_or("")
                        .to_string(),
                    "-".into(),
                    "-".into(),
                ],
            };
            rows.push([vec![label.to_string(), cloud.to_string()], row].concat());
        }
    }
    table::print(
        &[
            "request",
            "entered at",
            "status",
            "served by",
            "explained reason",
            "hops (via)",
        ],
        &rows,
    );
    Ok(())
}

/// Counter of requests an ingress sent to a peer ingress.
fn peer_sent(mc: &MultiCloud, cloud: &str, peer: &str) -> Result<u64> {
    mc.ingress(cloud)?
        .envoy
        .counter(&format!("cluster.peer_{peer}.upstream_rq_total"))
}

/// The module's decision counters of one ingress.
fn decisions(mc: &MultiCloud, cloud: &str) -> Result<BTreeMap<String, u64>> {
    let module = mc.modules().metrics_name();
    mc.ingress(cloud)?
        .envoy
        .stats(&format!("^wasmcustom\\.unitgate\\.{module}\\.decisions\\."))
}

/// "unit: reason" of every decision counter that grew between two snapshots.
fn decided(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> String {
    after
        .iter()
        .filter(|(name, v)| **v > before.get(*name).copied().unwrap_or(0))
        .filter_map(|(name, _)| {
            let rest = name.split(".decisions.unit.").nth(1)?;
            let (unit, reason) = rest.split_once(".reason.")?;
            Some(format!("{unit}: {reason}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// (b) a request sent to the wrong cloud is forwarded once, never back.
fn wrong_cloud(mc: &MultiCloud) -> Result<()> {
    step("2. Wrong cloud: city 720 (unit jc) arrives at ucloud; forwarded once, never again");
    let before = [peer_sent(mc, UC, JC)?, peer_sent(mc, JC, UC)?];
    let decided_before = [decisions(mc, UC)?, decisions(mc, JC)?];
    let r = mc.send(UC, &Request::get("/api/orders/42").city("720").user("erin"))?;
    let after = [peer_sent(mc, UC, JC)?, peer_sent(mc, JC, UC)?];
    let decided_after = [decisions(mc, UC)?, decisions(mc, JC)?];
    table::print(
        &[
            "status",
            "served by",
            "hops (client -> ingress -> peer -> backend)",
            "ucloud->jcloud",
            "jcloud->ucloud",
        ],
        &[vec![
            r.status.to_string(),
            served(&r),
            format!(
                "client -> {} -> backend {}",
                cell(r.hops()).replace(", ", " -> "),
                served(&r)
            ),
            format!("+{}", after[0] - before[0]),
            format!("+{}", after[1] - before[1]),
        ]],
    );
    let mut rows = Vec::new();
    for (i, cloud) in [UC, JC].into_iter().enumerate() {
        for (name, v) in &decided_after[i] {
            let delta = v - decided_before[i].get(name).copied().unwrap_or(0);
            if delta > 0 {
                rows.push(vec![cloud.to_string(), name.clone(), format!("+{delta}")]);
            }
        }
    }
    println!("  each ingress's decision for that request (admin /stats):");
    table::print(&["ingress", "counter", "change"], &rows);
    let ctx = r
        .json()
        .and_then(|j| j["headers"]["x-unitgate-ctx"].as_str().map(str::to_string));
    match ctx {
        Some(ctx) => println!("  signed context the backend saw: {ctx}"),
        None => println!(
            "  the backend saw no x-unitgate-ctx: jcloud's ingress removed the signed stamp"
        ),
    }
    Ok(())
}

/// (c) gray rollout of one city at 0%, 20%, 100%; users never move back.
fn gray_rollout(mc: &mut MultiCloud) -> Result<()> {
    step(&format!("3. Gray rollout: city {GRAY_CITY} (owned by uc) moves to jc, sticky per user; policy swapped live via ECDS rename"));
    let base = mc.policy().clone();
    let users: Vec<String> = (1..=50).map(|i| format!("user{i:03}")).collect();
    let mut previous: BTreeSet<String> = BTreeSet::new();
    let mut rows = Vec::new();
    for percent in [0.0, 20.0, 100.0] {
        let t = Instant::now();
        mc.set_policy(policies::with_gray_percent(&base, percent))?;
        let swap_ms = t.elapsed().as_millis();
        let mut in_jc = BTreeSet::new();
        for (i, user) in users.iter().enumerate() {
            // Alternate ingresses: the bucket is the same everywhere.
            let cloud = if i % 2 == 0 { UC } else { JC };
            let r = mc.send(
                cloud,
                &Request::get("/api/orders/1").city(GRAY_CITY).user(user),
            )?;
            if r.status != 200 {
                bail!("gray request for {user} got {}: {}", r.status, r.body);
            }
            if r.served_by().as_deref() == Some("jc") {
                in_jc.insert(user.clone());
            }
        }
        let moved_back = previous.difference(&in_jc).count();
        rows.push(vec![
            format!("{percent}%"),
            format!("{swap_ms} ms"),
            format!("{}/{}", in_jc.len(), users.len()),
            (users.len() - in_jc.len()).to_string(),
            moved_back.to_string(),
            in_jc.iter().take(5).cloned().collect::<Vec<_>>().join(","),
        ]);
        previous = in_jc;
    }
    table::print(
        &[
            "percent",
            "ECDS swap",
            "users on jc",
            "users on uc",
            "moved back to uc",
            "first users on jc",
        ],
        &rows,
    );
    mc.set_policy(base)?;
    Ok(())
}

/// (d) cutover: a write-forbidden window on unit jc; writes 503 + Retry-After, reads served.
fn cutover(mc: &mut MultiCloud) -> Result<()> {
    step("4. Cutover of unit jc: write-forbidden window (30 s); writes get 503 + Retry-After, reads are served");
    let base = mc.policy().clone();
    let until = clock::now_ms() / 1000 + 30;
    mc.set_policy(policies::with_write_forbidden(
        &base,
        "jc-cutover",
        &["jc"],
        until,
    ))?;
    let mut rows = Vec::new();
    let probes = [
        (
            "GET  city 720 (jc)",
            Request::get("/api/orders/7").city("720"),
        ),
        (
            "POST city 720 (jc)",
            Request::post("/api/orders", "{}").city("720"),
        ),
        (
            "PUT  city 720 (jc)",
            Request::new("PUT", "/api/orders/7").city("720").body("{}"),
        ),
        (
            "POST city 7   (uc)",
            Request::post("/api/orders", "{}").city("7"),
        ),
    ];
    for (label, req) in &probes {
        for cloud in [UC, JC] {
            let r = mc.send(cloud, req)?;
            rows.push(vec![
                label.to_string(),
                cloud.to_string(),
                r.status.to_string(),
                cell(r.header("retry-after")),
                served(&r),
            ]);
        }
    }
    println!("  window until {}", clock::rfc3339(until));
    table::print(
        &[
            "request",
            "entered at",
            "status",
            "retry-after",
            "served by",
        ],
        &rows,
    );
    mc.set_policy(base)?;
    let r = mc.send(JC, &probes[1].1)?;
    println!(
        "  window removed (policy swapped back): POST city 720 -> {} served by {}",
        r.status,
        served(&r)
    );
    Ok(())
}

/// Outcome rows of a run of identical requests; consecutive equal outcomes share one row.
struct Timeline {
    start: Instant,
    rows: Vec<Vec<String>>,
    sent: usize,
}

impl Timeline {
    fn record(&mut self, phase: &str, r: &Reply, decision: String) {
        self.sent += 1;
        let t = format!("{:.1}s", self.start.elapsed().as_secs_f64());
        let outcome = vec![phase.to_string(), r.status.to_string(), served(r), decision];
        match self.rows.last_mut() {
            Some(last) if last[2..] == outcome[..] => {
                let first = last[0].split("..").next().unwrap_or("").to_string();
                last[0] = format!("{first}..{}", self.sent);
                last[1] = format!("{}..{t}", last[1].split("..").next().unwrap_or(""));
            }
            _ => self
                .rows
                .push([vec![self.sent.to_string(), t], outcome].concat()),
        }
    }
}

/// (e) unit failure: jc's backend stops, the breaker opens and fails over to uc, then recovers.
fn unit_failure(mc: &mut MultiCloud) -> Result<()> {
    step("5. Unit failure: jc's backend stopped; Envoy retries each read on uc's failover listener, the breaker (3 errors in a row, or >= 50% in 3 s) opens -> failover to uc; recovers after restart + open_ms (2 s)");
    // Let the breaker window forget the successes of the steps above, so the failure is all
    // it sees (otherwise it rightly waits until 5xx reach 50% of the window).
    let window = mc.policy()["isolation"]["breaker"]["window_ms"]
        .as_u64()
        .unwrap_or(0);
    println!("  (waiting {window} ms for the breaker window to drain of earlier traffic)");
    std::thread::sleep(Duration::from_millis(window));
    let req = Request::get("/api/orders/9").city("720").user("frank");
    let mut tl = Timeline {
        start: Instant::now(),
        rows: Vec::new(),
        sent: 0,
    };
    mc.stop_backend("jc");
    let mut failovers = 0;
    while failovers < 5 {
        if tl.start.elapsed() > Duration::from_secs(20) {
            bail!("breaker did not open");
        }
        let before = decisions(mc, JC)?;
        let r = mc.send(JC, &req)?;
        let decision = decided(&before, &decisions(mc, JC)?);
        if r.served_by().as_deref() == Some("uc") {
            failovers += 1;
        }
        tl.record("jc down", &r, decision);
        std::thread::sleep(Duration::from_millis(40));
    }
    mc.start_backend("jc")?;
    let mut on_jc = 0;
    while on_jc < 5 {
        if tl.start.elapsed() > Duration::from_secs(40) {
            bail!("breaker did not close");
        }
        let before = decisions(mc, JC)?;
        let r = mc.send(JC, &req)?;
        let decision = decided(&before, &decisions(mc, JC)?);
        on_jc = if r.served_by().as_deref() == Some("jc") {
            on_jc + 1
        } else {
            0
        };
        tl.record("jc restarted", &r, decision);
        std::thread::sleep(Duration::from_millis(100));
    }
    table::print(
        &[
            "requests",
            "time",
            "backend jc",
            "status",
            "served by",
            "jcloud decided",
        ],
        &tl.rows,
    );
    let stats = mc.ingress(JC)?.envoy.unitgate_stats()?;
    for (name, v) in stats.iter().filter(|(k, _)| k.contains("breaker")) {
        println!("  jcloud {name} = {v}");
    }
    Ok(())
}

/// The custom metrics Envoy exposes for the modules.
fn metrics(mc: &MultiCloud) -> Result<()> {
    step("6. Metrics (admin /stats, wasmcustom.unitgate.*)");
    let mut rows = Vec::new();
    for ingress in &mc.ingresses {
        for (name, v) in ingress.envoy.unitgate_stats()? {
            if v > 0 {
                rows.push(vec![ingress.cloud.clone(), name, v.to_string()]);
            }
        }
    }
    table::print(&["cloud", "metric", "value"], &rows);
    Ok(())
}
