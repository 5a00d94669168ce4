//! Gray release through the real modules: stickiness and monotonicity over 10,000 users,
//! allow / deny lists, and the assigned-id cookie for anonymous users. Both host profiles.

#[macro_use]
mod plugin_common;

use plugin_common::*;
use proxy_wasm_test_host::{Exchange, Host, Profile, Worker};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const RULE: &str = "city-42-to-jc";
const COOKIE: &str = "ug_uid";
const USERS: usize = 10_000;

/// dual-cloud-city with the gray rule at `percent` (the rule name is the salt).
fn gray_policy(percent: f64) -> Value {
    let mut p = dual_city();
    assert_eq!(p["gray"][0]["name"], RULE);
    p["gray"][0]["percent"] = json!(percent);
    p
}

fn city42(user: &str) -> Req {
    Req::get("/api/orders?city_id=42").header("x-user-id", user)
}

/// Is the request in the gray group? Checks the route is exactly gray->jc or key_range->uc.
fn in_gray(r: &Exchange, profile: Profile) -> bool {
    match route_of(r, profile) {
        (u, up, reason) if u == "jc" && up == "peer_jcloud" && reason == "gray" => true,
        (u, up, reason) if u == "uc" && up == "uc_backend" && reason == "key_range" => false,
        other => panic!("{profile}: unexpected route {other:?}"),
    }
}

/// Users in gray through worker `w`, each checked against the core's bucket formula.
fn gray_set(w: &Worker, profile: Profile, percent: f64) -> BTreeSet<usize> {
    (0..USERS)
        .filter(|i| {
            let user = format!("user-{i}");
            let got = in_gray(&city42(&user).send(w), profile);
            assert_eq!(
                got,
                unitgate_core::in_gray(RULE, &user, percent),
                "{profile}: {user} at {percent}%"
            );
            got
        })
        .collect()
}

/// The observed count is within 4 binomial standard deviations of n*p
/// (sd = sqrt(n p (1-p)): 30 users at 10%, 40 at 20%, 50 at 50% of 10,000).
fn assert_near(count: usize, n: usize, percent: f64) {
    let p = percent / 100.0;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    let diff = (count as f64 - n as f64 * p).abs();
    assert!(
        diff <= 4.0 * sd,
        "{count} of {n} in gray at {percent}%: {diff} away from {} (4 sd = {})",
        n as f64 * p,
        4.0 * sd
    );
}

fn sticky_and_monotone_over_10000_users(profile: Profile) {
    let host = Host::new(profile);
    let cfg = |percent| config(&gray_policy(percent), "uc", profile);
    let a = start(&host, GRAY, &cfg(10.0));
    let b = start(&host, GRAY, &cfg(10.0));

    let at10 = gray_set(&a, profile, 10.0);
    assert_near(at10.len(), USERS, 10.0);
    // Sticky: the same users again, on this worker and on another worker.
    assert_eq!(
        gray_set(&a, profile, 10.0),
        at10,
        "{profile}: repeated requests"
    );
    assert_eq!(
        gray_set(&b, profile, 10.0),
        at10,
        "{profile}: another worker"
    );

    // Monotone: raising the percent (ECDS reload) only adds users.
    a.reconfigure(cfg(20.0).to_string()).unwrap();
    let at20 = gray_set(&a, profile, 20.0);
    assert_near(at20.len(), USERS, 20.0);
    assert!(at10.is_subset(&at20), "{profile}: a user left gray at 20%");
    a.reconfigure(cfg(50.0).to_string()).unwrap();
    let at50 = gray_set(&a, profile, 50.0);
    assert_near(at50.len(), USERS, 50.0);
    assert!(at20.is_subset(&at50), "{profile}: a user left gray at 50%");
}

fn other_cities_are_not_grayed(profile: Profile) {
    let host = Host::new(profile);
    let w = start(&host, GRAY, &config(&gray_policy(100.0), "uc", profile));
    for i in 0..200 {
        let r = Req::get("/api/orders?city_id=43")
            .header("x-user-id", &format!("user-{i}"))
            .send(&w);
        assert_eq!(route_of(&r, profile).2, "key_range", "{profile}");
        assert!(in_gray(&city42(&format!("user-{i}")).send(&w), profile));
    }
    // The rule is for API `orders` only: the shared `profile` API is never grayed.
    let r = Req::get("/api/profile?city_id=42")
        .header("x-user-id", "user-1")
        .send(&w);
    assert_eq!(route_of(&r, profile).2, "shared_read");
}

fn allow_and_deny_lists(profile: Profile) {
    let users: Vec<String> = (0..100).map(|i| format!("user-{i}")).collect();
    let inside = users.iter().find(|u| unitgate_core::in_gray(RULE, u, 10.0));
    let outside = users
        .iter()
        .find(|u| !unitgate_core::in_gray(RULE, u, 10.0));
    let (inside, outside) = (inside.unwrap(), outside.unwrap());
    let mut policy = gray_policy(10.0);
    policy["gray"][0]["deny"] = json!([inside]);
    policy["gray"][0]["allow"] = json!([outside]);

    let host = Host::new(profile);
    for m in [GRAY, ISOLATION] {
        let w = start(&host, m, &config(&policy, "uc", profile));
        let denied = route_of(&city42(inside).send(&w), profile);
        assert_eq!(
            (denied.0.as_str(), denied.2.as_str()),
            ("uc", "key_range"),
            "{m}"
        );
        let allowed = route_of(&city42(outside).send(&w), profile);
        assert_eq!(
            (allowed.0.as_str(), allowed.2.as_str()),
            ("jc", "gray_allow"),
            "{m}"
        );
    }
}

/// Sends an anonymous city-42 request (optionally with the cookie) and returns the exchange.
fn anonymous(send: &dyn Fn(&Req) -> Exchange, cookie: Option<&str>) -> Exchange {
    let mut req = Req::get("/api/orders?city_id=42");
    if let Some(id) = cookie {
        req = req.cookie(COOKIE, id);
    }
    send(&req)
}

fn assigned_id_cookie_keeps_anonymous_users_sticky(profile: Profile) {
    let host = Host::new(profile);
    let cfg = config(&gray_policy(10.0), "uc", profile);
    let other = start(&host, GRAY, &cfg);
    let senders = senders(&host, &cfg);
    // The shard router does not run gray.
    for (name, send) in senders.iter().filter(|(m, _)| *m != SHARD) {
        let mut ids = BTreeSet::new();
        let mut grayed = 0;
        for _ in 0..2000 {
            let first = anonymous(send, None);
            let cookies = first.response_header_all("set-cookie");
            assert_eq!(cookies.len(), 1, "{profile} {name}: one Set-Cookie");
            let id = assigned_cookie(&first, COOKIE).unwrap();
            assert_eq!(
                cookies[0],
                format!("{COOKIE}={id}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax")
            );
            assert!(
                ids.insert(id.clone()),
                "{profile} {name}: id {id} given twice"
            );
            let is_in = in_gray(&first, profile);
            assert_eq!(
                is_in,
                unitgate_core::in_gray(RULE, &id, 10.0),
                "{name} {id}"
            );
            grayed += usize::from(is_in);
            // With the cookie: the same unit, no new cookie, on any worker.
            let again = anonymous(send, Some(&id));
            assert_eq!(in_gray(&again, profile), is_in, "{profile} {name}: {id}");
            assert!(again.response_header("set-cookie").is_none());
            let elsewhere = anonymous(&|r: &Req| r.send(&other), Some(&id));
            assert_eq!(in_gray(&elsewhere, profile), is_in, "{profile} {name}");
        }
        assert_near(grayed, 2000, 10.0);
    }
    // A user with a key, or a request no gray rule matches, gets no cookie.
    let keyed = city42("user-1").send(&other);
    assert!(keyed.response_header("set-cookie").is_none());
    let other_city = Req::get("/api/orders?city_id=100").send(&other);
    assert!(other_city.response_header("set-cookie").is_none());
}

both_profiles!(
    sticky_and_monotone_over_10000_users,
    other_cities_are_not_grayed,
    allow_and_deny_lists,
    assigned_id_cookie_keeps_anonymous_users_sticky,
);
