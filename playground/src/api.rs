//! The playground's operations in plain Rust, over `unitgate-core` only: what the JavaScript
//! API (lib.rs) exposes, testable without a browser. Each answer is a serde value that the
//! glue hands to JavaScript as an object.

use crate::positions::{offset_of, places};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use unitgate_core::decision::class_str;
use unitgate_core::ranges::parse_span;
use unitgate_core::time::parse_rfc3339_utc;
use unitgate_core::trace::{narrate, trace, Trace};
use unitgate_core::{
    decide, diff_policies, gray_bucket, gray_threshold, load, pointer_range, Decision, FailMode,
    Ingress, Issue, Loaded, PolicyDiff, Report, RequestParts, RuntimeState, DEFAULT_TESTER_HEADER,
};

/// How many exact values of one unit the shard map lists (the count is always whole).
pub const EXACT_SAMPLE: usize = 20;

// === validation ===

/// One error or warning: its JSON pointer, its message and where it lies in the text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// RFC 6901 pointer; "" for the whole document.
    pub pointer: String,
    pub message: String,
    /// What `unitgate validate` prints after "error " or "warning ".
    pub text: String,
    /// UTF-16 offsets of the value the pointer names (or of the deepest part that exists).
    pub start: usize,
    pub end: usize,
    /// 1-based.
    pub line: usize,
    pub column: usize,
}

/// Every finding at once, as `unitgate validate` reports them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Validation {
    pub valid: bool,
    pub version: Option<String>,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

/// A policy text, loaded once: every view of the page reads the same load.
pub struct Session {
    text: String,
    loaded: Result<Loaded, Report>,
}

impl Session {
    pub fn new(text: &str) -> Session {
        Session {
            text: text.to_string(),
            loaded: load(text),
        }
    }

    /// The compiled policy, or an error naming the first problem.
    fn policy(&self) -> Result<&Loaded, String> {
        self.loaded.as_ref().map_err(|r| {
            let first = r.errors.first().map(|e| e.to_string()).unwrap_or_default();
            format!(
                "the policy is not valid ({} errors; first: error {first})",
                r.errors.len()
            )
        })
    }

    pub fn validation(&self) -> Validation {
        let (version, errors, warnings) = match &self.loaded {
            Ok(l) => (
                Some(l.policy.version().to_string()),
                &[][..],
                &l.warnings[..],
            ),
            Err(r) => (None, &r.errors[..], &r.warnings[..]),
        };
        Validation {
            valid: version.is_some(),
            version,
            errors: self.findings(errors),
            warnings: self.findings(warnings),
        }
    }

    fn findings(&self, issues: &[Issue]) -> Vec<Finding> {
        let text = &self.text;
        let ranges: Vec<_> = issues
            .iter()
            .map(|i| match syntax_error_at(text, i) {
                Some(b) => b..b,
                None => pointer_range(text, &i.path).unwrap_or(0..0),
            })
            .collect();
        issues
            .iter()
            .zip(places(text, &ranges))
            .map(|(i, p)| Finding {
                pointer: i.path.clone(),
                message: i.message.clone(),
                text: i.to_string(),
                start: p.start,
                end: p.end,
                line: p.line,
                column: p.column,
            })
            .collect()
    }
}

/// A syntax error has no pointer: serde_json's line and column say where it is.
fn syntax_error_at(text: &str, issue: &Issue) -> Option<usize> {
    if !issue.path.is_empty() || !issue.message.starts_with("not JSON") {
        return None;
    }
    let e = serde_json::from_str::<serde::de::IgnoredAny>(text).err()?;
    Some(offset_of(text, e.line(), e.column()))
}

// === explain ===

/// A request and the ingress it arrives at, as `unitgate explain` takes them.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ExplainRequest {
    /// Default GET.
    pub method: String,
    /// http://host/path?query, or just /path?query.
    pub url: String,
    /// "Name: value" each.
    pub headers: Vec<String>,
    /// "a=1; b=2" each (one `cookie` header each).
    pub cookies: Vec<String>,
    pub body: Option<String>,
    /// Default: the policy's center unit.
    pub local_unit: Option<String>,
    /// "open" or "closed" (default).
    pub fail_mode: Option<String>,
    /// Clock for write-forbidden windows (RFC 3339 UTC); default: `now_ms`.
    pub now: Option<String>,
}

/// The decision, and its steps as `unitgate explain` prints them.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explained {
    /// The step-by-step text of `unitgate explain`, line for line.
    pub steps: String,
    /// "route", "reply" or "need_body".
    pub outcome: &'static str,
    pub unit: Option<String>,
    pub upstream: Option<String>,
    pub reason: &'static str,
    pub api: Option<String>,
    pub class: Option<&'static str>,
    pub crossed: Option<bool>,
    pub status: Option<u16>,
    /// Names of the headers added to the upstream request (values hold signatures).
    pub request_headers: Vec<String>,
    pub local_unit: String,
    pub policy_version: String,
    pub trace: Trace,
}

impl Session {
    /// Decide one request at one ingress, and explain it. `now_ms` is the clock when the
    /// request gives no `now`.
    pub fn explain(&self, r: &ExplainRequest, now_ms: u64) -> Result<Explained, String> {
        let p = &self.policy()?.policy;
        let local_unit = match (&r.local_unit, p.center_unit()) {
            (Some(u), _) if !u.is_empty() => u.clone(),
            (_, Some(c)) => c.name.clone(),
            _ => return Err("the policy has no center unit; give a local unit".into()),
        };
        let fail_mode = match r.fail_mode.as_deref() {
            None | Some("closed") => FailMode::Closed,
            Some("open") => FailMode::Open,
            Some(m) => return Err(format!("fail mode \"{m}\" is not open or closed")),
        };
        let ingress = Ingress {
            local_unit,
            fail_mode,
            secret: Vec::new(),
            stamp_max_age_ms: 30_000,
            remote_upstreams: BTreeMap::new(),
            tester_header: DEFAULT_TESTER_HEADER.to_string(),
        };
        if let Err(issues) = p.check_ingress(&ingress) {
            let text: Vec<String> = issues.iter().map(|i| format!("error {i}")).collect();
            return Err(text.join("; "));
        }
        let req = RequestParts {
            method: &r.method,
            url: &r.url,
            headers: &r.headers,
            cookies: &r.cookies,
            body: r.body.as_deref().map(str::as_bytes),
        }
        .view()?;
        let now_ms = match &r.now {
            Some(t) => parse_rfc3339_utc(t).map_err(|e| format!("now: {e}"))?,
            None => now_ms,
        };
        let state = RuntimeState {
            now_ms,
            ..RuntimeState::default()
        };
        let steps = trace(p, &ingress, &req, &state);
        let mut out = Explained {
            steps: narrate(&steps),
            outcome: "need_body",
            unit: None,
            upstream: None,
            reason: "need_body",
            api: None,
            class: None,
            crossed: None,
            status: None,
            request_headers: Vec::new(),
            local_unit: ingress.local_unit.clone(),
            policy_version: p.version().to_string(),
            trace: steps,
        };
        match decide(p, &ingress, &req, &state) {
            Decision::Route(route) => {
                out.outcome = "route";
                out.reason = route.reason.as_str();
                out.class = Some(class_str(route.class));
                out.crossed = Some(route.crossed);
                out.request_headers = route.request_headers.into_iter().map(|h| h.0).collect();
                out.unit = Some(route.unit.into_owned());
                out.upstream = Some(route.upstream.into_owned());
                out.api = route.api.map(Cow::into_owned);
            }
            Decision::Reply(reply) => {
                out.outcome = "reply";
                out.reason = reply.reason.as_str();
                out.status = Some(reply.status);
            }
            Decision::NeedBody => {}
        }
        Ok(out)
    }
}

// === shard map ===

/// Who owns which keys, per rule and unit, and which API goes where.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardMap {
    pub units: Vec<MapUnit>,
    pub rules: Vec<MapRule>,
    pub apis: Vec<MapApi>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MapUnit {
    pub name: String,
    pub role: &'static str,
    pub cloud: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MapRule {
    pub name: String,
    pub key: String,
    /// The key's transform as the policy writes it: "number", {"modulo": 100}, ...
    pub transform: serde_json::Value,
    /// lo..=hi that `spans` are drawn over: 0..N-1 for modulo and hash, else their hull.
    pub domain: Option<(u64, u64)>,
    /// Key ranges, sorted, neighbours of one unit merged.
    pub spans: Vec<MapSpan>,
    /// Exact values per unit: how many, and the first few.
    pub exact: Vec<MapExact>,
    pub consistent_hash: Vec<String>,
    pub default: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MapSpan {
    pub lo: u64,
    pub hi: u64,
    pub unit: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MapExact {
    pub unit: String,
    pub count: usize,
    pub sample: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MapApi {
    /// "(default_api)" for the fallback class.
    pub name: String,
    /// E.g. "prefix /api/", "exact /health GET".
    pub matcher: String,
    pub class: &'static str,
    pub rule: Option<String>,
}

impl Session {
    pub fn shard_map(&self) -> Result<ShardMap, String> {
        let p = self.policy()?.policy.source();
        let units = p
            .units
            .iter()
            .map(|u| MapUnit {
                name: u.name.clone(),
                role: match u.role {
                    unitgate_core::Role::Center => "center",
                    unitgate_core::Role::Normal => "normal",
                },
                cloud: u.cloud.clone(),
            })
            .collect();
        let rules = p
            .rules
            .iter()
            .map(|r| {
                let transform = p
                    .keys
                    .iter()
                    .find(|k| k.name == r.key)
                    .map(|k| &k.transform);
                let spans = merged_spans(r);
                let domain = match transform {
                    Some(
                        unitgate_core::Transform::Modulo(n) | unitgate_core::Transform::Hash(n),
                    ) => Some((0, n.saturating_sub(1))),
                    _ => spans.first().zip(spans.last()).map(|(a, b)| (a.lo, b.hi)),
                };
                MapRule {
                    name: r.name.clone(),
                    key: r.key.clone(),
                    transform: transform
                        .and_then(|t| serde_json::to_value(t).ok())
                        .unwrap_or_default(),
                    domain,
                    spans,
                    exact: r
                        .exact
                        .iter()
                        .map(|e| MapExact {
                            unit: e.unit.clone(),
                            count: e.values.len(),
                            sample: e.values.iter().take(EXACT_SAMPLE).cloned().collect(),
                        })
                        .collect(),
                    consistent_hash: r
                        .consistent_hash
                        .as_ref()
                        .map(|c| c.units.clone())
                        .unwrap_or_default(),
                    default: r.default.clone(),
                }
            })
            .collect();
        let mut apis: Vec<MapApi> = p
            .apis
            .iter()
            .map(|a| {
                let m = &a.matcher;
                let path = [
                    ("prefix", &m.prefix),
                    ("exact", &m.exact),
                    ("regex", &m.regex),
                ]
                .into_iter()
                .find_map(|(kind, v)| v.as_ref().map(|v| format!("{kind} {v}")))
                .unwrap_or_default();
                let matcher = std::iter::once(path)
                    .chain(m.methods.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(" ");
                MapApi {
                    name: a.name.clone(),
                    matcher,
                    class: class_str(a.class),
                    rule: a.rule.clone(),
                }
            })
            .collect();
        apis.push(MapApi {
            name: "(default_api)".into(),
            matcher: "anything else".into(),
            class: class_str(p.default_api.class),
            rule: p.default_api.rule.clone(),
        });
        Ok(ShardMap { units, rules, apis })
    }
}

/// A rule's ranges, sorted (validation has refused overlaps), touching spans of one unit joined.
fn merged_spans(r: &unitgate_core::MappingRule) -> Vec<MapSpan> {
    let mut all: Vec<MapSpan> = r
        .ranges
        .iter()
        .flat_map(|item| {
            item.ranges.iter().filter_map(|s| {
                let s = parse_span(s).ok()?;
                Some(MapSpan {
                    lo: s.lo,
                    hi: s.hi,
                    unit: item.unit.clone(),
                })
            })
        })
        .collect();
    all.sort_by_key(|s| (s.lo, s.hi));
    let mut out: Vec<MapSpan> = Vec::with_capacity(all.len());
    for s in all {
        match out.last_mut() {
            Some(last) if last.unit == s.unit && last.hi.checked_add(1) == Some(s.lo) => {
                last.hi = s.hi
            }
            _ => out.push(s),
        }
    }
    out
}

// === gray preview ===

/// Who one gray rule moves at one percent, for a sample of users.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrayPreview {
    pub rule: String,
    pub sticky_key: String,
    pub target: String,
    pub percent: f64,
    /// Buckets below it move: percent x 100.
    pub threshold: u32,
    pub users: Vec<GrayUser>,
    /// How many of `users` move.
    pub moved: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GrayUser {
    pub id: String,
    /// 0..10000, sticky: the same id always has the same bucket.
    pub bucket: u32,
    pub moves: bool,
    /// "allow list", "deny list", "bucket" (below or at/above the threshold).
    pub why: &'static str,
}

impl Session {
    /// The gray rule's names, in order.
    pub fn gray_rules(&self) -> Result<Vec<String>, String> {
        let p = &self.policy()?.policy;
        Ok(p.gray_rules().iter().map(|g| g.name.clone()).collect())
    }

    /// At `percent` (the rule's own when None), which of `users` the rule moves to its target:
    /// the verdict the gray stage gives (deny list, allow list, then bucket < threshold).
    pub fn gray_preview(
        &self,
        rule: &str,
        percent: Option<f64>,
        users: &[String],
    ) -> Result<GrayPreview, String> {
        let p = &self.policy()?.policy;
        let g = p
            .gray_rules()
            .iter()
            .find(|g| g.name == rule)
            .ok_or_else(|| format!("no gray rule \"{rule}\""))?;
        let percent = percent.unwrap_or(g.percent);
        let salt = g.salt.as_deref().unwrap_or(&g.name);
        let threshold = gray_threshold(percent);
        let allow: BTreeSet<&str> = g.allow.iter().map(String::as_str).collect();
        let deny: BTreeSet<&str> = g.deny.iter().map(String::as_str).collect();
        let users: Vec<GrayUser> = users
            .iter()
            .map(|id| id.trim())
            .filter(|id| !id.is_empty())
            .map(|id| {
                let bucket = gray_bucket(salt, id);
                let (moves, why) = if deny.contains(id) {
                    (false, "deny list")
                } else if allow.contains(id) {
                    (true, "allow list")
                } else {
                    (bucket < threshold, "bucket")
                };
                GrayUser {
                    id: id.to_string(),
                    bucket,
                    moves,
                    why,
                }
            })
            .collect();
        Ok(GrayPreview {
            rule: g.name.clone(),
            sticky_key: g.sticky_key.clone(),
            target: g.target.clone(),
            percent,
            threshold,
            moved: users.iter().filter(|u| u.moves).count(),
            users,
        })
    }
}

// === diff ===

impl Session {
    /// What changes from this policy to `to`, as `unitgate diff` computes it.
    pub fn diff(&self, to: &Session) -> Result<PolicyDiff, String> {
        let a = self.policy()?;
        let b = to.policy().map_err(|e| format!("second policy: {e}"))?;
        Ok(diff_policies(&a.policy, &b.policy))
    }
}
