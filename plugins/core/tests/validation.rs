//! Every validation error: each test breaks a valid policy in one way and checks the JSON
//! pointer and the message of the error it gets.

mod common;

use common::*;
use serde_json::{json, Value};
use unitgate_core::*;

fn report_of(v: &Value) -> Report {
    match load_value(v) {
        Ok(_) => panic!("expected errors for {v:#}"),
        Err(r) => r,
    }
}

/// Break `base()` with `f`; expect an error at `path` whose message contains `needle`.
fn expect(f: impl FnOnce(&mut Value), path: &str, needle: &str) -> Report {
    let mut v = base();
    f(&mut v);
    let r = report_of(&v);
    assert!(
        r.errors
            .iter()
            .any(|e| e.path == path && e.message.contains(needle)),
        "expected an error at {path} containing {needle:?}, got:\n{r}"
    );
    r
}

#[test]
fn base_policy_is_valid_without_warnings() {
    let loaded = load_value(&base()).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(loaded.warnings, vec![]);
}

#[test]
fn not_json_and_not_an_object() {
    let r = load("{").unwrap_err();
    assert_eq!(r.errors[0].path, "");
    assert!(r.errors[0].message.contains("not JSON"));
    let r = load("[]").unwrap_err();
    assert!(r.errors[0].message.contains("expected a policy v1 object"));
}

/// Found by the fuzz target `policy_differential`: the serde model refuses a repeated field,
/// the policy reader took the last one. A repeated `"percent"` must not pass unnoticed.
#[test]
fn repeated_fields_are_errors_as_in_the_serde_model() {
    let text = base().to_string();
    let twice = text.replacen("\"version\":", "\"version\":\"x\",\"version\":", 1);
    let r = load(&twice).unwrap_err();
    assert!(
        r.errors
            .iter()
            .any(|e| e.path == "/version" && e.message.contains("duplicate field `version`")),
        "{r}"
    );
    assert!(serde_json::from_str::<Policy>(&twice).is_err());
    // Deeper down too: a unit with its name twice.
    let twice = text.replacen("\"name\":", "\"name\":\"x\",\"name\":", 1);
    let r = load(&twice).unwrap_err();
    assert!(
        r.errors
            .iter()
            .any(|e| e.message.contains("duplicate field `name`")),
        "{r}"
    );
}

#[test]
fn unreadable_key_is_forbid_or_allow_and_needs_a_key() {
    expect(
        |v| v["isolation"]["write_forbidden"][0]["unreadable_key"] = json!("maybe"),
        "/isolation/write_forbidden/0/unreadable_key",
        "unknown variant",
    );
    let mut v = base();
    v["isolation"]["write_forbidden"][0]["unreadable_key"] = json!("allow");
    v["isolation"]["write_forbidden"][0]
        .as_object_mut()
        .unwrap()
        .retain(|k, _| !["key", "ranges", "values"].contains(&k.as_str()));
    let loaded = load_value(&v).unwrap_or_else(|r| panic!("{r}"));
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.path == "/isolation/write_forbidden/0/unreadable_key"),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn unknown_fields_everywhere_at_once() {
    let mut v = base();
    set(&mut v, "/colour", json!(1));
    set(&mut v, "/units/1/zone", json!("x"));
    set(&mut v, "/apis/0/match/prefx", json!("/x"));
    set(&mut v, "/isolation/breaker/foo", json!(1));
    set(&mut v, "/rules/0/ranges/0/weight", json!(1));
    let r = report_of(&v);
    let paths: Vec<&str> = r.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "/colour",
            "/units/1/zone",
            "/rules/0/ranges/0/weight",
            "/apis/0/match/prefx",
            "/isolation/breaker/foo"
        ]
    );
    assert!(r.errors[0]
        .message
        .contains("expected one of: version, units"));
    assert!(r.errors[1]
        .message
        .contains("expected one of: name, role, cloud, upstream"));
    assert!(r.errors[3]
        .message
        .contains("expected one of: prefix, exact, regex, methods"));
}

#[test]
fn type_errors_in_several_elements_at_once() {
    let mut v = base();
    set(&mut v, "/units/0/role", json!("boss"));
    set(&mut v, "/units/2/name", json!(7));
    set(&mut v, "/keys/0/transform", json!({"modulo": -1}));
    set(&mut v, "/missing_key", json!({"action": "reject"}));
    let r = report_of(&v);
    let find = |p: &str| {
        r.errors
            .iter()
            .find(|e| e.path == p)
            .unwrap_or_else(|| panic!("{p} in\n{r}"))
    };
    assert!(find("/units/0/role")
        .message
        .contains("unknown variant `boss`, expected `center` or `normal`"));
    assert!(find("/units/2/name")
        .message
        .contains("invalid type: integer `7`, expected a string"));
    assert!(find("/keys/0/transform/modulo")
        .message
        .contains("expected u64"));
    assert!(find("/missing_key")
        .message
        .contains("missing field `status`"));
}

#[test]
fn missing_required_fields() {
    for field in ["version", "units", "default_api", "missing_key"] {
        expect(
            |v| remove(v, &format!("/{field}")),
            &format!("/{field}"),
            "missing required field",
        );
    }
    expect(
        |v| set(v, "/units", json!({})),
        "/units",
        "expected an array",
    );
}

#[test]
fn unknown_unit_references() {
    let cases = [
        ("/rules/0/ranges/0/unit", json!("zz")),
        ("/rules/0/exact/0/unit", json!("zz")),
        ("/rules/0/default", json!("zz")),
        ("/rules/2/consistent_hash/units/1", json!("zz")),
        ("/gray/0/target", json!("zz")),
        ("/isolation/down_units/-", json!("zz")),
        ("/isolation/api_switches/0/down_units/-", json!("zz")),
        ("/isolation/write_forbidden/0/units/0", json!("zz")),
    ];
    for (ptr, value) in cases {
        let path = ptr.replace("/-", "/0");
        expect(
            |v| set(v, ptr, value),
            &path,
            "unknown unit \"zz\"; expected one of: c, a, b",
        );
    }
    expect(
        |v| set(v, "/isolation/failover/zz", json!("a")),
        "/isolation/failover/zz",
        "unknown unit \"zz\"",
    );
    expect(
        |v| set(v, "/isolation/failover/a", json!("zz")),
        "/isolation/failover/a",
        "unknown unit \"zz\"",
    );
}

#[test]
fn unknown_keys_rules_and_apis() {
    expect(
        |v| set(v, "/rules/0/key", json!("nokey")),
        "/rules/0/key",
        "unknown key \"nokey\"; expected one of: city, tag, uid, user",
    );
    expect(
        |v| set(v, "/gray/0/sticky_key", json!("nokey")),
        "/gray/0/sticky_key",
        "unknown key",
    );
    expect(
        |v| set(v, "/gray/0/when/key", json!("nokey")),
        "/gray/0/when/key",
        "unknown key",
    );
    expect(
        |v| set(v, "/isolation/write_forbidden/0/key", json!("nokey")),
        "/isolation/write_forbidden/0/key",
        "unknown key",
    );
    expect(
        |v| set(v, "/apis/2/rule", json!("norule")),
        "/apis/2/rule",
        "unknown rule \"norule\"",
    );
    expect(
        |v| set(v, "/default_api/rule", json!("norule")),
        "/default_api/rule",
        "unknown rule",
    );
    expect(
        |v| set(v, "/gray/0/apis/0", json!("noapi")),
        "/gray/0/apis/0",
        "unknown API \"noapi\"",
    );
    expect(
        |v| set(v, "/isolation/api_switches/0/api", json!("noapi")),
        "/isolation/api_switches/0/api",
        "unknown API",
    );
    expect(
        |v| set(v, "/isolation/write_forbidden/0/apis/0", json!("noapi")),
        "/isolation/write_forbidden/0/apis/0",
        "unknown API",
    );
}

#[test]
fn duplicate_names() {
    expect(
        |v| set(v, "/units/2/name", json!("a")),
        "/units/2/name",
        "duplicate unit \"a\" (first defined at /units/1/name)",
    );
    expect(
        |v| set(v, "/keys/1/name", json!("uid")),
        "/keys/1/name",
        "duplicate key",
    );
    expect(
        |v| set(v, "/rules/1/name", json!("by-uid")),
        "/rules/1/name",
        "duplicate rule",
    );
    expect(
        |v| set(v, "/apis/1/name", json!("inv")),
        "/apis/1/name",
        "duplicate API",
    );
    expect(
        |v| set(v, "/gray/-", base()["gray"][0].clone()),
        "/gray/1/name",
        "duplicate gray rule",
    );
    expect(
        |v| set(v, "/isolation/write_forbidden/-", json!({"name": "w1"})),
        "/isolation/write_forbidden/1/name",
        "duplicate write_forbidden window",
    );
    expect(
        |v| {
            set(
                v,
                "/rules/0/exact/-",
                json!({"unit": "a", "values": [" 777 "]}),
            )
        },
        "/rules/0/exact/1/values/0",
        "duplicate exact value \"777\"",
    );
    expect(
        |v| set(v, "/rules/2/consistent_hash/units/1", json!("a")),
        "/rules/2/consistent_hash/units/1",
        "duplicate unit in consistent_hash",
    );
}

#[test]
fn name_charset() {
    for (ptr, what) in [
        ("/units/0/name", "unit name"),
        ("/units/0/cloud", "cloud name"),
        ("/apis/0/name", "API name"),
        ("/version", "version"),
        ("/keys/2/name", "key name"),
        ("/rules/2/name", "rule name"),
        ("/gray/0/name", "gray rule name"),
        ("/isolation/write_forbidden/0/name", "window name"),
    ] {
        expect(
            |v| set(v, ptr, json!("a;b")),
            ptr,
            &format!("invalid {what} \"a;b\": expected 1-128 characters from [A-Za-z0-9._-]"),
        );
    }
    expect(
        |v| set(v, "/units/0/upstream", json!(" ")),
        "/units/0/upstream",
        "non-empty upstream",
    );
    expect(
        |v| set(v, "/units", json!([])),
        "/units",
        "at least one unit",
    );
}

#[test]
fn ranges_overlap_within_a_rule_across_items() {
    expect(
        |v| set(v, "/rules/0/ranges/1/ranges/0", json!("49~99")),
        "/rules/0/ranges/1/ranges/0",
        "range 49~99 overlaps 0~49 at /rules/0/ranges/0/ranges/0",
    );
    // Within one item too, and contained ranges.
    expect(
        |v| set(v, "/rules/1/ranges/0/ranges/-", json!("10~20")),
        "/rules/1/ranges/0/ranges/2",
        "overlaps 0~99",
    );
}

#[test]
fn gaps_when_total() {
    expect(
        |v| set(v, "/rules/0/ranges/1/ranges/0", json!("52~98")),
        "/rules/0/ranges",
        "total is true but ranges leave gaps: 50~51, 99~99; expected coverage of 0~99",
    );
    // Number transform: the domain is the whole u64.
    expect(
        |v| set(v, "/rules/1/total", json!(true)),
        "/rules/1/ranges",
        "gaps: 201~18446744073709551615",
    );
}

#[test]
fn malformed_ranges_and_domain() {
    expect(
        |v| set(v, "/rules/1/ranges/1/ranges/0", json!("100-199")),
        "/rules/1/ranges/1/ranges/0",
        "malformed range \"100-199\"",
    );
    expect(
        |v| set(v, "/rules/1/ranges/1/ranges/0", json!("199~100")),
        "/rules/1/ranges/1/ranges/0",
        "min 199 > max 100",
    );
    expect(
        |v| set(v, "/rules/0/ranges/1/ranges/0", json!("50~100")),
        "/rules/0/ranges/1/ranges/0",
        "outside the key's values 0~99",
    );
    expect(
        |v| set(v, "/isolation/write_forbidden/0/ranges/0", json!("x")),
        "/isolation/write_forbidden/0/ranges/0",
        "malformed range",
    );
}

#[test]
fn ranges_on_identity_key() {
    expect(
        |v| {
            set(
                v,
                "/rules/2/ranges",
                json!([{"unit": "a", "ranges": ["1~2"]}]),
            )
        },
        "/rules/2/ranges",
        "ranges need a numeric key",
    );
    expect(
        |v| set(v, "/rules/2/total", json!(true)),
        "/rules/2/total",
        "key \"tag\" is identity",
    );
    expect(
        |v| set(v, "/isolation/write_forbidden/0/key", json!("tag")),
        "/isolation/write_forbidden/0/ranges",
        "ranges need a numeric key",
    );
}

#[test]
fn transform_n_at_least_one() {
    expect(
        |v| set(v, "/keys/0/transform", json!({"modulo": 0})),
        "/keys/0/transform",
        "N must be at least 1",
    );
    expect(
        |v| set(v, "/keys/2/transform", json!({"hash": 0})),
        "/keys/2/transform",
        "N must be at least 1",
    );
}

#[test]
fn key_sources() {
    expect(
        |v| set(v, "/keys/0/sources", json!([])),
        "/keys/0/sources",
        "at least one source",
    );
    expect(
        |v| set(v, "/keys/0/sources/3", json!({"body": "uid"})),
        "/keys/0/sources/3/body",
        "invalid JSON pointer \"uid\"",
    );
    expect(
        |v| set(v, "/keys/0/sources/3", json!({"body": "/a~2"})),
        "/keys/0/sources/3/body",
        "invalid JSON pointer",
    );
    expect(
        |v| set(v, "/keys/0/sources/0", json!({"header": "x uid"})),
        "/keys/0/sources/0/header",
        "invalid header name",
    );
    expect(
        |v| set(v, "/keys/0/sources/1", json!({"cookie": ""})),
        "/keys/0/sources/1",
        "non-empty name",
    );
}

#[test]
fn percent_range() {
    expect(
        |v| set(v, "/gray/0/percent", json!(100.5)),
        "/gray/0/percent",
        "expected a number from 0 to 100",
    );
    expect(
        |v| set(v, "/gray/0/percent", json!(-1)),
        "/gray/0/percent",
        "percent -1",
    );
    // NaN cannot be written in JSON, but typed policies (imports, tools) are validated too.
    let mut p = load_ok(&base()).source().clone();
    p.gray[0].percent = f64::NAN;
    let r = validate_policy(&p);
    assert!(
        r.errors
            .iter()
            .any(|e| e.path == "/gray/0/percent" && e.message.contains("NaN")),
        "{r}"
    );
}

#[test]
fn failover_cycles() {
    expect(
        |v| set(v, "/isolation/failover/c", json!("b")),
        "/isolation/failover/a",
        "failover cycle a -> c -> b -> a",
    );
    expect(
        |v| set(v, "/isolation/failover", json!({"a": "a"})),
        "/isolation/failover/a",
        "failover cycle a -> a",
    );
    // One cycle is one error.
    let r = expect(
        |v| set(v, "/isolation/failover", json!({"a": "b", "b": "a"})),
        "/isolation/failover/a",
        "cycle",
    );
    assert_eq!(r.errors.len(), 1, "{r}");
}

#[test]
fn center_unit() {
    let r = expect(
        |v| set(v, "/units/0/role", json!("normal")),
        "/apis/0/class",
        "a global API routes to the center unit",
    );
    assert!(r
        .errors
        .iter()
        .any(|e| e.path == "/apis/1/class" && e.message.contains("a shared API")));
    expect(
        |v| set(v, "/units/1/role", json!("center")),
        "/units/1/role",
        "more than one center unit (the first is /units/0)",
    );
    // Without global or shared APIs no center is needed.
    let mut v = base();
    set(&mut v, "/units/0/role", json!("normal"));
    set(&mut v, "/apis/0/class", json!("core"));
    set(&mut v, "/apis/0/rule", json!("by-uid"));
    set(&mut v, "/apis/1/class", json!("core"));
    set(&mut v, "/apis/1/rule", json!("by-uid"));
    load_ok(&v);
}

#[test]
fn core_api_without_rule() {
    expect(
        |v| remove(v, "/apis/2/rule"),
        "/apis/2/rule",
        "a core API is routed by a mapping rule",
    );
    expect(
        |v| remove(v, "/default_api/rule"),
        "/default_api/rule",
        "expected \"rule\"",
    );
}

#[test]
fn api_match_exactly_one() {
    expect(
        |v| set(v, "/apis/0/match", json!({})),
        "/apis/0/match",
        "expected exactly one of prefix, exact, regex; found 0",
    );
    expect(
        |v| set(v, "/apis/0/match/exact", json!("/x")),
        "/apis/0/match",
        "found 2",
    );
    expect(
        |v| set(v, "/apis/2/match/regex", json!("(")),
        "/apis/2/match/regex",
        "invalid regex",
    );
    expect(
        |v| set(v, "/apis/0/match/prefix", json!("inv")),
        "/apis/0/match/prefix",
        "must start with '/'",
    );
    expect(
        |v| set(v, "/apis/3/match/methods/0", json!("get")),
        "/apis/3/match/methods/0",
        "upper-case HTTP method",
    );
    expect(
        |v| set(v, "/isolation/write_forbidden/0/methods/0", json!("")),
        "/isolation/write_forbidden/0/methods/0",
        "invalid method",
    );
}

#[test]
fn missing_key_default_needs_rule_default() {
    let r = expect(
        |v| set(v, "/missing_key", json!({"action": "default"})),
        "/rules/1/default",
        "every rule needs a default unit",
    );
    assert!(
        r.errors.iter().all(|e| e.path != "/rules/0/default"),
        "rule 0 has one"
    );
}

#[test]
fn reject_status() {
    for status in [200, 302, 600] {
        expect(
            |v| {
                set(
                    v,
                    "/missing_key",
                    json!({"action": "reject", "status": status}),
                )
            },
            "/missing_key/status",
            "expected a 4xx or 5xx status",
        );
    }
    let mut v = base();
    set(
        &mut v,
        "/missing_key",
        json!({"action": "reject", "status": 429}),
    );
    load_ok(&v);
}

#[test]
fn breaker_thresholds() {
    for (field, value, needle) in [
        ("window_ms", json!(0), "at least 1 ms"),
        ("open_ms", json!(0), "at least 1 ms"),
        ("min_requests", json!(0), "at least 1"),
        ("half_open_probes", json!(0), "at least 1"),
        ("consecutive_errors", json!(0), "at least 1"),
        ("consecutive_errors", json!(-1), "invalid"),
        ("error_percent", json!(0), "more than 0 and at most 100"),
        ("error_percent", json!(101), "more than 0 and at most 100"),
    ] {
        let ptr = format!("/isolation/breaker/{field}");
        expect(|v| set(v, &ptr, value), &ptr, needle);
    }
}

#[test]
fn write_forbidden_fields() {
    expect(
        |v| set(v, "/isolation/write_forbidden/0/until", json!("tomorrow")),
        "/isolation/write_forbidden/0/until",
        "not an RFC 3339 UTC time",
    );
    expect(
        |v| {
            set(
                v,
                "/isolation/write_forbidden/0/until",
                json!("2030-01-01T00:00:00+08:00"),
            )
        },
        "/isolation/write_forbidden/0/until",
        "only UTC",
    );
    expect(
        |v| remove(v, "/isolation/write_forbidden/0/key"),
        "/isolation/write_forbidden/0/key",
        "ranges and values need a key",
    );
    expect(
        |v| set(v, "/isolation/write_forbidden/0/retry_after_s", json!(0)),
        "/isolation/write_forbidden/0/retry_after_s",
        "at least 1 second",
    );
}

#[test]
fn rule_contents() {
    expect(
        |v| set(v, "/rules/2/consistent_hash/units", json!([])),
        "/rules/2/consistent_hash/units",
        "at least one unit",
    );
    expect(
        |v| set(v, "/rules/0/exact/0/values/0", json!("  ")),
        "/rules/0/exact/0/values/0",
        "non-empty value",
    );
    expect(
        |v| set(v, "/keys/0/sources/2", json!({"query": " "})),
        "/keys/0/sources/2",
        "non-empty name",
    );
    expect(
        |v| set(v, "/keys/0/sources/0", json!({"heder": "x"})),
        "/keys/0/sources/0",
        "unknown variant `heder`",
    );
    expect(
        |v| set(v, "/missing_key", json!({"action": "drop"})),
        "/missing_key/action",
        "unknown variant `drop`",
    );
}

#[test]
fn more_warnings() {
    let mut v = base();
    set(&mut v, "/isolation/down_units", json!(["a", "b", "c"]));
    set(&mut v, "/gray/0/allow", json!(["nope"]));
    let loaded = load_value(&v).unwrap_or_else(|r| panic!("{r}"));
    let has = |p: &str, m: &str| {
        loaded
            .warnings
            .iter()
            .any(|i| i.path == p && i.message.contains(m))
    };
    assert!(
        has("/isolation/down_units", "every unit is down"),
        "{:?}",
        loaded.warnings
    );
    assert!(
        has("/gray/0/allow/0", "also denied; deny wins"),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn gray_rules() {
    expect(
        |v| set(v, "/gray/0/apis/0", json!("inv")),
        "/gray/0/apis/0",
        "API \"inv\" is not core",
    );
    expect(
        |v| set(v, "/gray/0/assign_cookie", json!("a=b")),
        "/gray/0/assign_cookie",
        "invalid cookie name",
    );
}

#[test]
fn all_errors_are_reported_together() {
    let mut v = base();
    set(&mut v, "/gray/0/percent", json!(150));
    set(&mut v, "/isolation/failover/c", json!("b"));
    set(&mut v, "/rules/0/default", json!("nowhere"));
    set(
        &mut v,
        "/missing_key",
        json!({"action": "reject", "status": 200}),
    );
    let r = report_of(&v);
    assert_eq!(r.errors.len(), 4, "{r}");
    let text = r.to_string();
    assert!(text.lines().all(|l| l.starts_with("error at /")), "{text}");
}

#[test]
fn warnings_are_kept_apart() {
    let mut v = base();
    set(&mut v, "/gray/0/percent", json!(0));
    set(
        &mut v,
        "/units/-",
        json!({"name": "spare", "role": "normal", "cloud": "x", "upstream": "s"}),
    );
    set(&mut v, "/apis/0/rule", json!("by-uid"));
    set(&mut v, "/rules/-", json!({"name": "empty", "key": "uid"}));
    let loaded = load_value(&v).unwrap_or_else(|r| panic!("{r}"));
    let w: Vec<(&str, &str)> = loaded
        .warnings
        .iter()
        .map(|i| (i.path.as_str(), i.message.as_str()))
        .collect();
    assert!(
        w.iter()
            .any(|(p, m)| *p == "/gray/0/percent" && m.contains("0%")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|(p, m)| *p == "/units/3" && m.contains("never a routing target")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|(p, m)| *p == "/apis/0/rule" && m.contains("only core APIs use a rule")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|(p, m)| *p == "/rules/3" && m.contains("maps nothing")),
        "{w:?}"
    );
    let mut v = base();
    set(&mut v, "/gray/0/percent", json!(100));
    let loaded = load_value(&v).unwrap_or_else(|r| panic!("{r}"));
    assert!(loaded
        .warnings
        .iter()
        .any(|i| i.path == "/gray/0/percent" && i.message.contains("100%")));
}

#[test]
fn report_display_is_one_line_per_issue() {
    let mut r = Report::default();
    r.error("/units/1/name", "bad");
    r.warn("", "hm");
    assert_eq!(
        r.to_string(),
        "error at /units/1/name: bad\nwarning at /: hm\n"
    );
}

#[test]
fn check_ingress() {
    let p = load_ok(&base());
    assert_eq!(p.check_ingress(&ingress("a")), Ok(()));
    let errs = p.check_ingress(&ingress("zz")).unwrap_err();
    assert_eq!(errs[0].path, "/local_unit");
    assert!(errs[0].message.contains("unknown unit \"zz\""));
    let mut ing = ingress("a");
    ing.remote_upstreams.insert("mars".into(), "x".into());
    let errs = p.check_ingress(&ing).unwrap_err();
    assert_eq!(errs[0].path, "/remote_upstreams/mars");
}

/// The field-by-field parser loses nothing: a loaded policy serializes back to the same policy.
#[test]
fn parse_round_trips_every_field() {
    for v in [
        base(),
        serde_json::from_str(&example("center-units.json")).unwrap(),
    ] {
        let p = load_ok(&v);
        let again = load_ok(&serde_json::to_value(p.source()).unwrap());
        assert_eq!(again.source(), p.source());
        // And the typed serde path agrees with the field-by-field one.
        let direct: Policy = serde_json::from_value(v).unwrap();
        assert_eq!(&direct, p.source());
    }
}

/// Several problems inside one element are all reported, not only the first.
#[test]
fn every_problem_of_one_element() {
    let mut v = base();
    set(&mut v, "/units/0/name", json!(1));
    set(&mut v, "/units/0/zz", json!(1));
    remove(&mut v, "/units/0/cloud");
    let r = report_of(&v);
    let got: Vec<(&str, &str)> = r
        .errors
        .iter()
        .map(|e| (e.path.as_str(), e.message.as_str()))
        .collect();
    for want in [
        (
            "/units/0/zz",
            "unknown field \"zz\"; expected one of: name, role, cloud, upstream",
        ),
        ("/units/0", "missing field `cloud`"),
        (
            "/units/0/name",
            "invalid type: integer `1`, expected a string",
        ),
    ] {
        assert!(got.contains(&want), "{want:?} in {got:?}");
    }
}

/// Objects are objects: an array is not read as a struct by position.
#[test]
fn arrays_are_not_structs() {
    expect(
        |v| set(v, "/units/0", json!(["c", "center", "ucloud", "c_up"])),
        "/units/0",
        "invalid type: sequence, expected struct Unit",
    );
    expect(
        |v| set(v, "/isolation", json!([])),
        "/isolation",
        "invalid type: sequence, expected struct Isolation",
    );
}

#[test]
fn enum_forms() {
    // A unit variant may be written {"name": null}; a data variant needs its data.
    let mut v = base();
    set(&mut v, "/units/1/role", json!({"normal": null}));
    load_ok(&v);
    expect(
        |v| set(v, "/keys/0/transform", json!("modulo")),
        "/keys/0/transform/modulo",
        "invalid type: unit variant, expected newtype variant",
    );
    expect(
        |v| set(v, "/keys/0/transform", json!({"number": 1})),
        "/keys/0/transform/number",
        "invalid type: integer `1`, expected unit",
    );
    expect(
        |v| set(v, "/keys/0/sources/0", json!({"header": "a", "query": "b"})),
        "/keys/0/sources/0",
        "invalid value: map, expected map with a single key",
    );
    expect(
        |v| set(v, "/keys/1/sources/1/path_segment", json!(-1)),
        "/keys/1/sources/1/path_segment",
        "invalid value: integer `-1`, expected usize",
    );
    expect(
        |v| set(v, "/isolation/breaker/min_requests", json!(1.5)),
        "/isolation/breaker/min_requests",
        "invalid type: floating point `1.5`, expected u32",
    );
    expect(
        |v| {
            set(
                v,
                "/missing_key",
                json!({"action": "reject", "status": 70000}),
            )
        },
        "/missing_key",
        "invalid value: integer `70000`, expected u16",
    );
}

#[test]
fn missing_key_extra_fields_are_errors() {
    expect(
        |v| set(v, "/missing_key", json!({"action": "local", "status": 400})),
        "/missing_key",
        "unknown field `status`, expected no other field",
    );
    expect(
        |v| {
            set(
                v,
                "/missing_key",
                json!({"action": "reject", "status": 400, "body": "x"}),
            )
        },
        "/missing_key",
        "unknown field `body`, expected `status`",
    );
}
