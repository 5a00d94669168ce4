//! One decision, step by step, for tools (`unitgate explain`); the proxy modules never call it.
//!
//! Each stage's outcome is the pipeline's own: `decide_stages` run with the stages up to that
//! one. Around each outcome, the details an operator asks about are read from the same compiled
//! tables: the API class, the source a key came from, its transform, the range or list that
//! held it, and the gray rule with the user's bucket.

use crate::compile::{CRule, CompiledPolicy};
use crate::decision::{class_str, Decision, Reason};
use crate::gray::{gray_bucket, gray_threshold};
use crate::keys::{transform_value, Extractor, KeyRead, KeyValue};
use crate::model::{ApiKind, KeySource, ShardKey, Transform};
use crate::pipeline::{decide_stages, Stages};
use crate::request::RequestView;
use crate::{Ingress, RuntimeState};
use serde::Serialize;

/// The steps of one decision.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trace {
    /// API class entry that matched (None: `default_api`).
    pub api: Option<String>,
    pub class: &'static str,
    pub rule: Option<String>,
    pub key: Option<KeyTrace>,
    /// How the rule mapped the key, e.g. "range 0~499 -> uc".
    pub mapping: Option<String>,
    /// After shard routing.
    pub shard: Outcome,
    pub gray: Option<GrayTrace>,
    /// After gray release.
    pub after_gray: Outcome,
    /// After fault isolation: the decision.
    pub result: Outcome,
}

/// Where the rule's key came from and what its transform made of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyTrace {
    pub name: String,
    /// E.g. "query city_id"; None when no source had a value.
    pub source: Option<String>,
    pub raw: Option<String>,
    pub transform: String,
    /// The transformed value, or "missing", "malformed", "text" (identity), "body not read".
    pub value: String,
}

/// The first gray rule that matched the request, and the user's bucket in it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GrayTrace {
    pub rule: String,
    pub sticky_key: String,
    pub sticky_value: Option<String>,
    /// 0..10000; None without a sticky value.
    pub bucket: Option<u32>,
    /// Buckets below it are in gray: percent x 100.
    pub threshold: u32,
    pub percent: f64,
    pub target: String,
    pub verdict: &'static str,
}

/// A stage's outcome: a unit, or a local reply.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    pub unit: Option<String>,
    pub status: Option<u16>,
    pub reason: &'static str,
}

impl Outcome {
    fn of(d: &Decision) -> Outcome {
        match d {
            Decision::Route(r) => Outcome {
                unit: Some(r.unit.to_string()),
                status: None,
                reason: r.reason.as_str(),
            },
            Decision::Reply(l) => Outcome {
                unit: None,
                status: Some(l.status),
                reason: l.reason.as_str(),
            },
            Decision::NeedBody => Outcome {
                unit: None,
                status: None,
                reason: "need_body",
            },
        }
    }
}

/// Explain `decide(p, ingress, req, state)` step by step.
pub fn trace(
    p: &CompiledPolicy,
    ingress: &Ingress,
    req: &RequestView,
    state: &RuntimeState,
) -> Trace {
    let stage = |gray, isolation| {
        Outcome::of(&decide_stages(
            p,
            ingress,
            req,
            state,
            Stages { gray, isolation },
        ))
    };
    let class = p.classify(req);
    let x = Extractor::new(req);
    let crule = class
        .rule
        .and_then(|i| Some((p.rules.get(i)?, p.src.rules.get(i)?)));
    let (key, mapping) = match crule {
        Some((r, src)) => key_and_mapping(p, &x, r, &src.name),
        None => (None, None),
    };
    let api = class.api.map(str::to_string);
    Trace {
        gray: (class.kind == ApiKind::Core)
            .then(|| gray(p, &x, api.as_deref()))
            .flatten(),
        api,
        class: class_str(class.kind),
        rule: crule.map(|(_, s)| s.name.clone()),
        key,
        mapping,
        shard: stage(false, false),
        after_gray: stage(true, false),
        result: stage(true, true),
    }
}

fn source_label(s: &KeySource) -> String {
    match s {
        KeySource::Header(h) => format!("header {h}"),
        KeySource::Query(q) => format!("query {q}"),
        KeySource::Cookie(c) => format!("cookie {c}"),
        KeySource::PathSegment(i) => format!("path segment {i}"),
        KeySource::Body(ptr) => format!("body {ptr}"),
    }
}

fn transform_label(t: &Transform) -> String {
    match t {
        Transform::Identity => "identity".into(),
        Transform::Number => "number".into(),
        Transform::Modulo(n) => format!("modulo {n}"),
        Transform::Hash(n) => format!("hash {n}"),
    }
}

fn unit_name(p: &CompiledPolicy, i: usize) -> String {
    p.unit_at(i).map_or_else(|| "?".into(), |u| u.name.clone())
}

fn key_and_mapping(
    p: &CompiledPolicy,
    x: &Extractor,
    r: &CRule,
    rule: &str,
) -> (Option<KeyTrace>, Option<String>) {
    let Some(k): Option<&ShardKey> = p.src.keys.get(r.key) else {
        return (None, None);
    };
    let (read, at) = x.read_from(k);
    let source = at.and_then(|i| k.sources.get(i)).map(source_label);
    let raw = match &read {
        KeyRead::Value(v) => Some(v.to_string()),
        _ => None,
    };
    let value = match (
        &read,
        raw.as_deref().map(|v| transform_value(&k.transform, v)),
    ) {
        (KeyRead::NeedBody, _) => "body not read".into(),
        (_, Some(KeyValue::Number(n))) => n.to_string(),
        (_, Some(KeyValue::Text)) => "text".into(),
        (_, Some(KeyValue::Malformed)) => "malformed".into(),
        (_, None) => "missing".into(),
    };
    let mapping = raw.as_deref().map(|v| match r.map(p, &k.transform, v) {
        Some((u, Reason::KeyRange)) => {
            let n = match transform_value(&k.transform, v) {
                KeyValue::Number(n) => Some(n),
                _ => None,
            };
            let span = r
                .ranges
                .iter()
                .find(|(s, _)| n.is_some_and(|n| s.lo <= n && n <= s.hi));
            match span {
                Some((s, _)) => format!(
                    "rule {rule}: range {}~{} -> {}",
                    s.lo,
                    s.hi,
                    unit_name(p, u)
                ),
                None => format!("rule {rule}: range -> {}", unit_name(p, u)),
            }
        }
        Some((u, Reason::KeyExact)) => {
            format!("rule {rule}: exact value {v} -> {}", unit_name(p, u))
        }
        Some((u, Reason::KeyHash)) => {
            format!("rule {rule}: consistent hash -> {}", unit_name(p, u))
        }
        Some((u, _)) => format!(
            "rule {rule}: no range or list holds it, default -> {}",
            unit_name(p, u)
        ),
        None => format!("rule {rule}: no unit for it; missing_key applies"),
    });
    let key = KeyTrace {
        name: k.name.clone(),
        source,
        raw,
        transform: transform_label(&k.transform),
        value,
    };
    (Some(key), mapping)
}

/// The first gray rule whose APIs and `when` match, with the user's bucket in it.
fn gray(p: &CompiledPolicy, x: &Extractor, api: Option<&str>) -> Option<GrayTrace> {
    let read = |key: usize| match p.src.keys.get(key).map(|k| x.read(k)) {
        Some(KeyRead::Value(v)) => Some(v.into_owned()),
        _ => None,
    };
    let (i, g) = p.gray.iter().enumerate().find(|(_, g)| {
        let api_ok = match api {
            Some(a) => g.apis.is_empty() || g.apis.contains_key(a),
            None => g.apis.is_empty(),
        };
        let when_ok = match &g.when {
            Some((key, values)) => read(*key).is_some_and(|v| values.contains_key(&v)),
            None => true,
        };
        api_ok && when_ok
    })?;
    let sticky_value = read(g.sticky).or_else(|| {
        let cookie = g.assign_cookie.as_deref()?;
        x.req
            .cookie(cookie)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    });
    let bucket = sticky_value.as_deref().map(|v| gray_bucket(&g.salt, v));
    let threshold = gray_threshold(g.percent);
    let verdict = match sticky_value.as_deref() {
        None => "no sticky value: stays",
        Some(v) if g.deny.contains_key(v) => "deny list: stays",
        Some(v) if g.allow.contains_key(v) => "allow list: moves to the target",
        _ if bucket.is_some_and(|b| b < threshold) => {
            "bucket below the threshold: moves to the target"
        }
        _ => "bucket at or above the threshold: stays",
    };
    Some(GrayTrace {
        rule: p
            .src
            .gray
            .get(i)
            .map_or_else(String::new, |s| s.name.clone()),
        sticky_key: p
            .src
            .keys
            .get(g.sticky)
            .map_or_else(String::new, |k| k.name.clone()),
        sticky_value,
        bucket,
        threshold,
        percent: g.percent,
        target: unit_name(p, g.target),
        verdict,
    })
}

// === text ===

fn outcome_text(o: &Outcome) -> String {
    match (&o.unit, o.status) {
        (Some(u), _) => format!("{u} ({})", o.reason),
        (None, Some(s)) => format!("reply {s} ({})", o.reason),
        (None, None) => o.reason.to_string(),
    }
}

/// The steps, one line each, in the order the pipeline takes them: what `unitgate explain`
/// and the playground print.
pub fn narrate(t: &Trace) -> String {
    let mut out = String::new();
    let mut line = |step: &str, text: String| out.push_str(&format!("{step:<10} {text}\n"));
    let api = t.api.as_deref().unwrap_or("(default_api)");
    let rule = t
        .rule
        .as_deref()
        .map_or(String::new(), |r| format!(", rule {r}"));
    line("api", format!("{api}: class {}{rule}", t.class));
    if let Some(k) = &t.key {
        let from = k
            .source
            .as_deref()
            .map_or("no source had a value".to_string(), |s| format!("from {s}"));
        let raw = k.raw.as_deref().unwrap_or("-");
        line(
            "key",
            format!(
                "{} = {raw} {from}; transform {} -> {}",
                k.name, k.transform, k.value
            ),
        );
    }
    if let Some(m) = &t.mapping {
        line("mapping", m.clone());
    }
    line("shard", outcome_text(&t.shard));
    match &t.gray {
        Some(g) => {
            let who = g.sticky_value.as_deref().unwrap_or("-");
            let bucket = g.bucket.map_or("-".to_string(), |b| b.to_string());
            line(
                "gray",
                format!(
                    "rule {}: {}={who}, bucket {bucket} vs threshold {} ({}%), target {}: {}",
                    g.rule, g.sticky_key, g.threshold, g.percent, g.target, g.verdict
                ),
            );
        }
        None => line("gray", "no gray rule matches".into()),
    }
    line("gray ->", outcome_text(&t.after_gray));
    line("isolation", outcome_text(&t.result));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decide, load, FailMode};

    fn example() -> CompiledPolicy {
        let text = include_str!("../../../policies/examples/dual-cloud-city.json");
        match load(text) {
            Ok(l) => l.policy,
            Err(r) => panic!("{r}"),
        }
    }

    fn ingress() -> Ingress {
        Ingress {
            local_unit: "uc".into(),
            fail_mode: FailMode::Closed,
            secret: b"k".to_vec(),
            stamp_max_age_ms: 30_000,
            remote_upstreams: Default::default(),
            tester_header: crate::DEFAULT_TESTER_HEADER.into(),
        }
    }

    fn req(path: &str, headers: &[(&str, &str)]) -> RequestView<'static> {
        let h = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RequestView::new("GET", path, h).with_body(crate::Body::Absent)
    }

    #[test]
    fn range_hit_from_the_query() {
        let t = trace(
            &example(),
            &ingress(),
            &req("/api/orders?city_id=600", &[]),
            &RuntimeState::default(),
        );
        assert_eq!(
            (t.api.as_deref(), t.class, t.rule.as_deref()),
            (Some("orders"), "core", Some("by-city"))
        );
        let k = t.key.unwrap();
        assert_eq!(
            (k.source.as_deref(), k.raw.as_deref(), k.value.as_str()),
            (Some("query city_id"), Some("600"), "600")
        );
        assert_eq!(
            t.mapping.as_deref(),
            Some("rule by-city: range 500~999 -> jc")
        );
        assert_eq!(
            (t.result.unit.as_deref(), t.result.reason),
            (Some("jc"), "key_range")
        );
        assert_eq!(t.gray, None, "the gray rule is for city 42 only");
    }

    #[test]
    fn gray_verdicts_agree_with_decide() {
        let (p, i, s) = (example(), ingress(), RuntimeState::default());
        let mut moved = 0;
        for n in 0..200 {
            let user = format!("u{n}");
            let r = req("/api/orders?city_id=42", &[("x-user-id", &user)]);
            let t = trace(&p, &i, &r, &s);
            let g = t.gray.unwrap();
            assert_eq!(g.sticky_value.as_deref(), Some(user.as_str()));
            let says_moves = g.verdict.contains("moves");
            let Decision::Route(route) = decide(&p, &i, &r, &s) else {
                panic!("a route")
            };
            assert_eq!(says_moves, route.reason == Reason::Gray, "{user}: {g:?}");
            assert_eq!(t.after_gray.reason, route.reason.as_str());
            moved += usize::from(says_moves);
        }
        assert!((5..40).contains(&moved), "about 10% of 200: {moved}");
    }
}
