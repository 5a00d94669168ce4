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
//! AppActive keeps its items in a `java.util.HashMap` keyed by the upper-cased item name (so a
//! later item of the same name replaces an earlier one), then orders every condition by its
//! index inside its item, ties in that map's iteration order. The first condition with a range
//! holding the id wins. We reproduce that order, turn it into disjoint ranges, and warn where
//! items overlap (the winner then depends on the hash of the names, not on the file's order).
//! A missing or non-numeric id goes to the local unit. Unlike AppActive, which honours only one
//! forbidden item and blocks reads too, every forbidden item becomes a write-forbidden window
//! that blocks writes only.

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

/// A policy imported from AppActive rules, and what the import noticed on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    pub policy: Policy,
    /// Overlapping or repeated items, and the policy's own validation warnings.
    pub warnings: Vec<Issue>,
}

/// Convert AppActive rules into a validated policy. `units` (names, roles, clouds, upstreams)
/// are supplied because AppActive files do not carry them; item names match unit names
/// case-insensitively (AppActive upper-cases them). Every API is core, routed by the id.
pub fn import_appactive(input: &AppActiveInput, units: &[Unit]) -> Result<Imported, Vec<Issue>> {
    let mut issues = Vec::new();
    let mut warnings = Vec::new();
    let sources = id_sources(&input.id_source, &mut issues);
    let transform = transformer(&input.id_transformer, &mut issues);
    let conditions = conditions(
        &input.id_unit_mapping,
        "/idUnitMapping",
        "UnitRuleItem",
        &mut issues,
        &mut warnings,
    );
    let forbidden = match &input.forbidden_rule {
        Some(v) => conditions_by_item(
            v,
            "/forbiddenRule",
            "ForbiddenRuleItem",
            &mut issues,
            &mut warnings,
        ),
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
    let mut claimed: Vec<(Span, String)> = Vec::new();
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
            for (other, owner) in claimed.iter().filter(|(_, o)| *o != slot.0) {
                let (lo, hi) = (span.lo.max(other.lo), span.hi.min(other.hi));
                if lo <= hi {
                    warnings.push(Issue::new(
                        &c.path,
                        format!(
                            "ids {lo}~{hi} are also in {owner}'s range {}~{}: AppActive gives them \
                             to {owner}, as its order (condition index, then a Java HashMap of \
                             item names) puts {owner} first",
                            other.lo, other.hi
                        ),
                    ));
                }
            }
            let spans: Vec<Span> = claimed.iter().map(|(s, _)| *s).collect();
            for free in gaps(span, &spans) {
                slot.1.push(format!("{}~{}", free.lo, free.hi));
            }
            claimed.push((span, slot.0.clone()));
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
            unreadable_key: UnreadableKey::Forbid,
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
        warnings.extend(report.warnings);
        Ok(Imported { policy, warnings })
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
    /// JSON pointer of the condition, for warnings.
    path: String,
    /// Index of the condition inside its item: AppActive's priority.
    priority: usize,
    item: usize,
    spans: Vec<Span>,
}

/// Every condition, in AppActive's evaluation order: priority, then the iteration order of
/// the HashMap of upper-cased item names (a repeated name keeps only its last item).
fn conditions(
    v: &Value,
    base: &str,
    item_type: &str,
    issues: &mut Vec<Issue>,
    warnings: &mut Vec<Issue>,
) -> Vec<Condition> {
    let mut out = Vec::new();
    let Some(items) = items(v, base, item_type, issues) else {
        return out;
    };
    let names: Vec<String> = items
        .iter()
        .map(|item| {
            let name = item.get("name").and_then(Value::as_str).unwrap_or("");
            name.to_uppercase()
        })
        .collect();
    let order = hashmap_order(&names);
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
        let Some(&(_, last)) = order
            .iter()
            .find(|(_, last)| names.get(*last) == names.get(ii))
        else {
            continue;
        };
        if last != ii {
            warnings.push(Issue::new(
                format!("{item_path}/name"),
                format!(
                    "item \"{unit}\" is repeated at {base}/items/{last}: AppActive keeps only \
                     the last item of a name (case-insensitive), so this one is ignored"
                ),
            ));
            continue;
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
                    path,
                    priority,
                    item: ii,
                    spans,
                });
                priority += 1;
            }
        }
    }
    let slot = |item: usize| order.iter().position(|&(_, last)| last == item);
    out.sort_by_key(|c| (c.priority, slot(c.item)));
    out
}

/// Java's `String.hashCode`, over UTF-16 code units.
fn java_hash(s: &str) -> u32 {
    s.encode_utf16()
        .fold(0u32, |h, c| h.wrapping_mul(31).wrapping_add(u32::from(c)))
}

/// The order a `java.util.HashMap<String, _>` iterates keys put in this order, as
/// (first index, last index) of each distinct key: a repeated key keeps its first place and
/// takes its last value. Buckets come in index order (`hash ^ hash >>> 16`, masked by a table
/// of at least 16 slots that doubles past 3/4 full); keys of one bucket in insertion order,
/// which resizing keeps. (Buckets of 8 or more colliding names, which Java turns into trees,
/// are not modelled.)
fn hashmap_order(keys: &[String]) -> Vec<(usize, usize)> {
    let mut distinct: Vec<(usize, usize)> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        match distinct
            .iter_mut()
            .find(|(first, _)| keys.get(*first) == Some(k))
        {
            Some(entry) => entry.1 = i,
            None => distinct.push((i, i)),
        }
    }
    let mut table = 16usize;
    while distinct.len() > table / 4 * 3 {
        table *= 2;
    }
    let bucket = |k: &str| {
        let h = java_hash(k);
        (h ^ (h >> 16)) as usize & (table - 1)
    };
    distinct.sort_by_key(|&(first, _)| (keys.get(first).map(|k| bucket(k)), first));
    distinct
}

/// Forbidden items with ranges: (name, all their ranges). An item without ranges forbids
/// nothing (a window without ranges would forbid every write).
fn conditions_by_item(
    v: &Value,
    base: &str,
    item_type: &str,
    issues: &mut Vec<Issue>,
    warnings: &mut Vec<Issue>,
) -> Vec<(String, Vec<Span>)> {
    let mut by_item: Vec<(usize, String, Vec<Span>)> = Vec::new();
    let mut conds = conditions(v, base, item_type, issues, warnings);
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

/// "min~max" strings, as AppActive reads them: digits only (`(\\d+)~(\\d+)`, no sign, no space),
/// each bound a Java `Long` (at most 2^63-1).
fn appactive_span(s: &str) -> Result<Span, String> {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    match s.split_once('~') {
        Some((a, b)) if digits(a) && digits(b) => {}
        _ => {
            return Err(format!(
                "range \"{s}\": AppActive accepts only \"min~max\" with digits, no sign or space"
            ))
        }
    }
    let span = parse_span(s)?;
    if span.hi > i64::MAX as u64 {
        return Err(format!(
            "range \"{s}\": a bound above 2^63-1 does not fit AppActive's Long"
        ));
    }
    Ok(span)
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
            Some(s) => match appactive_span(s) {
                Ok(span) => out.push(span),
                Err(e) => issues.push(Issue::new(p, e)),
            },
            None => issues.push(Issue::new(p, "expected a \"min~max\" range string")),
        }
    }
    out
}
