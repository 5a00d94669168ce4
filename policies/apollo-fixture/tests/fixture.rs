//! The Apollo stand-in, driven with a plain HTTP client: config reads, 304s, long polls,
//! signatures, the Open API, failures, stop and restart.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use unitgate_apollo_fixture::{auth, Fixture, Options};

const NS: &str = "unitgate.json";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// (status, body) of a GET with optional headers.
fn get(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.call().expect("fixture answers");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

fn send(method: &str, url: &str, token: Option<&str>, body: Value) -> (u16, String) {
    let mut b = ureq::http::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        b = b.header("Authorization", t);
    }
    let req = b
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .expect("request builds");
    let mut resp = agent().run(req).expect("fixture answers");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

fn notifications_url(base: &str, id: i64) -> String {
    let n = json!([{"namespaceName": NS, "notificationId": id}]).to_string();
    let enc: String = n
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{base}/notifications/v2?appId=app&cluster=default&notifications={enc}")
}

fn short_hold() -> Options {
    Options {
        hold: Duration::from_millis(400),
        ..Options::default()
    }
}

#[test]
fn configs_404_then_200_then_304_on_the_same_release_key() {
    let apollo = Fixture::start(short_hold()).unwrap();
    let url = format!("{}/configs/app/default/{NS}", apollo.url());
    assert_eq!(get(&url, &[]).0, 404);

    let key = apollo.seed("app", "default", NS, r#"{"version":"v1"}"#);
    let (status, body) = get(&format!("{url}?ip=127.0.0.1"), &[]);
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["appId"], "app");
    assert_eq!(v["cluster"], "default");
    assert_eq!(v["namespaceName"], NS);
    assert_eq!(v["releaseKey"], key.as_str());
    assert_eq!(v["configurations"]["content"], r#"{"version":"v1"}"#);

    assert_eq!(get(&format!("{url}?releaseKey={key}"), &[]).0, 304);
    let key2 = apollo.seed("app", "default", NS, r#"{"version":"v2"}"#);
    assert_ne!(key, key2, "release keys change on every release");
    assert_eq!(get(&format!("{url}?releaseKey={key}"), &[]).0, 200);
}

#[test]
fn long_poll_holds_then_304_and_answers_at_once_on_a_release() {
    let apollo = Fixture::start(short_hold()).unwrap();
    // Nothing released yet: held for the hold, then 304.
    let t = Instant::now();
    assert_eq!(get(&notifications_url(&apollo.url(), -1), &[]).0, 304);
    assert!(
        t.elapsed() >= Duration::from_millis(350),
        "{:?}",
        t.elapsed()
    );

    apollo.seed("app", "default", NS, "{}");
    let (status, body) = get(&notifications_url(&apollo.url(), -1), &[]);
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    let id = v[0]["notificationId"].as_i64().unwrap();
    assert_eq!(v[0]["namespaceName"], NS);
    assert_eq!(v[0]["messages"]["details"][format!("app+default+{NS}")], id);

    // Up to date: held; a release during the hold ends it with the next id.
    let url = notifications_url(&apollo.url(), id);
    let waiter = std::thread::spawn(move || get(&url, &[]));
    std::thread::sleep(Duration::from_millis(100));
    apollo.seed("app", "default", NS, r#"{"v":2}"#);
    let (status, body) = waiter.join().unwrap();
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v[0]["notificationId"].as_i64().unwrap() > id);
}

#[test]
fn notifications_without_parameters_is_400() {
    let apollo = Fixture::start(short_hold()).unwrap();
    let base = apollo.url();
    assert_eq!(
        get(&format!("{base}/notifications/v2?appId=app"), &[]).0,
        400
    );
    let bad = format!("{base}/notifications/v2?appId=app&cluster=default&notifications=nope");
    assert_eq!(get(&bad, &[]).0, 400);
    assert_eq!(get(&format!("{base}/nothing/here"), &[]).0, 404);
}

#[test]
fn access_key_signature_is_required_and_checked() {
    let mut keys = BTreeMap::new();
    keys.insert("app".to_string(), vec!["s3cret".to_string()]);
    let apollo = Fixture::start(Options {
        access_keys: keys,
        ..short_hold()
    })
    .unwrap();
    apollo.seed("app", "default", NS, "{}");
    let path = format!("/configs/app/default/{NS}?ip=127.0.0.1");
    let url = format!("{}{path}", apollo.url());
    assert_eq!(get(&url, &[]).0, 401, "unsigned");

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let (authz, ts) = auth::auth_headers("app", now, &path, "s3cret");
    assert_eq!(
        get(&url, &[("Authorization", &authz), ("Timestamp", &ts)]).0,
        200
    );

    let (wrong, _) = auth::auth_headers("app", now, &path, "other");
    assert_eq!(
        get(&url, &[("Authorization", &wrong), ("Timestamp", &ts)]).0,
        401
    );
    let old = now - 120_000;
    let (stale, old_ts) = auth::auth_headers("app", old, &path, "s3cret");
    let old_ts = old_ts.to_string();
    assert_eq!(
        get(&url, &[("Authorization", &stale), ("Timestamp", &old_ts)]).0,
        401
    );
    // Signed for another path: the query is part of what is signed.
    let (other_path, _) = auth::auth_headers("app", now, "/configs/app/default/x", "s3cret");
    assert_eq!(
        get(&url, &[("Authorization", &other_path), ("Timestamp", &ts)]).0,
        401
    );
}

#[test]
fn open_api_item_release_latest_and_rollback() {
    let apollo = Fixture::start(Options {
        open_api_token: Some("t0k3n".into()),
        ..short_hold()
    })
    .unwrap();
    let ns = format!(
        "{}/openapi/v1/envs/DEV/apps/app/clusters/default/namespaces/{NS}",
        apollo.url()
    );
    let item = |v: &str| json!({"key": "content", "value": v, "dataChangeLastModifiedBy": "ops", "dataChangeCreatedBy": "ops"});
    let rel = json!({"releaseTitle": "r", "releaseComment": "c", "releasedBy": "ops"});

    assert_eq!(
        send(
            "PUT",
            &format!("{ns}/items/content?createIfNotExists=true"),
            None,
            item("a")
        )
        .0,
        401
    );
    assert_eq!(
        send(
            "PUT",
            &format!("{ns}/items/content"),
            Some("t0k3n"),
            item("a")
        )
        .0,
        404,
        "no createIfNotExists"
    );
    assert_eq!(
        send(
            "PUT",
            &format!("{ns}/items/content?createIfNotExists=true"),
            Some("t0k3n"),
            item("a")
        )
        .0,
        200
    );
    assert_eq!(
        send(
            "PUT",
            &format!("{ns}/items/content?createIfNotExists=true"),
            Some("t0k3n"),
            json!({"key": "content"})
        )
        .0,
        400
    );
    let long = json!({"releaseTitle": "x".repeat(65), "releasedBy": "ops"});
    assert_eq!(
        send("POST", &format!("{ns}/releases"), Some("t0k3n"), long).0,
        400
    );
    let (status, body) = send(
        "POST",
        &format!("{ns}/releases"),
        Some("t0k3n"),
        rel.clone(),
    );
    assert_eq!(status, 200);
    let first: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(first["configurations"]["content"], "a");

    send(
        "PUT",
        &format!("{ns}/items/content"),
        Some("t0k3n"),
        item("b"),
    );
    let (_, body) = send("POST", &format!("{ns}/releases"), Some("t0k3n"), rel);
    let second: Value = serde_json::from_str(&body).unwrap();
    let (status, latest) = get(
        &format!("{ns}/releases/latest"),
        &[("Authorization", "t0k3n")],
    );
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&latest).unwrap()["id"],
        second["id"]
    );
    assert_eq!(
        apollo.active_content("app", "default", NS).as_deref(),
        Some("b")
    );

    let rollback = format!(
        "{}/openapi/v1/envs/DEV/releases/{}/rollback",
        apollo.url(),
        second["id"]
    );
    assert_eq!(
        send("PUT", &rollback, Some("t0k3n"), json!({})).0,
        400,
        "operator is required"
    );
    assert_eq!(
        send(
            "PUT",
            &format!("{rollback}?operator=ops"),
            Some("t0k3n"),
            json!({})
        )
        .0,
        200
    );
    assert_eq!(
        apollo.active_content("app", "default", NS).as_deref(),
        Some("a")
    );
    let (_, body) = get(&format!("{}/configs/app/default/{NS}", apollo.url()), &[]);
    let served: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(served["releaseKey"], first["releaseKey"]);
}

#[test]
fn failing_gives_500_and_restart_keeps_releases_on_the_same_port() {
    let mut apollo = Fixture::start(short_hold()).unwrap();
    apollo.seed("app", "default", NS, r#"{"version":"v1"}"#);
    let url = format!("{}/configs/app/default/{NS}", apollo.url());
    apollo.set_failing(true);
    assert_eq!(get(&url, &[]).0, 500);
    apollo.set_failing(false);

    let addr = apollo.addr();
    apollo.stop();
    assert!(
        agent().get(&url).call().is_err(),
        "stopped: connection refused"
    );
    apollo.restart().unwrap();
    assert_eq!(apollo.addr(), addr);
    let (status, body) = get(&url, &[]);
    assert_eq!(status, 200);
    assert!(body.contains("v1"), "{body}");
}

#[test]
fn stop_cuts_held_long_polls_at_once() {
    let mut apollo = Fixture::start(Options {
        hold: Duration::from_secs(30),
        ..Options::default()
    })
    .unwrap();
    let url = notifications_url(&apollo.url(), -1);
    let poll = std::thread::spawn(move || {
        let t = Instant::now();
        (agent().get(&url).call().is_err(), t.elapsed())
    });
    std::thread::sleep(Duration::from_millis(200));
    apollo.stop();
    let (failed, took) = poll.join().unwrap();
    assert!(
        failed,
        "a cut poll is an error for the client, as with a dead server"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}
