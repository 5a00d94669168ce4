//! Shard keys and mapping rules: sources, transforms, exact lists, ranges, coverage.

use super::context::Check;
use crate::keys::is_numeric;
use crate::model::{KeySource, MappingRule, MissingKey, Transform};
use crate::ranges::{gaps_sorted, parse_span, sort_spans, Span};
use crate::report::ptr;
use crate::tables::{ExactTable, ItemTexts};

/// Values a transform can produce; None for identity (no numbers).
pub(crate) fn domain(t: &Transform) -> Option<Span> {
    match t {
        Transform::Identity => None,
        Transform::Number => Some(Span {
            lo: 0,
            hi: u64::MAX,
        }),
        Transform::Modulo(n) | Transform::Hash(n) => Some(Span {
            lo: 0,
            hi: n.saturating_sub(1),
        }),
    }
}

/// RFC 6901: "" or "/..." where every "~" is followed by "0" or "1".
pub(crate) fn json_pointer_ok(p: &str) -> bool {
    if !(p.is_empty() || p.starts_with('/')) {
        return false;
    }
    let b = p.as_bytes();
    b.iter()
        .enumerate()
        .all(|(i, &c)| c != b'~' || matches!(b.get(i + 1), Some(b'0' | b'1')))
}

/// A header name: no whitespace or ':' (a leading ':' marks a pseudo-header).
fn header_name_ok(n: &str) -> bool {
    let rest = n.strip_prefix(':').unwrap_or(n);
    !rest.is_empty() && !rest.bytes().any(|b| b.is_ascii_whitespace() || b == b':')
}

pub(crate) fn check_keys(c: &mut Check) {
    let p = c.p;
    c.unique(
        "key",
        p.keys
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("/keys/{i}/name"), k.name.as_str())),
    );
    for (i, k) in p.keys.iter().enumerate() {
        let base = ptr("/keys", i);
        c.name(&ptr(&base, "name"), "key name", &k.name);
        if k.sources.is_empty() {
            c.error(ptr(&base, "sources"), "expected at least one source");
        }
        for (si, s) in k.sources.iter().enumerate() {
            let path = ptr(&ptr(&base, "sources"), si);
            match s {
                KeySource::Query(n) | KeySource::Cookie(n) if n.trim().is_empty() => {
                    c.error(path, "expected a non-empty name")
                }
                KeySource::Header(n) if !header_name_ok(n) => c.error(
                    ptr(&path, "header"),
                    format!("invalid header name \"{n}\": expected a token without spaces or ':'"),
                ),
                KeySource::Body(pointer) if !json_pointer_ok(pointer) => c.error(
                    ptr(&path, "body"),
                    format!("invalid JSON pointer \"{pointer}\": expected \"\" or \"/a/b\" with ~0 and ~1 escapes"),
                ),
                _ => {}
            }
        }
        if let Transform::Modulo(0) | Transform::Hash(0) = k.transform {
            c.error(ptr(&base, "transform"), "N must be at least 1");
        }
    }
}

pub(crate) fn check_rules(c: &mut Check) {
    let p = c.p;
    c.unique(
        "rule",
        p.rules
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("/rules/{i}/name"), r.name.as_str())),
    );
    for (ri, rule) in p.rules.iter().enumerate() {
        let base = ptr("/rules", ri);
        c.name(&ptr(&base, "name"), "rule name", &rule.name);
        let key = c.key(&ptr(&base, "key"), &rule.key);

        let numeric = key.is_some_and(|k| is_numeric(&k.transform));
        check_exact(c, ri, &base, rule, numeric);
        check_ranges(c, ri, &base, rule, key.map(|k| &k.transform));

        if let Some(ch) = &rule.consistent_hash {
            if ch.units.is_empty() {
                c.error(
                    format!("{base}/consistent_hash/units"),
                    "expected at least one unit",
                );
            }
            for (ui, u) in ch.units.iter().enumerate() {
                c.target(&format!("{base}/consistent_hash/units/{ui}"), u);
            }
            c.unique(
                "unit in consistent_hash",
                ch.units
                    .iter()
                    .enumerate()
                    .map(|(ui, u)| (format!("{base}/consistent_hash/units/{ui}"), u.as_str())),
            );
        }
        match &rule.default {
            Some(d) => {
                c.target(&ptr(&base, "default"), d);
            }
            None if p.missing_key == MissingKey::Default => c.error(
                ptr(&base, "default"),
                "missing_key is {\"action\":\"default\"}, so every rule needs a default unit",
            ),
            None => {}
        }
        let empty =
            rule.exact.is_empty() && rule.ranges.is_empty() && rule.consistent_hash.is_none();
        if empty && rule.default.is_none() {
            c.warn(
                base,
                "rule maps nothing: no exact, ranges, consistent_hash or default",
            );
        }
    }
}

/// JSON pointer of entry `i` of a rule's `field` lists: "<rule>/<field>/<item>/<list>/<n>".
#[inline(never)]
fn entry_path(base: &str, field: &str, list: &str, texts: &ItemTexts, i: usize) -> String {
    let (item, n) = texts.item_of(i);
    format!("{base}/{field}/{item}/{list}/{n}")
}

/// Exact values: none empty, none listed twice in the rule. Fills the rule's exact table.
/// `numeric`: the rule's key is a number, so values are compared as canonical numbers.
fn check_exact(c: &mut Check, ri: usize, base: &str, rule: &MappingRule, numeric: bool) {
    let Some(prepared) = c.rules.get_mut(ri) else {
        return;
    };
    let mut table = std::mem::take(&mut prepared.exact);
    table.numeric = numeric;
    for (ii, item) in rule.exact.iter().enumerate() {
        c.target(&format!("{base}/exact/{ii}/unit"), &item.unit);
        let (start, end) = table.values.bounds(ii);
        if start == end {
            c.warn(
                format!("{base}/exact/{ii}/values"),
                "empty list: matches nothing",
            );
        }
        for i in start..end {
            let path = |t: &ExactTable| entry_path(base, "exact", "values", &t.values, i);
            if table
                .values
                .texts
                .get(i)
                .is_none_or(|v| v.trim().is_empty())
            {
                c.error(
                    path(&table),
                    "expected a non-empty value (keys are trimmed, so it could never match)",
                );
            } else if let Some(first) = table.insert(i) {
                let first = entry_path(base, "exact", "values", &table.values, first);
                let t = table.values.texts.get(i).unwrap_or_default().trim();
                c.error(
                    path(&table),
                    format!("duplicate exact value \"{t}\" (first listed at {first})"),
                );
            }
        }
    }
    if let Some(prepared) = c.rules.get_mut(ri) {
        prepared.exact = table;
    }
}

/// Range syntax, domain, overlaps (across items too) and, for `total`, gaps. Leaves the
/// rule's spans sorted for compilation.
fn check_ranges(
    c: &mut Check,
    ri: usize,
    base: &str,
    rule: &MappingRule,
    transform: Option<&Transform>,
) {
    let dom = transform.map(domain);
    if let Some(None) = dom {
        if !rule.ranges.is_empty() || rule.total {
            let path = if rule.ranges.is_empty() {
                ptr(base, "total")
            } else {
                ptr(base, "ranges")
            };
            c.error(
                path,
                format!("ranges need a numeric key (transform number, modulo or hash); key \"{}\" is identity", rule.key),
            );
            return;
        }
    }
    let dom = dom.flatten();
    let Some(prepared) = c.rules.get_mut(ri) else {
        return;
    };
    let texts = std::mem::take(&mut prepared.range_texts);
    let mut spans: Vec<(Span, usize)> = Vec::with_capacity(texts.texts.len());
    // The path of entry `i`, built only for a message.
    let path = |i: usize| entry_path(base, "ranges", "ranges", &texts, i);
    for (ii, item) in rule.ranges.iter().enumerate() {
        c.target(&format!("{base}/ranges/{ii}/unit"), &item.unit);
        let (start, end) = texts.bounds(ii);
        if start == end {
            c.warn(
                format!("{base}/ranges/{ii}/ranges"),
                "empty list: matches nothing",
            );
        }
        for (i, s) in texts.item(ii) {
            match parse_span(s) {
                Err(e) => c.error(path(i), e),
                Ok(span) => {
                    if let Some(d) = dom {
                        if span.hi > d.hi {
                            c.error(
                                path(i),
                                format!(
                                    "range \"{s}\" is outside the key's values {}~{}",
                                    d.lo, d.hi
                                ),
                            );
                        }
                    }
                    spans.push((span, i));
                }
            }
        }
    }
    sort_spans(&mut spans);
    // Each range against the one reaching furthest so far.
    let mut reach: Option<(Span, usize)> = None;
    for &(cur, i) in &spans {
        if let Some((prev, at)) = reach {
            if cur.lo <= prev.hi {
                c.error(
                    path(i),
                    format!(
                        "range {}~{} overlaps {}~{} at {}",
                        cur.lo,
                        cur.hi,
                        prev.lo,
                        prev.hi,
                        path(at)
                    ),
                );
            }
        }
        if reach.is_none_or(|(r, _)| cur.hi > r.hi) {
            reach = Some((cur, i));
        }
    }
    if rule.total {
        if let Some(d) = dom {
            let holes = gaps_sorted(d, spans.iter().map(|(s, _)| *s));
            if !holes.is_empty() {
                let shown: Vec<String> = holes
                    .iter()
                    .take(5)
                    .map(|h| format!("{}~{}", h.lo, h.hi))
                    .collect();
                let more = if holes.len() > 5 {
                    format!(" and {} more", holes.len() - 5)
                } else {
                    String::new()
                };
                c.error(
                    ptr(base, "ranges"),
                    format!(
                        "total is true but ranges leave gaps: {}{more}; expected coverage of {}~{}",
                        super::joined(&shown, ", "),
                        d.lo,
                        d.hi
                    ),
                );
            }
        }
    }
    if let Some(prepared) = c.rules.get_mut(ri) {
        prepared.range_texts = texts;
        prepared.spans = spans;
    }
}
