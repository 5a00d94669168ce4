//! Property tests: coverage, gray monotonicity, decide never panics, chain == decide.

mod common;

use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::json;
use unitgate_core::*;

const UNITS: [&str; 3] = ["c", "a", "b"];

fn cfg(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A policy whose rule "r" splits 0..n-1 at `cuts` into segments owned by `owners`.
fn partition_policy(
    n: u64,
    cuts: &[u64],
    owners: &[usize],
) -> (serde_json::Value, Vec<(u64, u64, &'static str)>) {
    let mut bounds: Vec<u64> = cuts.iter().map(|c| c % n).filter(|&c| c > 0).collect();
    bounds.sort_unstable();
    bounds.dedup();
    let mut segs = Vec::new();
    let mut lo = 0;
    for (i, &b) in bounds.iter().chain(std::iter::once(&n)).enumerate() {
        segs.push((lo, b - 1, UNITS[owners[i % owners.len()] % 3]));
        lo = b;
    }
    // One item per unit, so ranges of one unit interleave with the others'.
    let items: Vec<_> = UNITS
        .iter()
        .map(|u| {
            let rs: Vec<String> = segs
                .iter()
                .filter(|s| s.2 == *u)
                .map(|s| format!("{}~{}", s.0, s.1))
                .collect();
            json!({"unit": u, "ranges": rs})
        })
        .collect();
    let mut v = base();
    set(&mut v, "/keys/0/transform", json!({"modulo": n}));
    set(&mut v, "/rules/0/ranges", json!(items));
    set(&mut v, "/rules/0/exact", json!([]));
    (v, segs)
}

proptest! {
    #![proptest_config(cfg(96))]

    /// A total rule maps every key to exactly the unit whose range holds it.
    #[test]
    fn total_rule_maps_every_key_to_one_unit(
        n in 1u64..5000,
        cuts in vec(any::<u64>(), 0..12),
        owners in vec(0usize..3, 1..13),
        keys in vec(any::<u64>(), 1..40),
    ) {
        let (v, segs) = partition_policy(n, &cuts, &owners);
        let p = load_ok(&v);
        for k in keys {
            let x = k % n;
            let holders: Vec<_> = segs.iter().filter(|s| s.0 <= x && x <= s.1).collect();
            prop_assert_eq!(holders.len(), 1);
            let (unit, reason) = p.map_value("by-uid", &k.to_string()).expect("mapped");
            prop_assert_eq!(unit.name.as_str(), holders[0].2);
            prop_assert_eq!(reason, Reason::KeyRange);
        }
    }

    /// Overlap and gap errors appear exactly when brute force finds an overlap or a gap.
    #[test]
    fn overlap_and_gap_checks_match_brute_force(
        n in 1u64..40,
        spans in vec((0u64..40, 0u64..8), 0..6),
    ) {
        let spans: Vec<(u64, u64)> = spans.into_iter().map(|(lo, w)| (lo % n, (lo % n + w).min(n - 1))).collect();
        let mut cover = vec![0u32; n as usize];
        for &(lo, hi) in &spans {
            for x in lo..=hi { cover[x as usize] += 1; }
        }
        let overlap = cover.iter().any(|&c| c > 1);
        let gap = cover.contains(&0);
        let items: Vec<_> = spans.iter().enumerate()
            .map(|(i, (lo, hi))| json!({"unit": UNITS[i % 3], "ranges": [format!("{lo}~{hi}")]}))
            .collect();
        let mut v = base();
        set(&mut v, "/keys/0/transform", json!({"modulo": n}));
        set(&mut v, "/rules/0/ranges", json!(items));
        let errors = match load_value(&v) { Ok(_) => vec![], Err(r) => r.errors };
        prop_assert_eq!(errors.iter().any(|e| e.message.contains("overlaps")), overlap, "{:?}", errors);
        prop_assert_eq!(errors.iter().any(|e| e.message.contains("leave gaps")), gap, "{:?}", errors);
        prop_assert_eq!(errors.len(), errors.iter().filter(|e| e.message.contains("overlaps") || e.message.contains("leave gaps")).count());
    }

    /// Raising the percent never moves a user out of the gray group.
    #[test]
    fn gray_is_monotone(salt in ".{0,12}", user in ".{1,24}", p in 0.0f64..=100.0, q in 0.0f64..=100.0) {
        let (lo, hi) = if p <= q { (p, q) } else { (q, p) };
        prop_assert!(!in_gray(&salt, &user, lo) || in_gray(&salt, &user, hi));
        prop_assert!(gray_bucket(&salt, &user) < GRAY_BUCKETS);
    }
}

proptest! {
    #![proptest_config(cfg(32))]

    /// The same through decide: in at p implies in at q >= p.
    #[test]
    fn gray_is_monotone_through_decide(user in "[a-z0-9]{1,12}", p in 0u32..=10000, dq in 0u32..=10000) {
        let q = (p + dq).min(10000);
        let at = |pct: u32| {
            let mut v = base();
            set(&mut v, "/gray/0/percent", json!(f64::from(pct) / 100.0));
            let policy = load_ok(&v);
            let r = req("GET", "/order", &[("x-uid", "10"), ("x-city", "5"), ("x-user", &user)]);
            route(decide(&policy, &ingress("a"), &r, &state(1))).reason == Reason::Gray
        };
        prop_assert!(!at(p) || at(q));
    }
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(CTX_HEADER.to_string()),
        Just(HOP_HEADER.to_string()),
        Just(DEFAULT_TESTER_HEADER.to_string()),
        Just("x-uid".to_string()),
        Just("X-City-Id".to_string()),
        Just("x-user-id".to_string()),
        Just("x-city".to_string()),
        Just("x-user".to_string()),
        Just("x-tag".to_string()),
        Just("cookie".to_string()),
        Just("X-Unitgate-Cluster".to_string()),
        ".{0,12}",
    ]
}

/// Header values: noise, or well-formed stamps and tokens with arbitrary fields.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[0-9]{1,25}",
        "(uid|gid|city)=[^;]{0,10}(; [a-z]{1,3}=[^;]{0,5}){0,3}",
        // Signed in the test body with a timestamp near `now` (see `sign_marked`).
        (
            0u8..5,
            prop_oneof![
                Just("ucloud".to_string()),
                Just("jcloud".to_string()),
                "[a-z]{0,4}"
            ],
            prop_oneof![Just("a".to_string()), Just("b".to_string()), "[a-z.]{0,4}"],
            0usize..25,
            prop_oneof![Just("core"), Just("global"), Just("x")],
            prop_oneof![Just("t1"), Just("v")]
        )
            .prop_map(|(st, cloud, unit, r, class, version)| {
                let reason = Reason::ALL.get(r).map_or("bogus", |r| r.as_str());
                if st == 0 {
                    // A chain handoff.
                    format!("{st};{unit};-;{class};{reason}")
                } else {
                    format!("SIGN:v2;{cloud};{unit};-;{class};{reason};{version}")
                }
            }),
        ("[a-z.]{0,4}", any::<u64>()).prop_map(|(u, exp)| tester_token(SECRET, &u, exp)),
    ]
}

/// "SIGN:<text>" becomes a peer stamp of <text> at `now`, validly signed for a GET of
/// /order without a key (other requests must not accept it).
fn sign_marked(v: String, now: u64) -> String {
    match v.strip_prefix("SIGN:") {
        Some(text) => {
            let text = format!("{text};{now}");
            let bound = format!("{text}\nGET\n/order\n-");
            format!("{text};{}", sign(SECRET, &bound))
        }
        None => v,
    }
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        Just(Body::NotRead),
        Just(Body::Absent),
        Just(Body::TooLarge),
        vec(any::<u8>(), 0..64).prop_map(Body::Bytes),
        "\\{\"uid\": ?(-?[0-9]{1,22}|\"[^\"]{0,8}\"|null|\\[\\]|\\{\\})\\}"
            .prop_map(|s| Body::Bytes(s.into_bytes())),
    ]
}

fn breaker() -> impl Strategy<Value = BreakerStatus> {
    prop_oneof![
        Just(BreakerStatus::Closed),
        Just(BreakerStatus::Open),
        Just(BreakerStatus::HalfOpen)
    ]
}

proptest! {
    #![proptest_config(cfg(256))]

    /// decide, decide_stage and untrusted_headers never panic, on any request and state.
    #[test]
    fn decide_never_panics(
        which in 0usize..3,
        method in prop_oneof![Just("GET".to_string()), Just("POST".to_string()), ".{0,8}"],
        path in prop_oneof!["(/[a-z0-9%]{0,6}){0,5}(\\?[a-z_]{1,6}=[^&]{0,6}(&[a-z_]{0,6}=?[^&]{0,4}){0,3})?", ".{0,30}"],
        headers in vec((header_name(), header_value()), 0..8),
        body in body(),
        local in prop_oneof![Just("a"), Just("b"), Just("c"), Just("uc"), Just("jc"), Just("unit-sh"), Just("zz")],
        closed in any::<bool>(),
        now in prop_oneof![any::<u64>(), 0u64..10, Just(u64::MAX)],
        max_age in prop_oneof![any::<u64>(), Just(30_000u64)],
        breakers in vec((prop_oneof![Just("a"), Just("b"), Just("jc"), Just("uc")], breaker()), 0..3),
        assigned in proptest::option::of(".{0,10}"),
    ) {
        let policies = [
            load_ok(&base()),
            load(&example("dual-cloud-city.json")).unwrap().policy,
            load(&example("center-units.json")).unwrap().policy,
        ];
        let p = &policies[which];
        let headers: Vec<(String, String)> =
            headers.into_iter().map(|(k, v)| (k, sign_marked(v, now))).collect();
        // What the modules hand the core: only the headers the policy reads, the internal
        // ones and the tester header.
        let reads = p.read_headers();
        let lean: Vec<(String, String)> = headers
            .iter()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                k.starts_with(INTERNAL_PREFIX) || k == DEFAULT_TESTER_HEADER || reads.contains(&k)
            })
            .cloned()
            .collect();
        let lean = RequestView::new(&method, &path, lean).with_body(body.clone());
        let r = RequestView::new(&method, &path, headers).with_body(body);
        let mut ing = ingress(local);
        ing.fail_mode = if closed { FailMode::Closed } else { FailMode::Open };
        ing.stamp_max_age_ms = max_age;
        let s = RuntimeState {
            now_ms: now,
            breakers: breakers.into_iter().map(|(u, b)| (u.to_string(), b)).collect(),
            assigned_id: assigned,
        };
        let _ = untrusted_headers(&ing, &r, closed);
        for stage in [Stage::Shard, Stage::Gray, Stage::Isolation] {
            for (earlier, later) in [(false, false), (true, true), (true, false)] {
                let chain = Chain { earlier, later };
                if let Decision::Route(route) = decide_in_chain(p, &ing, &r, &s, stage, chain) {
                    // A handoff for a later module; else a peer stamp exactly when crossing.
                    let names: Vec<&str> =
                        route.request_headers.iter().map(|(k, _)| k.as_str()).collect();
                    let want = if later {
                        vec![HOP_HEADER]
                    } else if route.crossed {
                        vec![CTX_HEADER]
                    } else {
                        vec![]
                    };
                    prop_assert_eq!(names, want);
                    let _ = explain(&route, p.version());
                }
            }
        }
        prop_assert_eq!(decide(p, &ing, &lean, &s), decide(p, &ing, &r, &s));
    }

    /// load never panics on arbitrary JSON-ish text.
    #[test]
    fn load_never_panics(text in ".{0,200}") {
        let _ = load(&text);
    }
}

proptest! {
    #![proptest_config(cfg(128))]

    /// Shard -> Gray -> Isolation, each fed the previous stage's handoff, reaches decide()'s result.
    #[test]
    fn chained_stages_equal_decide(
        method in prop_oneof![Just("GET"), Just("POST"), Just("PUT")],
        path in prop_oneof![Just("/order"), Just("/tag"), Just("/city/5"), Just("/inv/x"), Just("/cat/y"), Just("/other")],
        uid in proptest::option::of(0u32..200),
        city in proptest::option::of(prop_oneof![Just(5u32), 0u32..300]),
        user in proptest::option::of("[a-z]{1,6}"),
        tag in proptest::option::of("[a-z]{1,3}"),
        local in prop_oneof![Just("a"), Just("b"), Just("c")],
        down in proptest::option::of(prop_oneof![Just("a"), Just("b"), Just("c")]),
        open_breaker in proptest::option::of(prop_oneof![Just("a"), Just("b")]),
        assigned in proptest::option::of("[a-z0-9]{4}"),
        closed in any::<bool>(),
    ) {
        let mut v = base();
        if let Some(d) = down { set(&mut v, "/isolation/down_units", json!([d])); }
        let p = load_ok(&v);
        let mut hs: Vec<(String, String)> = Vec::new();
        let uid_s = uid.map(|u| u.to_string());
        let city_s = city.map(|c| c.to_string());
        for (k, val) in [("x-uid", &uid_s), ("x-city", &city_s), ("x-user", &user), ("x-tag", &tag)] {
            if let Some(val) = val { hs.push((k.to_string(), val.clone())); }
        }
        let r0 = RequestView::new(method, path, hs).with_body(Body::Absent);
        let mut ing = ingress(local);
        ing.fail_mode = if closed { FailMode::Closed } else { FailMode::Open };
        let mut s = state(10_000);
        s.assigned_id = assigned;
        if let Some(b) = open_breaker { s.breakers.insert(b.to_string(), BreakerStatus::Open); }

        let whole = decide(&p, &ing, &r0, &s);
        let mut r = r0.clone();
        let mut cookies: Vec<(String, String)> = Vec::new();
        let mut last = None;
        for stage in [Stage::Shard, Stage::Gray, Stage::Isolation] {
            let chain = Chain { earlier: stage != Stage::Shard, later: stage != Stage::Isolation };
            let d = decide_in_chain(&p, &ing, &r, &s, stage, chain);
            match d {
                Decision::Route(route) => {
                    cookies.extend(route.response_headers.iter().cloned());
                    r.headers.retain(|(k, _)| k != HOP_HEADER);
                    r.headers.extend(route.request_headers.iter().map(|(k, v)| (k.clone().into(), v.clone().into())));
                    last = Some(Decision::Route(route));
                }
                other => { last = Some(other); break; }
            }
        }
        match (last.unwrap(), whole) {
            (Decision::Route(mut chained), Decision::Route(w)) => {
                cookies.dedup();
                chained.response_headers = cookies;
                prop_assert_eq!(chained, w);
            }
            (a, b) => prop_assert_eq!(a, b),
        }
    }

    /// RequestView::new never panics and keeps the path free of the query.
    #[test]
    fn request_view_never_panics(method in ".{0,10}", raw in ".{0,60}", headers in vec((".{0,10}", ".{0,30}"), 0..6)) {
        let r = RequestView::new(&method, &raw, headers);
        prop_assert!(!r.path.contains('?'));
        prop_assert!(r.headers.iter().all(|(k, _)| *k == k.to_ascii_lowercase()));
    }
}

proptest! {
    #![proptest_config(cfg(256))]

    /// When neither the policy nor the request reads the clock (`policy_reads_clock`,
    /// `request_reads_clock`), the time changes nothing: the modules then skip the host's
    /// clock and decide at time 0.
    #[test]
    fn a_decision_that_reads_no_clock_is_the_same_at_any_time(
        which in 0usize..4,
        method in prop_oneof![Just("GET".to_string()), Just("POST".to_string())],
        path in prop_oneof![Just("/order"), Just("/tag"), Just("/city/5"), Just("/inv/x"), Just("/cat/y"), Just("/other")],
        headers in vec((header_name(), header_value()), 0..6),
        body in body(),
        local in prop_oneof![Just("a"), Just("b"), Just("c")],
        now in any::<u64>(),
        later in any::<u64>(),
    ) {
        // `base()` with no second cloud, no window end and no breaker, one feature at a time.
        let one_cloud = |v: &mut serde_json::Value| set(v, "/units/2/cloud", json!("ucloud"));
        let no_until = |v: &mut serde_json::Value| remove(v, "/isolation/write_forbidden/0/until");
        let no_breaker = |v: &mut serde_json::Value| remove(v, "/isolation/breaker");
        let mut v = base();
        match which {
            0 => {}
            1 => { one_cloud(&mut v); no_until(&mut v); }
            2 => { one_cloud(&mut v); no_breaker(&mut v); }
            _ => { one_cloud(&mut v); no_until(&mut v); no_breaker(&mut v); }
        }
        let p = load_ok(&v);
        prop_assert_eq!(policy_reads_clock(&p), which != 3);
        let headers: Vec<(String, String)> =
            headers.into_iter().map(|(k, v)| (k, sign_marked(v, now))).collect();
        let r = RequestView::new(&method, path, headers).with_body(body);
        let ing = ingress(local);
        if !policy_reads_clock(&p) && !request_reads_clock(&ing, &r) {
            let at = |t: u64| decide(&p, &ing, &r, &state(t));
            prop_assert_eq!(at(now), at(0));
            prop_assert_eq!(at(later), at(0));
        }
    }
}
