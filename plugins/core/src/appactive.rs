//! Import of AppActive rule files into a policy that routes the same way.
//!
//! AppActive's files (as its Java client and gateway read them):
//! - idSource: `{"source":"arg,header,cookie","tokenKey":"r_id"}`: where the routing id is read,
//!   in order (`arg` is a query parameter).
//! - idTransformer: `[{"id":"userIdBetween","mod":"10000"}]` (or one object): `mod` "" or absent
//!   means the whole number.
//! - idUnitMapping: `{"itemType":"UnitRuleItem","items":[{"name":"unit","conditions":
//!   [{"@userIdBetween":["0~1999"]}]}]}`: "@" is the between condition over the token named by
//!   the transformer id; ranges are inclusive.
//! - forbiddenRule: the same shape with `"itemType":"ForbiddenRuleItem"`.
//!
//! AppActive orders conditions by their index inside each item, then by item, and the first
//! condition with a range holding the id wins; we keep that order and turn it into disjoint
//! ranges. A missing or non-numeric id goes to the local unit. Unlike AppActive, which honours
//! only one forbidden item and blocks reads too, every forbidden item becomes a
//! write-forbidden window that blocks writes only.

use crate::model::*;
use crate::ranges::{gaps, parse_span, Span};
use crate::report::Issue;
use crate::validate_policy;
use serde_json::Value;

/// The four AppActive rule files, parsed as JSON.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AppActiveInput {
    pub id_source: Value,
    pub id_transformer: Value,
    pub id_unit_mapping: Value,
    /// Optional: no forbidden rule file means nothing is forbidden.
    pub forbidden_rule: Option<Value>,
}

/// Name of the shard key, mapping rule and policy version the import produces.
pub const IMPORTED_KEY: &str = "appactive_id";
pub const IMPORTED_RULE: &str = "appactive";

/// Convert AppActive rules into a validated policy. `units` (names, roles, clouds, upstreams)
/// are supplied because AppActive files do not carry them; item names match unit names
/// case-insensitively (AppActive upper-cases them). Every API is core, routed by the id.
pub fn import_appactive(input: &AppActiveInput, units: &[Unit]) -> Result<Policy, Vec<Issue>> {
    let mut issues = Vec::new();
    let sources = id_sources(&input.id_source, &mut issues);
    let transform = transformer(&input.id_transformer, &mut issues);
    let conditions = conditions(
        &input.id_unit_mapping,
        "/idUnitMapping",
        "UnitRuleItem",
        &mut issues,
    );
    let forbidden = match &input.forbidden_rule {
        Some(v) => conditions_by_item(v, "/forbiddenRule", "ForbiddenRuleItem", &mut issues),
        None => Vec::new(),
    };

    // Ids after the transform; ranges beyond it can never match, so they are clipped.
    let domain = match transform {
        Transform::Modulo(n) => Span {
            lo: 0,
            hi: n.saturating_sub(1),
        },
        _ => Span {
            lo: 0,
            hi: u64::MAX,
        },
    };
    let clip = |s: &Span| {
        (s.lo <= domain.hi).then(|| Span {
            lo: s.lo,
            hi: s.hi.min(domain.hi),
        })
    };
    // First match wins: each range only claims what earlier conditions left free.
    let mut claimed: Vec<Span> = Vec::new();
    let mut per_unit: Vec<(String, Vec<String>)> =
        units.iter().map(|u| (u.name.clone(), Vec::new())).collect();
    for c in &conditions {
        let Some(slot) = per_unit
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&c.unit))
        else {
            let known: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
            issues.push(Issue::new(
                format!("{}/name", c.item_path),
                format!(
                    "unit \"{}\" is not among the supplied units: {}",
                    c.unit,
                    known.join(", ")
                ),
            ));
            continue;
        };
        for span in c.spans.iter().filter_map(clip) {
            for free in gaps(span, &claimed) {
                slot.1.push(format!("{}~{}", free.lo, free.hi));
            }
            claimed.push(span);
        }
    }
    if !issues.is_empty() {
        return Err(issues);
    }

    let write_forbidden = forbidden
        .iter()
        .map(|(name, spans)| (name, spans.iter().filter_map(clip).collect::<Vec<_>>()))
        .filter(|(_, spans)| !spans.is_empty())
        .enumerate()
        .map(|(i, (name, spans))| WriteForbid {
            name: format!("appactive-forbidden-{i}-{}", sanitize(name)),
            units: Vec::new(),
            apis: Vec::new(),
            methods: Vec::new(),
            key: Some(IMPORTED_KEY.into()),
            ranges: spans.iter().map(|s| format!("{}~{}", s.lo, s.hi)).collect(),
            values: Vec::new(),
            until: None,
            retry_after_s: None,
        })
        .collect();
    let policy = Policy {
        version: "appactive-import".into(),
        units: units.to_vec(),
        keys: vec![ShardKey {
            name: IMPORTED_KEY.into(),
            sources,
            transform,
        }],
        rules: vec![MappingRule {
            name: IMPORTED_RULE.into(),
            key: IMPORTED_KEY.into(),
            exact: Vec::new(),
            ranges: per_unit
                .into_iter()
                .filter(|(_, r)| !r.is_empty())
                .map(|(unit, ranges)| RangeItem { unit, ranges })
                .collect(),
            consistent_hash: None,
            default: None,
            total: false,
        }],
        apis: Vec::new(),
        default_api: DefaultApi {
            class: ApiKind::Core,
            rule: Some(IMPORTED_RULE.into()),
        },
        gray: Vec::new(),
        isolation: Isolation {
            write_forbidden,
            ..Isolation::default()
        },
        missing_key: MissingKey::Local,
    };
    let report = validate_policy(&policy);
    if report.errors.is_empty() {
        Ok(policy)
    } else {
        Err(report.errors)
    }
}

/// Keep [A-Za-z0-9._-], replace the rest with '-'.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn id_sources(v: &Value, issues: &mut Vec<Issue>) -> Vec<KeySource> {
    let token = v
        .get("tokenKey")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    if token.is_empty() {
        issues.push(Issue::new(
            "/idSource/tokenKey",
            "expected the name of the routing id, e.g. \"r_id\"",
        ));
    }
    let list = v.get("source").and_then(Value::as_str).unwrap_or("");
    let mut out = Vec::new();
    for (i, s) in list.split(',').map(str::trim).enumerate() {
        match s {
            "arg" => out.push(KeySource::Query(token.into())),
            "header" => out.push(KeySource::Header(token.into())),
            "cookie" => out.push(KeySource::Cookie(token.into())),
            other => issues.push(Issue::new(
                "/idSource/source",
                format!("source {i} is \"{other}\": expected a comma-separated list of arg, header, cookie"),
            )),
        }
    }
    out
}

/// `mod` as a string or number; "" or absent: the whole number.
fn transformer(v: &Value, issues: &mut Vec<Issue>) -> Transform {
    let (t, path) = match v {
        Value::Array(a) if a.len() == 1 => (a.first().unwrap_or(&Value::Null), "/idTransformer/0"),
        Value::Array(a) => {
            issues.push(Issue::new(
                "/idTransformer",
                format!("expected one transformer, found {}", a.len()),
            ));
            return Transform::Number;
        }
        other => (other, "/idTransformer"),
    };
    let m = match t.get("mod") {
        None | Some(Value::Null) => return Transform::Number,
        Some(Value::String(s)) if s.trim().is_empty() => return Transform::Number,
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        Some(_) => None,
    };
    match m {
        Some(n) if n >= 1 => Transform::Modulo(n),
        _ => {
            issues.push(Issue::new(
                format!("{path}/mod"),
                "expected a positive integer or \"\"",
            ));
            Transform::Number
        }
    }
}

/// One between-condition of a mapping item.
struct Condition {
    unit: String,
    item_path: String,
    /// Index of the condition inside its item: AppActive's priority.
    priority: usize,
    item: usize,
    spans: Vec<Span>,
}

/// Every condition, in AppActive's evaluation order (priority, then item order).
fn conditions(v: &Value, base: &str, item_type: &str, issues: &mut Vec<Issue>) -> Vec<Condition> {
    let mut out = Vec::new();
    let Some(items) = items(v, base, item_type, issues) else {
        return out;
    };
    for (ii, item) in items.iter().enumerate() {
        let item_path = format!("{base}/items/{ii}");
        let unit = item
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if unit.is_empty() {
            issues.push(Issue::new(
                format!("{item_path}/name"),
                "expected a unit name",
            ));
        }
        let conds = item
            .get("conditions")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut priority = 0;
        for (ci, cond) in conds.iter().enumerate() {
            let Some(map) = cond.as_object() else {
                issues.push(Issue::new(
                    format!("{item_path}/conditions/{ci}"),
                    "expected an object",
                ));
                continue;
            };
            for (k, ranges) in map {
                let path = format!(
                    "{item_path}/conditions/{ci}/{}",
                    crate::report::ptr_token(k)
                );
                if !k.starts_with('@') {
                    issues.push(Issue::new(
                        &path,
                        format!("condition \"{k}\": only between conditions (\"@<token>\") exist"),
                    ));
                    continue;
                }
                let spans = spans(ranges, &path, issues);
                out.push(Condition {
                    unit: unit.clone(),
                    item_path: item_path.clone(),
                    priority,
                    item: ii,
                    spans,
                });
                priority += 1;
            }
        }
    }
    out.sort_by_key(|c| (c.priority, c.item));
    out
}

/// Forbidden items with ranges: (name, all their ranges). An item without ranges forbids
/// nothing (a window without ranges would forbid every write).
fn conditions_by_item(
    v: &Value,
    base: &str,
    item_type: &str,
    issues: &mut Vec<Issue>,
) -> Vec<(String, Vec<Span>)> {
    let mut by_item: Vec<(usize, String, Vec<Span>)> = Vec::new();
    let mut conds = conditions(v, base, item_type, issues);
    conds.sort_by_key(|c| (c.item, c.priority));
    for c in conds {
        match by_item.last_mut() {
            Some((item, _, spans)) if *item == c.item => spans.extend(c.spans),
            _ => by_item.push((c.item, c.unit, c.spans)),
        }
    }
    by_item
        .into_iter()
        .filter(|(_, _, spans)| !spans.is_empty())
        .map(|(_, name, spans)| (name, spans))
        .collect()
}

fn items<'a>(
    v: &'a Value,
    base: &str,
    item_type: &str,
    issues: &mut Vec<Issue>,
) -> Option<&'a Vec<Value>> {
    match v.get("itemType").and_then(Value::as_str) {
        Some(t) if t == item_type => {}
        other => issues.push(Issue::new(
            format!("{base}/itemType"),
            format!("found {other:?}: expected \"{item_type}\""),
        )),
    }
    let items = v.get("items").and_then(Value::as_array);
    if items.is_none() {
        issues.push(Issue::new(
            format!("{base}/items"),
            "expected an array of items",
        ));
    }
    items
}

/// "min~max" strings (AppActive accepts only this form).
fn spans(v: &Value, path: &str, issues: &mut Vec<Issue>) -> Vec<Span> {
    let Some(list) = v.as_array() else {
        issues.push(Issue::new(path, "expected an array of \"min~max\" ranges"));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let p = format!("{path}/{i}");
        match r.as_str() {
            Some(s) if s.contains('~') => match parse_span(s) {
                Ok(span) => out.push(span),
                Err(e) => issues.push(Issue::new(p, e)),
            },
            _ => issues.push(Issue::new(p, "expected a \"min~max\" range string")),
        }
    }
    out
}
