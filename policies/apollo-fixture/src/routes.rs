//! The fixture's endpoints: Apollo's config service (configs, notifications/v2) and the
//! Open API calls unitgate uses (item, release, latest release, rollback).

use crate::http::{Request, Response};
use crate::store::{release_json, NsId, Store};
use crate::{auth, Shared};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::MutexGuard;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub(crate) fn handle(shared: &Shared, req: Request) -> Response {
    if req.path.starts_with("/notifications/") {
        shared.polls.fetch_add(1, Ordering::SeqCst);
    } else if req.path.starts_with("/configs/") {
        shared.reads.fetch_add(1, Ordering::SeqCst);
    }
    if shared.failing.load(Ordering::SeqCst) {
        return error(500, "the fixture is set to fail");
    }
    let segments: Vec<String> = req
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(crate::http::decode)
        .collect();
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (req.method.as_str(), seg.as_slice()) {
        ("GET", ["configs", app, cluster, ns]) => configs(shared, &req, app, cluster, ns),
        ("GET", ["notifications", "v2"]) => notifications(shared, &req),
        (method, ["openapi", "v1", "envs", _env, rest @ ..]) => {
            if let Some(token) = &shared.options.open_api_token {
                if req.header("authorization") != Some(token.as_str()) {
                    return error(401, "Unauthorized: missing or wrong Open API token");
                }
            }
            open_api(shared, &req, method, rest)
        }
        _ => error(404, "no such endpoint"),
    }
}

fn error(status: u16, message: &str) -> Response {
    Response::json(
        status,
        json!({"status": status, "message": message}).to_string(),
    )
}

fn lock(shared: &Shared) -> MutexGuard<'_, Store> {
    shared.store.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// 401 unless the app has no access key or the request is signed with one of them.
fn signed(shared: &Shared, req: &Request, app: &str) -> bool {
    match shared.options.access_keys.get(app) {
        None => true,
        Some(secrets) => {
            let stamped = req.header("timestamp");
            let now = match stamped.and_then(|t| t.parse().ok()) {
                Some(t) if !shared.options.check_skew => t,
                _ => now_ms(),
            };
            auth::verify(
                app,
                req.header("authorization"),
                stamped,
                &req.path_with_query(),
                secrets,
                now,
            )
        }
    }
}

fn configs(shared: &Shared, req: &Request, app: &str, cluster: &str, ns: &str) -> Response {
    if !signed(shared, req, app) {
        return error(401, "Unauthorized");
    }
    let id: NsId = (app.into(), cluster.into(), ns.into());
    let store = lock(shared);
    let Some(release) = store.namespaces.get(&id).and_then(|n| n.active_release()) else {
        return error(
            404,
            &format!("Could not load configurations for {app}/{cluster}/{ns}"),
        );
    };
    if req.param("releaseKey").as_deref() == Some(release.release_key.as_str()) {
        return Response::empty(304);
    }
    Response::json(
        200,
        json!({
            "appId": app,
            "cluster": cluster,
            "namespaceName": ns,
            "configurations": release.configurations,
            "releaseKey": release.release_key,
        })
        .to_string(),
    )
}

fn notifications(shared: &Shared, req: &Request) -> Response {
    let (Some(app), Some(cluster), Some(raw)) = (
        req.param("appId"),
        req.param("cluster"),
        req.param("notifications"),
    ) else {
        return error(400, "appId, cluster and notifications are required");
    };
    if !signed(shared, req, &app) {
        return error(401, "Unauthorized");
    }
    let Ok(Value::Array(wanted)) = serde_json::from_str::<Value>(&raw) else {
        return error(400, "notifications must be a JSON array");
    };
    let mut watch: Vec<(String, i64)> = Vec::new();
    for w in &wanted {
        let (Some(ns), Some(id)) = (
            w.get("namespaceName").and_then(Value::as_str),
            w.get("notificationId").and_then(Value::as_i64),
        ) else {
            return error(
                400,
                "each notification needs namespaceName and notificationId",
            );
        };
        watch.push((ns.to_string(), id));
    }
    let deadline = Instant::now() + shared.options.hold;
    let mut store = lock(shared);
    loop {
        let changed: Vec<Value> = watch
            .iter()
            .filter_map(|(ns, seen)| {
                let id: NsId = (app.clone(), cluster.clone(), ns.clone());
                let current = store.namespaces.get(&id)?.notification_id;
                (current > *seen).then(|| {
                    json!({
                        "namespaceName": ns,
                        "notificationId": current,
                        "messages": {"details": {format!("{app}+{cluster}+{ns}"): current}},
                    })
                })
            })
            .collect();
        if !changed.is_empty() {
            return Response::json(200, Value::Array(changed).to_string());
        }
        if shared.stopping.load(Ordering::SeqCst) {
            return Response::empty(0);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Response::empty(304);
        }
        store = match shared
            .changed
            .wait_timeout(store, left.min(Duration::from_secs(1)))
        {
            Ok((guard, _)) => guard,
            Err(p) => p.into_inner().0,
        };
    }
}

fn open_api(shared: &Shared, req: &Request, method: &str, rest: &[&str]) -> Response {
    match (method, rest) {
        ("PUT", ["apps", app, "clusters", cluster, "namespaces", ns, "items", key]) => {
            put_item(shared, req, (app, cluster, ns), key)
        }
        ("POST", ["apps", app, "clusters", cluster, "namespaces", ns, "releases"]) => {
            release(shared, req, (app, cluster, ns))
        }
        ("GET", ["apps", app, "clusters", cluster, "namespaces", ns, "releases", "latest"]) => {
            let id: NsId = (app.to_string(), cluster.to_string(), ns.to_string());
            let store = lock(shared);
            match store.namespaces.get(&id).and_then(|n| n.active_release()) {
                Some(r) => Response::json(200, release_json(&id, r).to_string()),
                None => error(404, "no active release"),
            }
        }
        ("PUT", ["releases", release_id, "rollback"]) => {
            if req.param("operator").is_none_or(|o| o.is_empty()) {
                return error(400, "operator is required");
            }
            let Ok(release_id) = release_id.parse::<u64>() else {
                return error(400, "releaseId must be a number");
            };
            let result = lock(shared).rollback(release_id);
            match result {
                Ok(()) => {
                    shared.changed.notify_all();
                    Response::json(200, String::new())
                }
                Err((status, message)) => error(status, &message),
            }
        }
        _ => error(404, "no such Open API endpoint"),
    }
}

fn body_json(req: &Request) -> Option<Value> {
    serde_json::from_slice(&req.body).ok()
}

fn put_item(
    shared: &Shared,
    req: &Request,
    (app, cluster, ns): (&str, &str, &str),
    key: &str,
) -> Response {
    let Some(body) = body_json(req) else {
        return error(400, "body must be JSON");
    };
    let (Some(value), Some(by)) = (
        body.get("value").and_then(Value::as_str),
        body.get("dataChangeLastModifiedBy").and_then(Value::as_str),
    ) else {
        return error(400, "value and dataChangeLastModifiedBy are required");
    };
    if body
        .get("key")
        .and_then(Value::as_str)
        .is_some_and(|k| k != key)
    {
        return error(400, "key in the body differs from the key in the path");
    }
    let create = req.param("createIfNotExists").as_deref() == Some("true");
    let id: NsId = (app.into(), cluster.into(), ns.into());
    let mut store = lock(shared);
    let items = &mut store.namespace_mut(&id).items;
    if !create && !items.contains_key(key) {
        return error(404, &format!("item {key} not found"));
    }
    items.insert(key.to_string(), value.to_string());
    Response::json(
        200,
        json!({"key": key, "value": value, "dataChangeLastModifiedBy": by}).to_string(),
    )
}

fn release(shared: &Shared, req: &Request, (app, cluster, ns): (&str, &str, &str)) -> Response {
    let Some(body) = body_json(req) else {
        return error(400, "body must be JSON");
    };
    let (Some(title), Some(by)) = (
        body.get("releaseTitle").and_then(Value::as_str),
        body.get("releasedBy").and_then(Value::as_str),
    ) else {
        return error(400, "releaseTitle and releasedBy are required");
    };
    if title.is_empty() || title.chars().count() > 64 {
        return error(400, "releaseTitle must have 1 to 64 characters");
    }
    let comment = body
        .get("releaseComment")
        .and_then(Value::as_str)
        .unwrap_or("");
    let id: NsId = (app.into(), cluster.into(), ns.into());
    let mut store = lock(shared);
    if store.namespaces.get(&id).is_none_or(|n| n.items.is_empty()) {
        return error(404, "namespace has no items to release");
    }
    let r = store.release(&id, title, comment, by);
    drop(store);
    shared.changed.notify_all();
    Response::json(200, release_json(&id, &r).to_string())
}
