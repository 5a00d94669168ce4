//! What changes between two policies: key ranges and exact values that move between units,
//! API classes, gray rules and isolation switches. Pure, for tools (the `unitgate diff` CLI);
//! the proxy modules never call it.
//!
//! Shares of the key space are computed on the compiled range tables, so overlaps resolve the
//! way `decide` resolves them. The domain of a rule is `0..N-1` for `modulo`/`hash` keys and,
//! for `number` keys, the hull of the ranges both policies declare (a number key has no
//! natural upper bound). Identity keys have no ranges: only their exact values are compared.

use crate::compile::{CRule, CompiledPolicy};
use crate::model::{Policy, Transform};
use crate::ranges::Span;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// Everything that differs between policy `from` and policy `to`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PolicyDiff {
    pub from_version: String,
    pub to_version: String,
    pub units: Vec<Change>,
    pub rules: Vec<RuleDiff>,
    pub apis: Vec<Change>,
    pub gray: Vec<GrayDiff>,
    pub isolation: Vec<Change>,
    pub missing_key: Vec<Change>,
}

impl PolicyDiff {
    /// True when routing cannot differ (only the version may have changed).
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
            && self.rules.is_empty()
            && self.apis.is_empty()
            && self.gray.is_empty()
            && self.isolation.is_empty()
            && self.missing_key.is_empty()
    }
}

/// One field of one named thing, before and after (compact JSON; "-" for absent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// E.g. "orders", "failover/jc", "write_forbidden/cutover-jc".
    pub name: String,
    /// E.g. "class", or "added" / "removed" for a whole thing.
    pub field: String,
    pub from: String,
    pub to: String,
}

/// One mapping rule: the key ranges and exact values whose unit changes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleDiff {
    pub rule: String,
    pub key: String,
    /// Inclusive domain the shares are relative to; None for identity keys.
    pub domain: Option<(u64, u64)>,
    pub range_moves: Vec<RangeMove>,
    /// Fraction (0..=1) of `domain` whose unit changes.
    pub moved_share: f64,
    pub exact_moves: Vec<ExactMove>,
    /// Other fields (key, default, consistent_hash, added/removed rule).
    pub changes: Vec<Change>,
}

/// Key values `lo..=hi` (after the transform) go from unit `from` to unit `to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RangeMove {
    pub lo: u64,
    pub hi: u64,
    pub from: String,
    pub to: String,
}

/// An exact value listed in either policy whose unit changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExactMove {
    pub value: String,
    pub from: String,
    pub to: String,
}

/// A gray rule that changed; `moved_share` is the share of its matching users that change unit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GrayDiff {
    pub rule: String,
    /// None when the rule is added (from) or removed (to).
    pub from_percent: Option<f64>,
    pub to_percent: Option<f64>,
    /// Fraction (0..=1) of the users the rule matches whose unit changes: the percent delta
    /// when only the percent changed (buckets are sticky and monotone), all moved users when
    /// the salt or target changed.
    pub moved_share: f64,
    pub changes: Vec<Change>,
}

/// Compare two compiled policies.
pub fn diff_policies(a: &CompiledPolicy, b: &CompiledPolicy) -> PolicyDiff {
    let (pa, pb) = (a.source(), b.source());
    PolicyDiff {
        from_version: pa.version.clone(),
        to_version: pb.version.clone(),
        units: named_changes(&json_list(&pa.units), &json_list(&pb.units), ""),
        rules: rules(a, b),
        apis: apis(pa, pb),
        gray: gray(pa, pb),
        isolation: isolation(pa, pb),
        missing_key: field_changes(
            "missing_key",
            &json(&pa.missing_key),
            &json(&pb.missing_key),
        ),
    }
}

// === generic field comparison ===

fn json<T: Serialize>(x: &T) -> Value {
    serde_json::to_value(x).unwrap_or(Value::Null)
}

fn json_list<T: Serialize>(xs: &[T]) -> Vec<Value> {
    xs.iter().map(json).collect()
}

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => terse(v).to_string(),
    }
}

/// `v` without null fields and empty lists: what the document would say, not serde's defaults.
fn terse(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, x)| !(x.is_null() || x.as_array().is_some_and(Vec::is_empty)))
                .map(|(k, x)| (k.clone(), terse(x)))
                .collect(),
        ),
        Value::Array(xs) => Value::Array(xs.iter().map(terse).collect()),
        v => v.clone(),
    }
}

/// Top-level fields of two JSON objects that differ.
fn field_changes(name: &str, a: &Value, b: &Value) -> Vec<Change> {
    let empty = serde_json::Map::new();
    let (ma, mb) = (
        a.as_object().unwrap_or(&empty),
        b.as_object().unwrap_or(&empty),
    );
    let fields: BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
    if ma.is_empty() && mb.is_empty() && a != b {
        return vec![change(name, "value", text(Some(a)), text(Some(b)))];
    }
    fields
        .into_iter()
        .filter(|f| ma.get(*f) != mb.get(*f))
        .map(|f| change(name, f, text(ma.get(f)), text(mb.get(f))))
        .collect()
}

fn change(name: &str, field: &str, from: String, to: String) -> Change {
    Change {
        name: name.into(),
        field: field.into(),
        from,
        to,
    }
}

fn name_of(v: &Value, field: &str) -> String {
    text(v.get(field))
}

/// Items matched by their `name` field (`prefix` + name): added, removed, changed fields.
fn named_changes(a: &[Value], b: &[Value], prefix: &str) -> Vec<Change> {
    keyed_changes(a, b, prefix, "name")
}

fn keyed_changes(a: &[Value], b: &[Value], prefix: &str, key: &str) -> Vec<Change> {
    let mut out = Vec::new();
    for x in a {
        let n = name_of(x, key);
        match b.iter().find(|y| name_of(y, key) == n) {
            Some(y) => out.extend(field_changes(&format!("{prefix}{n}"), x, y)),
            None => out.push(change(
                &format!("{prefix}{n}"),
                "removed",
                x.to_string(),
                "-".into(),
            )),
        }
    }
    for y in b {
        let n = name_of(y, key);
        if !a.iter().any(|x| name_of(x, key) == n) {
            out.push(change(
                &format!("{prefix}{n}"),
                "added",
                "-".into(),
                y.to_string(),
            ));
        }
    }
    out
}

// === mapping rules ===

fn rules(a: &CompiledPolicy, b: &CompiledPolicy) -> Vec<RuleDiff> {
    let mut out = Vec::new();
    let names: BTreeSet<&String> = a.rule_index.keys().chain(b.rule_index.keys()).collect();
    for name in names {
        let ra = a
            .rule_index
            .get(name)
            .and_then(|&i| Some((a.rules.get(i)?, a.source().rules.get(i)?)));
        let rb = b
            .rule_index
            .get(name)
            .and_then(|&i| Some((b.rules.get(i)?, b.source().rules.get(i)?)));
        let d = match (ra, rb) {
            (Some((ca, sa)), Some((cb, sb))) => rule_diff(a, b, (ca, sa), (cb, sb)),
            (Some((_, s)), None) | (None, Some((_, s))) => {
                let added = ra.is_none();
                let (from, to) = if added {
                    ("-".to_string(), text(Some(&json(s))))
                } else {
                    (text(Some(&json(s))), "-".to_string())
                };
                RuleDiff {
                    rule: name.clone(),
                    key: s.key.clone(),
                    domain: None,
                    range_moves: Vec::new(),
                    moved_share: 0.0,
                    exact_moves: Vec::new(),
                    changes: vec![change(
                        name,
                        if added { "added" } else { "removed" },
                        from,
                        to,
                    )],
                }
            }
            (None, None) => continue,
        };
        let moved = !d.range_moves.is_empty() || !d.exact_moves.is_empty() || !d.changes.is_empty();
        if moved {
            out.push(d);
        }
    }
    out
}

type RulePair<'a> = (&'a CRule, &'a crate::model::MappingRule);

fn rule_diff(
    a: &CompiledPolicy,
    b: &CompiledPolicy,
    (ca, sa): RulePair,
    (cb, sb): RulePair,
) -> RuleDiff {
    let mut changes = Vec::new();
    for (field, x, y) in [
        ("key", json(&sa.key), json(&sb.key)),
        ("default", json(&sa.default), json(&sb.default)),
        (
            "consistent_hash",
            json(&sa.consistent_hash),
            json(&sb.consistent_hash),
        ),
        ("total", json(&sa.total), json(&sb.total)),
    ] {
        if x != y {
            changes.push(change(&sa.name, field, text(Some(&x)), text(Some(&y))));
        }
    }
    let transform =
        |p: &CompiledPolicy, r: &CRule| p.src.keys.get(r.key).map(|k| k.transform.clone());
    let (ta, tb) = (transform(a, ca), transform(b, cb));
    if ta != tb {
        changes.push(change(
            &sa.name,
            "transform",
            text(Some(&json(&ta))),
            text(Some(&json(&tb))),
        ));
    }
    let domain = domain_of(tb.as_ref(), ca, cb);
    let mut range_moves = Vec::new();
    let mut moved_share = 0.0;
    if let Some(d) = domain {
        range_moves = range_moves_in(d, a, ca, b, cb);
        let moved: u128 = range_moves
            .iter()
            .map(|m| u128::from(m.hi - m.lo) + 1)
            .sum();
        let size = u128::from(d.hi - d.lo) + 1;
        moved_share = moved as f64 / size as f64;
    }
    let listed = |r: &crate::model::MappingRule| -> Vec<String> {
        r.exact
            .iter()
            .flat_map(|i| i.values.iter().map(|v| v.trim().to_string()))
            .collect()
    };
    let values: BTreeSet<String> = listed(sa).into_iter().chain(listed(sb)).collect();
    let exact_moves = values
        .into_iter()
        .filter_map(|v| {
            let from = unit_label(a.map_value(&sa.name, &v).map(|(u, _)| u.name.as_str()));
            let to = unit_label(b.map_value(&sb.name, &v).map(|(u, _)| u.name.as_str()));
            (from != to).then_some(ExactMove { value: v, from, to })
        })
        .collect();
    RuleDiff {
        rule: sa.name.clone(),
        key: sb.key.clone(),
        domain: domain.map(|d| (d.lo, d.hi)),
        range_moves,
        moved_share,
        exact_moves,
        changes,
    }
}

fn unit_label(u: Option<&str>) -> String {
    u.unwrap_or("missing_key").to_string()
}

fn domain_of(t: Option<&Transform>, ca: &CRule, cb: &CRule) -> Option<Span> {
    match t? {
        Transform::Identity => None,
        Transform::Modulo(n) | Transform::Hash(n) => Some(Span {
            lo: 0,
            hi: n.checked_sub(1)?,
        }),
        Transform::Number => {
            let spans: Vec<Span> = ca
                .ranges
                .iter()
                .chain(cb.ranges.iter())
                .map(|(s, _)| *s)
                .collect();
            let lo = spans.iter().map(|s| s.lo).min()?;
            let hi = spans.iter().map(|s| s.hi).max()?;
            Some(Span { lo, hi })
        }
    }
}

/// Where a value lands when no range holds it: the default unit, "hash" or "missing_key".
fn fallback(p: &CompiledPolicy, r: &CRule) -> String {
    if !r.hash.is_empty() {
        let names: Vec<&str> = r
            .hash
            .iter()
            .filter_map(|&i| p.unit_at(i))
            .map(|u| u.name.as_str())
            .collect();
        return format!("hash({})", names.join(","));
    }
    unit_label(
        r.default
            .and_then(|i| p.unit_at(i))
            .map(|u| u.name.as_str()),
    )
}

fn range_moves_in(
    d: Span,
    a: &CompiledPolicy,
    ca: &CRule,
    b: &CompiledPolicy,
    cb: &CRule,
) -> Vec<RangeMove> {
    // Cut the domain wherever either table starts or ends a span; each piece has one owner.
    let mut cuts: BTreeSet<u64> = BTreeSet::new();
    cuts.insert(d.lo);
    for (s, _) in ca.ranges.iter().chain(cb.ranges.iter()) {
        for c in [Some(s.lo), s.hi.checked_add(1)].into_iter().flatten() {
            if c > d.lo && c <= d.hi {
                cuts.insert(c);
            }
        }
    }
    let (fa, fb) = (fallback(a, ca), fallback(b, cb));
    let owner = |p: &CompiledPolicy, r: &CRule, f: &str, x: u64| match r.ranges.get(x) {
        Some(&u) => unit_label(p.unit_at(u).map(|u| u.name.as_str())),
        None => f.to_string(),
    };
    let cuts: Vec<u64> = cuts.into_iter().collect();
    let mut out: Vec<RangeMove> = Vec::new();
    for (i, &lo) in cuts.iter().enumerate() {
        let hi = cuts.get(i + 1).map_or(d.hi, |next| next - 1);
        let (from, to) = (owner(a, ca, &fa, lo), owner(b, cb, &fb, lo));
        if from == to {
            continue;
        }
        match out.last_mut() {
            Some(m) if m.hi.checked_add(1) == Some(lo) && m.from == from && m.to == to => m.hi = hi,
            _ => out.push(RangeMove { lo, hi, from, to }),
        }
    }
    out
}

// === APIs, gray, isolation ===

fn apis(a: &Policy, b: &Policy) -> Vec<Change> {
    let mut out = named_changes(&json_list(&a.apis), &json_list(&b.apis), "");
    out.extend(field_changes(
        "default_api",
        &json(&a.default_api),
        &json(&b.default_api),
    ));
    out
}

fn gray(a: &Policy, b: &Policy) -> Vec<GrayDiff> {
    let mut out = Vec::new();
    let names: BTreeSet<&String> = a.gray.iter().chain(&b.gray).map(|g| &g.name).collect();
    for name in names {
        let ga = a.gray.iter().find(|g| &g.name == name);
        let gb = b.gray.iter().find(|g| &g.name == name);
        let changes = field_changes(
            name,
            &ga.map_or(Value::Null, json),
            &gb.map_or(Value::Null, json),
        );
        if changes.is_empty() {
            continue;
        }
        let moved_share = match (ga, gb) {
            (Some(x), Some(y)) => {
                let salt =
                    |g: &crate::model::GrayRule| g.salt.clone().unwrap_or_else(|| g.name.clone());
                if salt(x) != salt(y) || x.target != y.target {
                    // Reshuffled or retargeted: every user in either rule's gray share moves.
                    (x.percent.max(y.percent) / 100.0).min(1.0)
                } else {
                    ((x.percent - y.percent).abs() / 100.0).min(1.0)
                }
            }
            (Some(g), None) | (None, Some(g)) => (g.percent / 100.0).min(1.0),
            (None, None) => 0.0,
        };
        out.push(GrayDiff {
            rule: name.clone(),
            from_percent: ga.map(|g| g.percent),
            to_percent: gb.map(|g| g.percent),
            moved_share,
            changes: if ga.is_some() && gb.is_some() {
                changes
            } else {
                let added = ga.is_none();
                vec![change(
                    name,
                    if added { "added" } else { "removed" },
                    ga.map_or("-".into(), |g| text(Some(&json(g)))),
                    gb.map_or("-".into(), |g| text(Some(&json(g)))),
                )]
            },
        });
    }
    out
}

fn isolation(a: &Policy, b: &Policy) -> Vec<Change> {
    let (ia, ib) = (&a.isolation, &b.isolation);
    let mut out = Vec::new();
    let down = |xs: &[String]| xs.iter().cloned().collect::<BTreeSet<String>>();
    let (da, db) = (down(&ia.down_units), down(&ib.down_units));
    for u in da.symmetric_difference(&db) {
        let (from, to) = if da.contains(u) {
            ("down", "up")
        } else {
            ("up", "down")
        };
        out.push(change(
            &format!("down_units/{u}"),
            "state",
            from.into(),
            to.into(),
        ));
    }
    let units: BTreeSet<&String> = ia.failover.keys().chain(ib.failover.keys()).collect();
    for u in units {
        let (x, y) = (ia.failover.get(u), ib.failover.get(u));
        if x != y {
            let t = |v: Option<&String>| v.cloned().unwrap_or_else(|| "-".into());
            out.push(change(&format!("failover/{u}"), "to", t(x), t(y)));
        }
    }
    out.extend(keyed_changes(
        &json_list(&ia.api_switches),
        &json_list(&ib.api_switches),
        "api_switches/",
        "api",
    ));
    out.extend(named_changes(
        &json_list(&ia.write_forbidden),
        &json_list(&ib.write_forbidden),
        "write_forbidden/",
    ));
    out.extend(field_changes(
        "breaker",
        &json(&ia.breaker),
        &json(&ib.breaker),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load;

    fn policy(rule: &str, gray_percent: f64, extra_iso: &str) -> CompiledPolicy {
        let doc = format!(
            r#"{{"version":"v","units":[{{"name":"uc","role":"center","cloud":"a","upstream":"u"}},
            {{"name":"jc","role":"normal","cloud":"b","upstream":"j"}}],
            "keys":[{{"name":"city","sources":[{{"header":"x-city"}}],"transform":{{"modulo":1000}}}},
                    {{"name":"user","sources":[{{"header":"x-user"}}]}}],
            "rules":[{rule}],
            "apis":[{{"name":"orders","match":{{"prefix":"/o"}},"class":"core","rule":"r"}}],
            "default_api":{{"class":"core","rule":"r"}},
            "gray":[{{"name":"g","sticky_key":"user","percent":{gray_percent},"target":"jc"}}],
            "isolation":{{"failover":{{"jc":"uc"}}{extra_iso}}},
            "missing_key":{{"action":"local"}}}}"#
        );
        match load(&doc) {
            Ok(l) => l.policy,
            Err(r) => panic!("{r}"),
        }
    }

    #[test]
    fn ranges_exact_gray_and_isolation_moves() {
        let a = policy(
            r#"{"name":"r","key":"city","exact":[{"unit":"jc","values":["7"]}],
                "ranges":[{"unit":"uc","ranges":["0~499"]},{"unit":"jc","ranges":["500~999"]}]}"#,
            10.0,
            "",
        );
        let b = policy(
            r#"{"name":"r","key":"city","exact":[{"unit":"uc","values":["7"]}],
                "ranges":[{"unit":"uc","ranges":["0~399"]},{"unit":"jc","ranges":["400~999"]}]}"#,
            25.0,
            r#","down_units":["jc"]"#,
        );
        let d = diff_policies(&a, &b);
        let r = &d.rules[0];
        assert_eq!(r.domain, Some((0, 999)));
        assert_eq!(
            r.range_moves,
            vec![RangeMove {
                lo: 400,
                hi: 499,
                from: "uc".into(),
                to: "jc".into()
            }]
        );
        assert!((r.moved_share - 0.1).abs() < 1e-9);
        assert_eq!(r.exact_moves.len(), 1);
        assert_eq!(
            (r.exact_moves[0].from.as_str(), r.exact_moves[0].to.as_str()),
            ("jc", "uc")
        );
        let g = &d.gray[0];
        assert_eq!((g.from_percent, g.to_percent), (Some(10.0), Some(25.0)));
        assert!((g.moved_share - 0.15).abs() < 1e-9);
        assert_eq!(
            d.isolation,
            vec![change("down_units/jc", "state", "up".into(), "down".into())]
        );
        assert!(d.apis.is_empty() && d.units.is_empty());
        assert!(diff_policies(&a, &a).is_empty());
    }

    #[test]
    fn uncovered_values_fall_to_the_default() {
        let a = policy(
            r#"{"name":"r","key":"city","ranges":[{"unit":"jc","ranges":["0~99"]}],"default":"uc"}"#,
            0.0,
            "",
        );
        let b = policy(
            r#"{"name":"r","key":"city","ranges":[{"unit":"jc","ranges":["0~199"]}],"default":"uc"}"#,
            0.0,
            "",
        );
        let d = diff_policies(&a, &b);
        assert_eq!(
            d.rules[0].range_moves,
            vec![RangeMove {
                lo: 100,
                hi: 199,
                from: "uc".into(),
                to: "jc".into()
            }]
        );
        assert!((d.rules[0].moved_share - 0.1).abs() < 1e-9);
    }

    #[test]
    fn range_moves_agree_with_map_value_on_every_key() {
        let a = policy(
            r#"{"name":"r","key":"city","ranges":[{"unit":"uc","ranges":["0~120","300~310"]},
                {"unit":"jc","ranges":["121~299","600~999"]}],"default":"uc"}"#,
            0.0,
            "",
        );
        let b = policy(
            r#"{"name":"r","key":"city","ranges":[{"unit":"jc","ranges":["0~5","100~305"]},
                {"unit":"uc","ranges":["700~800"]}],"default":"jc"}"#,
            0.0,
            "",
        );
        let d = diff_policies(&a, &b);
        let moves = &d.rules[0].range_moves;
        let mut moved = 0;
        for x in 0..1000u64 {
            let unit = |p: &CompiledPolicy| {
                p.map_value("r", &x.to_string())
                    .map(|(u, _)| u.name.clone())
            };
            let differs = unit(&a) != unit(&b);
            let listed = moves.iter().any(|m| m.lo <= x && x <= m.hi);
            assert_eq!(differs, listed, "key {x}: {moves:?}");
            moved += u64::from(differs);
        }
        assert!((d.rules[0].moved_share - moved as f64 / 1000.0).abs() < 1e-9);
    }
}
