//! The playground's operations, natively: what the page and the npm package show is what
//! the core and the `unitgate` command say.

use unitgate_core::trace::{narrate, trace};
use unitgate_playground::api::{ExplainRequest, Session, EXACT_SAMPLE};

const EXAMPLE: &str = include_str!("../../policies/examples/dual-cloud-city.json");

fn session(text: &str) -> Session {
    Session::new(text)
}

#[test]
fn a_valid_policy_has_its_version_and_no_errors() {
    let v = session(EXAMPLE).validation();
    assert!(v.valid);
    assert_eq!(v.version.as_deref(), Some("dada-2026-11-22.1"));
    assert!(v.errors.is_empty(), "{:?}", v.errors);
}

#[test]
fn an_error_points_at_its_value_in_the_text() {
    let bad = EXAMPLE.replace(r#""500~999""#, r#""400~999""#);
    let v = session(&bad).validation();
    assert!(!v.valid);
    let e = v
        .errors
        .iter()
        .find(|e| e.message.contains("overlaps"))
        .expect("an overlap error");
    assert_eq!(e.pointer, "/rules/0/ranges/1/ranges/0");
    assert_eq!(e.text, format!("at {}: {}", e.pointer, e.message));
    let marked: String = bad
        .encode_utf16()
        .skip(e.start)
        .take(e.end - e.start)
        .map(|u| u as u8 as char)
        .collect();
    assert_eq!(marked, r#""400~999""#);
    let line = bad.lines().nth(e.line - 1).unwrap_or_default();
    assert!(line.contains("400~999"), "line {}: {line}", e.line);
}

#[test]
fn a_syntax_error_points_at_serde_jsons_position() {
    let bad = "{\n  \"version\": \"v1\",\n  \"units\": [,]\n}";
    let v = session(bad).validation();
    let e = &v.errors[0];
    assert_eq!(e.pointer, "");
    assert!(e.message.starts_with("not JSON"), "{}", e.message);
    assert_eq!((e.line, e.column), (3, 13));
}

#[test]
fn explain_prints_the_steps_of_unitgate_explain() {
    let s = session(EXAMPLE);
    let r = ExplainRequest {
        url: "http://shop.example/api/orders?city_id=600".into(),
        headers: vec!["x-user-id: u16".into()],
        ..ExplainRequest::default()
    };
    let out = s.explain(&r, 0).expect("explained");
    assert_eq!((out.unit.as_deref(), out.reason), (Some("jc"), "key_range"));
    assert_eq!(out.local_unit, "uc", "the center unit by default");
    assert!(
        out.steps.contains("rule by-city: range 500~999 -> jc"),
        "{}",
        out.steps
    );
    // The same text the core narrates for the same request.
    let p = match unitgate_core::load(EXAMPLE) {
        Ok(l) => l.policy,
        Err(r) => panic!("{r}"),
    };
    let req = unitgate_core::RequestView::new(
        "GET",
        "/api/orders?city_id=600",
        vec![
            (":authority".into(), "shop.example".into()),
            ("x-user-id".into(), "u16".into()),
        ],
    )
    .with_body(unitgate_core::Body::Absent);
    let ingress = unitgate_core::Ingress {
        local_unit: "uc".into(),
        fail_mode: unitgate_core::FailMode::Closed,
        secret: Vec::new(),
        stamp_max_age_ms: 30_000,
        remote_upstreams: Default::default(),
        tester_header: unitgate_core::DEFAULT_TESTER_HEADER.into(),
    };
    let t = trace(&p, &ingress, &req, &Default::default());
    assert_eq!(out.steps, narrate(&t));
}

#[test]
fn explain_refuses_an_unknown_local_unit_and_an_invalid_policy() {
    let r = ExplainRequest {
        url: "/api/orders".into(),
        local_unit: Some("nowhere".into()),
        ..ExplainRequest::default()
    };
    assert!(session(EXAMPLE).explain(&r, 0).is_err());
    let e = session("{}").explain(&r, 0).err().unwrap_or_default();
    assert!(e.starts_with("the policy is not valid"), "{e}");
}

#[test]
fn the_shard_map_lays_out_ranges_per_unit_and_api_classes() {
    let m = session(EXAMPLE).shard_map().expect("a map");
    let r = &m.rules[0];
    assert_eq!(r.domain, Some((0, 999)));
    let spans: Vec<_> = r.spans.iter().map(|s| (s.lo, s.hi, &*s.unit)).collect();
    assert_eq!(spans, [(0, 499, "uc"), (500, 999, "jc")]);
    let classes: Vec<_> = m.apis.iter().map(|a| (a.name.as_str(), a.class)).collect();
    assert_eq!(
        classes,
        [
            ("admin", "global"),
            ("profile", "shared"),
            ("orders", "core"),
            ("(default_api)", "core")
        ]
    );
}

#[test]
fn the_shard_map_merges_touching_ranges_and_samples_big_lists() {
    let values: Vec<String> = (0..100).map(|i| format!("\"{i}\"")).collect();
    let text = EXAMPLE
        .replace(
            r#"{"unit": "uc", "ranges": ["0~499"]}"#,
            r#"{"unit": "uc", "ranges": ["0~199", "200~499"]}"#,
        )
        .replacen(
            r#""key": "city","#,
            &format!(
                r#""key": "city", "exact": [{{"unit": "jc", "values": [{}]}}],"#,
                values.join(",")
            ),
            1,
        );
    let m = session(&text).shard_map().expect("a map");
    let r = &m.rules[0];
    assert_eq!(r.spans.len(), 2, "{:?}", r.spans);
    assert_eq!(
        (r.exact[0].count, r.exact[0].sample.len()),
        (100, EXACT_SAMPLE)
    );
}

#[test]
fn raising_the_gray_percent_never_moves_a_user_back() {
    let s = session(EXAMPLE);
    let users: Vec<String> = (0..500).map(|i| format!("u{i}")).collect();
    let mut before = vec![false; users.len()];
    for percent in [0.0, 1.0, 5.5, 10.0, 50.0, 99.99, 100.0] {
        let g = s
            .gray_preview("city-42-to-jc", Some(percent), &users)
            .expect("a preview");
        for (u, was) in g.users.iter().zip(&before) {
            assert!(u.moves || !was, "{} moved back at {percent}%", u.id);
        }
        before = g.users.iter().map(|u| u.moves).collect();
        assert_eq!(g.moved, before.iter().filter(|m| **m).count());
    }
    assert!(before.iter().all(|m| *m), "everyone moves at 100%");
    // u16 is in bucket 735 (see the README): in at 10%, out at 7.35%.
    let one = |p| s.gray_preview("city-42-to-jc", Some(p), &["u16".into()]);
    assert_eq!(one(10.0).map(|g| g.users[0].bucket), Ok(735));
    assert_eq!(one(10.0).map(|g| g.moved), Ok(1));
    assert_eq!(one(7.35).map(|g| g.moved), Ok(0));
    assert!(s.gray_preview("nope", None, &users).is_err());
}

#[test]
fn the_diff_is_the_cores() {
    let next = EXAMPLE
        .replace("0~499", "0~399")
        .replace("500~999", "400~999");
    let d = session(EXAMPLE).diff(&session(&next)).expect("a diff");
    let r = &d.rules[0];
    assert_eq!(r.range_moves.len(), 1);
    let m = &r.range_moves[0];
    assert_eq!(
        (m.lo, m.hi, m.from.as_str(), m.to.as_str()),
        (400, 499, "uc", "jc")
    );
    assert!((r.moved_share - 0.1).abs() < 1e-9, "{}", r.moved_share);
    assert!(session(EXAMPLE).diff(&session("{")).is_err());
}
