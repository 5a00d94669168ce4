//! Real Envoy (two workers) following the Apollo stand-in by itself: a policy published with
//! `unitgate publish` reaches every worker within 2 s while a client loop sees no failure; an
//! invalid release is rejected and counted while the last good policy serves; the stand-in
//! stopped and restarted: the last good serves throughout, and polling resumes. Also: one
//! poller per proxy, not one per worker.

use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use unitgate_envoy::apollo::ApolloIngress;
use unitgate_envoy::policies::{demo_policy, with_gray_percent, GRAY_CITY};
use unitgate_envoy::{Reply, Request};

const WORKERS: usize = 2;

/// City 21 (the demo's gray city) for one user: uc at gray 0 %, jc at gray 100 %.
fn probe() -> Request {
    Request::get("/api/orders/1").city(GRAY_CITY).user("u-7")
}

/// (unit that served, policy version explained), or the status of a failed request.
fn served(r: &Reply) -> Result<(String, String), u16> {
    match (r.status, r.served_by(), r.explain("version")) {
        (200, Some(unit), Some(version)) => Ok((unit, version)),
        (status, ..) => Err(status),
    }
}

fn publish_with_cli(ing: &ApolloIngress, policy: &Value, dir: &std::path::Path) {
    let version = policy["version"].as_str().unwrap();
    let file = dir.join(format!("{version}.json"));
    std::fs::write(&file, serde_json::to_string_pretty(policy).unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_unitgate"))
        .arg("publish")
        .arg(&file)
        .args(ing.publish_args())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "publish: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until `count` requests in a row are served as `want`; the time it took.
fn until_served(ing: &ApolloIngress, want: (&str, &str), limit: Duration) -> Duration {
    let start = Instant::now();
    let mut in_a_row = 0;
    while in_a_row < 20 {
        let got = ing.send(&probe()).ok().map(|r| served(&r));
        if got == Some(Ok((want.0.to_string(), want.1.to_string()))) {
            in_a_row += 1;
        } else {
            in_a_row = 0;
            assert!(
                start.elapsed() < limit,
                "not served as {want:?} after {limit:?} (last: {got:?}):\n{}",
                ing.envoy.log_tail(30)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    start.elapsed()
}

/// A client loop on fresh connections until stopped: every answer it got.
fn client_loop(
    ing: &ApolloIngress,
    stop: Arc<AtomicBool>,
) -> JoinHandle<Vec<Result<(String, String), u16>>> {
    let port = ing.envoy.listen_port;
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        while !stop.load(Ordering::SeqCst) && seen.len() < 20_000 {
            let client = unitgate_envoy::Client::with_timeout(Duration::from_secs(10));
            seen.push(client.send(port, &probe()).map_or(Err(0), |r| served(&r)));
        }
        seen
    })
}

fn stop_loop(
    stop: &AtomicBool,
    h: JoinHandle<Vec<Result<(String, String), u16>>>,
) -> Vec<Result<(String, String), u16>> {
    stop.store(true, Ordering::SeqCst);
    h.join().unwrap()
}

/// Envoy worker threads that logged `needle` (Envoy logs `[time][thread id][level]…`).
fn threads_logging(log: &str, needle: &str) -> BTreeSet<String> {
    log.lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| l.split('[').nth(2)?.split(']').next().map(str::to_string))
        .collect()
}

/// Envoy's log once `ok` holds for it (Envoy flushes its log file every 10 s).
fn log_until(ing: &ApolloIngress, ok: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let log = ing.log();
        if ok(&log) {
            return log;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "log never matched:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn envoy_workers_follow_apollo_publishes_invalid_releases_and_outages() {
    let mut ing = ApolloIngress::start("apollo-e2e", WORKERS, Duration::from_secs(1)).unwrap();
    let dir = ing.dir.clone();
    let base = demo_policy();
    let v1 = with_gray_percent(&base, 0.0);
    let v1_version = v1["version"].as_str().unwrap().to_string();
    publish_with_cli(&ing, &v1, &dir);
    until_served(&ing, ("uc", &v1_version), Duration::from_secs(30));

    // One poller per proxy: held 1 s each, a poll per worker would double the count.
    let before = ing.apollo.poll_count();
    std::thread::sleep(Duration::from_secs(6));
    let polls = ing.apollo.poll_count() - before;
    assert!(
        (4..=8).contains(&polls),
        "{polls} polls in 6 s with 1 s holds"
    );

    // Publish: every worker serves it within 2 s, and no request fails meanwhile.
    let stop = Arc::new(AtomicBool::new(false));
    let load = client_loop(&ing, stop.clone());
    std::thread::sleep(Duration::from_millis(300));
    let v2 = with_gray_percent(&base, 100.0);
    let v2_version = v2["version"].as_str().unwrap().to_string();
    publish_with_cli(&ing, &v2, &dir);
    let took = until_served(&ing, ("jc", &v2_version), Duration::from_secs(2));
    std::thread::sleep(Duration::from_millis(300));
    let seen = stop_loop(&stop, load);
    let failed: Vec<_> = seen.iter().filter(|s| s.is_err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed: {failed:?}",
        failed.len(),
        seen.len()
    );
    assert!(seen.contains(&Ok(("jc".into(), v2_version.clone()))));
    // Envoy flushes its log file every 10 s: wait for it. The poller's VM (often the main
    // thread's) and every worker's log the switch.
    let needle = format!("policy {v2_version} (Apollo release");
    let log = log_until(&ing, |log| threads_logging(log, &needle).len() > WORKERS);
    let threads = threads_logging(&log, &needle);
    assert!(threads.len() > WORKERS, "VMs that switched: {threads:?}");
    assert_eq!(ing.metric(&format!("policy.version.{v2_version}")), 1);
    eprintln!(
        "publish served everywhere after {took:?}; {} requests, none failed",
        seen.len()
    );

    // Invalid: rejected, counted, logged; v2 keeps serving.
    let mut bad = v2.clone();
    bad["version"] = "broken-3".into();
    bad["rules"][0]["ranges"][0]["unit"] = "nowhere".into();
    ing.publish_raw(&bad.to_string());
    let start = Instant::now();
    while ing.metric("apollo.rejected") == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "never rejected:\n{}",
            ing.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    until_served(&ing, ("jc", &v2_version), Duration::from_secs(1));
    log_until(&ing, |log| {
        log.contains("Apollo release") && log.contains("rejected (1 errors)")
    });

    // Fixture down, then back: v2 throughout; a later publish lands.
    let stop = Arc::new(AtomicBool::new(false));
    let load = client_loop(&ing, stop.clone());
    ing.apollo.stop();
    std::thread::sleep(Duration::from_secs(4));
    assert!(ing.metric("apollo.errors") >= 1, "{}", ing.log());
    ing.apollo.restart().unwrap();
    let v4 = unitgate_envoy::policies::with_version(&v1, "after-outage-4");
    publish_with_cli(&ing, &v4, &dir);
    until_served(&ing, ("uc", "after-outage-4"), Duration::from_secs(35));
    let seen = stop_loop(&stop, load);
    assert!(seen.iter().all(|s| s.is_ok()), "failures during the outage");
    let versions: BTreeSet<_> = seen.iter().flatten().map(|(_, v)| v.clone()).collect();
    let want: BTreeSet<_> = [v2_version, "after-outage-4".to_string()].into();
    assert!(versions.is_subset(&want), "{versions:?}");
}
