//! AppActive import: the imported policy routes exactly like AppActive's own rule evaluation.

mod common;

use common::*;
use proptest::prelude::*;
use serde_json::{json, Value};
use unitgate_core::*;

fn units() -> Vec<Unit> {
    let u = |name: &str, role: Role, cloud: &str| Unit {
        name: name.into(),
        role,
        cloud: cloud.into(),
        upstream: format!("{name}_up"),
    };
    vec![
        u("center", Role::Center, "hz"),
        u("unit-a", Role::Normal, "sh"),
        u("unit-b", Role::Normal, "sz"),
    ]
}

fn input() -> AppActiveInput {
    AppActiveInput {
        id_source: json!({"source": "arg,header,cookie", "tokenKey": "r_id"}),
        id_transformer: json!([{"id": "userIdBetween", "mod": "10000"}]),
        // Overlaps on purpose: AppActive's order decides who wins.
        id_unit_mapping: json!({"itemType": "UnitRuleItem", "items": [
            {"name": "UNIT-A", "conditions": [{"@userIdBetween": ["0~1999", "5000~5999"]}, {"@userIdBetween": ["7000~7999"]}]},
            {"name": "unit-b", "conditions": [{"@userIdBetween": ["1500~4999"]}]},
            {"name": "center", "conditions": [{"@userIdBetween": ["6000~7499"]}, {"@userIdBetween": ["8000~9998"]}]}
        ]}),
        forbidden_rule: Some(json!({"itemType": "ForbiddenRuleItem", "items": [
            {"name": "f1", "conditions": [{"@userIdBetween": ["100~199"]}]},
            {"name": "f2", "conditions": [{"@userIdBetween": ["9000~9099"]}]}
        ]})),
    }
}

/// Java's `String.hashCode` for ASCII names.
fn java_hash(s: &str) -> i32 {
    s.chars()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// The keys of a `java.util.HashMap<String, _>` in iteration order, simulated bucket by bucket:
/// a 16-slot table, doubled (each bucket split in order) once more than 3/4 full.
fn java_hashmap_keys(names: &[String]) -> Vec<String> {
    let slot = |k: &str, len: usize| {
        let h = java_hash(k) as u32;
        (h ^ (h >> 16)) as usize & (len - 1)
    };
    let mut table: Vec<Vec<String>> = vec![Vec::new(); 16];
    let mut size = 0;
    for n in names {
        let i = slot(n, table.len());
        if table[i].contains(n) {
            continue; // put() on an existing key replaces the value in place
        }
        table[i].push(n.clone());
        size += 1;
        if size > table.len() / 4 * 3 {
            let len = table.len() * 2;
            let mut bigger = vec![Vec::new(); len];
            for k in table.into_iter().flatten() {
                bigger[slot(&k, len)].push(k);
            }
            table = bigger;
        }
    }
    table.concat()
}

/// AppActive's evaluation, written directly from its Java client: the transformer takes the id
/// modulo `mod` (non-numeric ids fail); items go into a HashMap by upper-cased name (the last
/// item of a name wins); conditions are sorted by their index inside their item, stable over
/// the map's iteration order; the first condition with a range holding the id names the unit.
/// No unit: the local unit.
fn appactive_route(mapping: &Value, modulo: Option<u64>, route_id: Option<&str>) -> Option<String> {
    let id = route_id?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = id.parse().ok()?;
    let inner = modulo.map_or(n, |m| n % m);
    let items = mapping["items"].as_array().unwrap();
    let names: Vec<String> = items
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_uppercase())
        .collect();
    // (index inside its item, upper-cased unit, inclusive ranges)
    type Cond = (usize, String, Vec<(u64, u64)>);
    let mut conds: Vec<Cond> = Vec::new();
    for unit in java_hashmap_keys(&names) {
        let item = items
            .iter()
            .rev()
            .find(|i| i["name"].as_str().unwrap().to_uppercase() == unit)
            .unwrap();
        for (idx, c) in item["conditions"].as_array().unwrap().iter().enumerate() {
            for (_, ranges) in c.as_object().unwrap() {
                let rs = ranges
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        let (a, b) = r.as_str().unwrap().split_once('~').unwrap();
                        (a.parse().unwrap(), b.parse().unwrap())
                    })
                    .collect();
                conds.push((idx, unit.clone(), rs));
            }
        }
    }
    conds.sort_by_key(|c| c.0);
    conds
        .into_iter()
        .find(|(_, _, rs)| rs.iter().any(|&(a, b)| a <= inner && inner <= b))
        .map(|(_, u, _)| u)
}

fn unit_for(p: &CompiledPolicy, local: &str, r: &RequestView) -> String {
    route(decide(p, &ingress(local), r, &state(0)))
        .unit
        .into_owned()
}

#[test]
fn imported_policy_routes_like_appactive_for_many_ids() {
    let input = input();
    let policy = import_appactive(&input, &units())
        .unwrap_or_else(|e| panic!("{e:?}"))
        .policy;
    let p = load_ok(&serde_json::to_value(&policy).unwrap());
    for id in (0..30_000u64)
        .step_by(7)
        .chain([0, 1999, 2000, 4999, 5000, 7499, 7500, 9999, 10_000, 18_000])
    {
        let id = id.to_string();
        let expected = appactive_route(&input.id_unit_mapping, Some(10_000), Some(&id))
            .unwrap_or_else(|| "UNIT-B".into());
        let got = unit_for(&p, "unit-b", &req("GET", &format!("/any?r_id={id}"), &[]));
        assert_eq!(got.to_uppercase(), expected, "id {id}");
    }
    // Sources in order: arg, header, cookie.
    assert_eq!(
        unit_for(&p, "unit-b", &req("GET", "/x?r_id=6000", &[("r_id", "1")])),
        "center"
    );
    assert_eq!(
        unit_for(
            &p,
            "unit-b",
            &req("GET", "/x", &[("r_id", "1"), ("cookie", "r_id=6000")])
        ),
        "unit-a"
    );
    assert_eq!(
        unit_for(&p, "unit-b", &req("GET", "/x", &[("cookie", "r_id=6000")])),
        "center"
    );
    // Missing or non-numeric id: the local unit.
    assert_eq!(unit_for(&p, "unit-a", &req("GET", "/x", &[])), "unit-a");
    assert_eq!(
        unit_for(&p, "center", &req("GET", "/x?r_id=abc", &[])),
        "center"
    );
    // The uncovered 9999 falls to the local unit too.
    assert_eq!(
        unit_for(&p, "unit-a", &req("GET", "/x?r_id=19999", &[])),
        "unit-a"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random overlapping mappings: import + decide == AppActive, id by id.
    #[test]
    fn random_mappings_route_like_appactive(
        items in proptest::collection::vec(
            (0usize..3, proptest::collection::vec(proptest::collection::vec((0u64..1000, 0u64..300), 1..3), 1..3)),
            1..5,
        ),
        modulo in proptest::option::of(1u64..1200),
        ids in proptest::collection::vec(0u64..5000, 20),
    ) {
        let names = ["center", "unit-a", "unit-b"];
        let items: Vec<Value> = items.iter().map(|(u, conds)| {
            let conditions: Vec<Value> = conds.iter().map(|rs| {
                let ranges: Vec<String> = rs.iter().map(|(lo, w)| format!("{lo}~{}", lo + w)).collect();
                json!({"@uid": ranges})
            }).collect();
            json!({"name": names[*u], "conditions": conditions})
        }).collect();
        let mut input = input();
        input.id_unit_mapping = json!({"itemType": "UnitRuleItem", "items": items});
        input.id_transformer = json!({"id": "uid", "mod": modulo.map_or(String::new(), |m| m.to_string())});
        input.forbidden_rule = None;
        let policy = import_appactive(&input, &units()).unwrap().policy;
        let p = load_ok(&serde_json::to_value(&policy).unwrap());
        for id in ids {
            let id = id.to_string();
            let expected = appactive_route(&input.id_unit_mapping, modulo, Some(&id)).unwrap_or_else(|| "UNIT-A".into());
            let got = unit_for(&p, "unit-a", &req("GET", "/", &[("r_id", &id)]));
            prop_assert_eq!(got.to_uppercase(), expected);
        }
    }
}

#[test]
fn every_forbidden_item_blocks_writes_only() {
    let policy = import_appactive(&input(), &units()).unwrap().policy;
    assert_eq!(policy.isolation.write_forbidden.len(), 2);
    let p = load_ok(&serde_json::to_value(&policy).unwrap());
    for id in ["150", "10150", "9050"] {
        let d = decide(
            &p,
            &ingress("unit-a"),
            &req("POST", &format!("/o?r_id={id}"), &[]),
            &state(0),
        )
        .into_owned();
        assert_eq!(reply(d).reason, Reason::WriteForbidden, "id {id}");
        // Reads pass.
        unit_for(&p, "unit-a", &req("GET", &format!("/o?r_id={id}"), &[]));
    }
    unit_for(&p, "unit-a", &req("POST", "/o?r_id=250", &[]));
}

#[test]
fn import_errors_name_the_file_and_place() {
    let check = |f: fn(&mut AppActiveInput), path: &str, needle: &str| {
        let mut i = input();
        f(&mut i);
        let errs = import_appactive(&i, &units()).unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.path == path && e.message.contains(needle)),
            "{path}: {errs:?}"
        );
    };
    check(
        |i| i.id_unit_mapping["items"][1]["name"] = json!("mars"),
        "/idUnitMapping/items/1/name",
        "not among the supplied units",
    );
    check(
        |i| i.id_unit_mapping["itemType"] = json!("ForbiddenRuleItem"),
        "/idUnitMapping/itemType",
        "expected \"UnitRuleItem\"",
    );
    check(
        |i| i.id_unit_mapping["items"][0]["conditions"][0]["@userIdBetween"][0] = json!("5~1"),
        "/idUnitMapping/items/0/conditions/0/@userIdBetween/0",
        "min 5 > max 1",
    );
    check(
        |i| i.id_unit_mapping["items"][0]["conditions"][0] = json!({"#x": []}),
        "/idUnitMapping/items/0/conditions/0/#x",
        "between",
    );
    check(
        |i| i.id_source["source"] = json!("arg,body"),
        "/idSource/source",
        "\"body\"",
    );
    check(
        |i| i.id_source = json!({"source": "arg"}),
        "/idSource/tokenKey",
        "routing id",
    );
    check(
        |i| i.id_transformer = json!([{"id": "x", "mod": "0"}]),
        "/idTransformer/0/mod",
        "positive integer",
    );
    check(
        |i| i.forbidden_rule = Some(json!({"items": []})),
        "/forbiddenRule/itemType",
        "ForbiddenRuleItem",
    );
}

#[test]
fn whole_number_transformer() {
    let mut i = input();
    i.id_transformer = json!({"id": "userIdBetween", "mod": ""});
    let policy = import_appactive(&i, &units()).unwrap().policy;
    assert_eq!(policy.keys[0].transform, Transform::Number);
    let p = load_ok(&serde_json::to_value(&policy).unwrap());
    // 16000 is not reduced modulo 10000: no range holds it.
    assert_eq!(
        unit_for(&p, "unit-b", &req("GET", "/?r_id=16000", &[])),
        "unit-b"
    );
    assert_eq!(
        unit_for(&p, "unit-b", &req("GET", "/?r_id=6000", &[])),
        "center"
    );
}

/// A mapping with these items (name, ranges), mod 10000, and no forbidden rule.
fn mapping_input(items: &[(&str, &[&str])]) -> AppActiveInput {
    let items: Vec<Value> = items
        .iter()
        .map(|(name, ranges)| json!({"name": name, "conditions": [{"@userIdBetween": ranges}]}))
        .collect();
    AppActiveInput {
        id_unit_mapping: json!({"itemType": "UnitRuleItem", "items": items}),
        forbidden_rule: None,
        ..input()
    }
}

#[test]
fn java_string_hashes_and_map_order_are_javas() {
    // Values of "...".hashCode() in Java.
    assert_eq!(java_hash("UNIT"), 2_609_540);
    assert_eq!(java_hash("CENTER"), 1_984_282_709);
    // CENTER sits in bucket 0 of the 16-slot table, UNIT in bucket 3.
    let keys = java_hashmap_keys(&["UNIT".into(), "CENTER".into()]);
    assert_eq!(keys, ["CENTER", "UNIT"]);
}

#[test]
fn overlapping_items_follow_appactives_hashmap_order_and_warn() {
    let mut units = units();
    units[1].name = "unit".into();
    let input = mapping_input(&[("unit", &["4000~9999"]), ("center", &["0~5999"])]);
    let imported = import_appactive(&input, &units).unwrap();
    let p = load_ok(&serde_json::to_value(&imported.policy).unwrap());
    // AppActive: id 4500 goes to CENTER although the unit item comes first in the file.
    for (id, unit) in [
        ("4500", "center"),
        ("14500", "center"),
        ("6000", "unit"),
        ("3999", "center"),
    ] {
        let got = unit_for(&p, "unit-b", &req("GET", &format!("/?r_id={id}"), &[]));
        assert_eq!(got, unit, "id {id}");
    }
    let w = imported
        .warnings
        .iter()
        .find(|w| w.path == "/idUnitMapping/items/0/conditions/0/@userIdBetween")
        .unwrap_or_else(|| panic!("no overlap warning: {:?}", imported.warnings));
    assert!(w.message.contains("4000~5999"), "{}", w.message);
    assert!(w.message.contains("center"), "{}", w.message);
}

#[test]
fn a_repeated_item_name_keeps_only_the_last_item() {
    let input = mapping_input(&[
        ("unit-a", &["0~999"]),
        ("center", &["2000~2999"]),
        ("UNIT-A", &["5000~5999"]),
    ]);
    let imported = import_appactive(&input, &units()).unwrap();
    let p = load_ok(&serde_json::to_value(&imported.policy).unwrap());
    // 500 was only in the first, replaced item: no unit, so the local unit.
    assert_eq!(
        unit_for(&p, "unit-b", &req("GET", "/?r_id=500", &[])),
        "unit-b"
    );
    assert_eq!(
        unit_for(&p, "unit-b", &req("GET", "/?r_id=5500", &[])),
        "unit-a"
    );
    assert_eq!(
        unit_for(&p, "unit-b", &req("GET", "/?r_id=2500", &[])),
        "center"
    );
    assert!(
        imported
            .warnings
            .iter()
            .any(|w| w.path == "/idUnitMapping/items/0/name" && w.message.contains("last")),
        "{:?}",
        imported.warnings
    );
}

#[test]
fn ranges_appactive_rejects_are_rejected() {
    let path = "/idUnitMapping/items/0/conditions/0/@userIdBetween/0";
    for bad in [
        "0 ~ 999",
        " 0~999",
        "0~999 ",
        "+1~5",
        "-1~5",
        "1~",
        "~5",
        "7",
        "9223372036854775808~9223372036854775808",
    ] {
        let errs = import_appactive(&mapping_input(&[("unit-a", &[bad])]), &units()).unwrap_err();
        assert!(errs.iter().any(|e| e.path == path), "{bad}: {errs:?}");
    }
    // The largest Java Long is fine (and clipped by mod 10000).
    let mut i = mapping_input(&[("unit-a", &["0~9223372036854775807"])]);
    i.id_transformer = json!({"id": "userIdBetween", "mod": ""});
    let p = import_appactive(&i, &units()).unwrap().policy;
    let p = load_ok(&serde_json::to_value(&p).unwrap());
    assert_eq!(
        unit_for(&p, "unit-b", &req("GET", "/?r_id=9223372036854775807", &[])),
        "unit-a"
    );
}

#[test]
fn cookie_names_match_in_any_case_as_in_appactive() {
    let policy = import_appactive(&input(), &units()).unwrap().policy;
    let p = load_ok(&serde_json::to_value(&policy).unwrap());
    for cookie in ["r_id=6000", "R_ID=6000", "R_id=6000"] {
        let got = unit_for(&p, "unit-b", &req("GET", "/x", &[("cookie", cookie)]));
        assert_eq!(got, "center", "{cookie}");
    }
}

/// Whether a request is refused by a write-forbidden window.
fn refused(p: &CompiledPolicy, local: &str, r: &RequestView) -> bool {
    match decide(p, &ingress(local), r, &state(0)) {
        Decision::Reply(reply) => reply.reason == Reason::WriteForbidden,
        _ => false,
    }
}

#[test]
fn a_write_whose_key_cannot_be_read_does_not_slip_through_a_window() {
    let mut policy = import_appactive(&input(), &units()).unwrap().policy;
    let p = load_ok(&serde_json::to_value(&policy).unwrap());
    // The windows cover every unit: a write without a readable id might be one of theirs.
    for path in ["/o", "/o?r_id=abc", "/o?r_id=-2500", "/o?r_id=1.5"] {
        assert!(refused(&p, "unit-a", &req("POST", path, &[])), "{path}");
        assert!(!refused(&p, "unit-a", &req("GET", path, &[])), "GET {path}");
    }
    assert!(!refused(&p, "unit-a", &req("POST", "/o?r_id=250", &[])));
    // A policy may let them through.
    for w in &mut policy.isolation.write_forbidden {
        w.unreadable_key = UnreadableKey::Allow;
    }
    let p = load_ok(&serde_json::to_value(&policy).unwrap());
    assert!(!refused(&p, "unit-a", &req("POST", "/o", &[])));
    assert!(refused(&p, "unit-a", &req("POST", "/o?r_id=150", &[])));
}

#[test]
fn an_unreadable_key_is_refused_only_where_a_window_covers_its_unit() {
    let mut policy = import_appactive(&input(), &units()).unwrap().policy;
    for w in &mut policy.isolation.write_forbidden {
        w.units = vec!["unit-b".into()];
    }
    let p = load_ok(&serde_json::to_value(&policy).unwrap());
    // Without an id the write lands on the local unit.
    assert!(refused(&p, "unit-b", &req("POST", "/o", &[])));
    assert!(!refused(&p, "unit-a", &req("POST", "/o", &[])));
}

#[test]
fn signed_ids_read_as_appactive_reads_them() {
    let policy = import_appactive(&input(), &units()).unwrap().policy;
    let p = load_ok(&serde_json::to_value(&policy).unwrap());
    // AppActive reads +6000 as 6000 and +150 as 150 (forbidden).
    let got = unit_for(&p, "unit-b", &req("GET", "/x", &[("r_id", "+6000")]));
    assert_eq!(got, "center");
    assert!(refused(
        &p,
        "unit-a",
        &req("POST", "/x", &[("r_id", "+150")])
    ));
    // -6000 % 10000 is -6000 in Java: no unit, so the local one.
    let got = unit_for(&p, "unit-b", &req("GET", "/x", &[("r_id", "-6000")]));
    assert_eq!(got, "unit-b");
}
