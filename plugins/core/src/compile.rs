//! Compilation of a validated policy into lookup structures: names -> indexes in hash maps,
//! exact lists in compact hash tables (O(1)), ranges in sorted tables (binary search),
//! compiled regexes.

use crate::keys::{canonical_number, is_numeric};
use crate::model::*;
use crate::ranges::{parse_span, Span, SpanTable};
use crate::report::{ptr, Issue, Report};
use crate::tables::{ExactTable, ItemTexts, RuleLists};
use crate::time::parse_rfc3339_utc;
use crate::Ingress;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::OnceLock;
use xxhash_rust::xxh64::Xxh64;

/// A policy ready for `decide`. Built by `load`.
#[derive(Clone, Debug)]
pub struct CompiledPolicy {
    /// The document without its rules' lists (those live in `rules`, compactly).
    pub(crate) src: Policy,
    /// The whole document, rebuilt on first use by `source()` (tools and tests; never the
    /// request path, so the modules never pay for it).
    full: OnceLock<Policy>,
    pub(crate) unit_index: NameMap,
    pub(crate) center: Option<usize>,
    pub(crate) key_index: NameMap,
    pub(crate) rules: Vec<CRule>,
    pub(crate) rule_index: NameMap,
    pub(crate) apis: Vec<CApi>,
    pub(crate) default_api: (ApiKind, Option<usize>),
    pub(crate) gray: Vec<CGray>,
    pub(crate) iso: CIsolation,
}

#[derive(Clone, Debug)]
pub(crate) struct CRule {
    pub key: usize,
    /// Exact values -> entry; the entry's item gives the unit.
    pub exact: ExactTable,
    /// Unit of each `exact` item.
    pub exact_units: Vec<usize>,
    pub ranges: SpanTable<usize>,
    /// The `ranges` strings as written, for `source()`.
    pub range_texts: ItemTexts,
    pub hash: Vec<usize>,
    pub default: Option<usize>,
}

/// What validation built for one rule, handed to compilation instead of being built twice:
/// its exact table (filled, first value wins) and its spans with their entry index, sorted.
#[derive(Debug, Default)]
pub(crate) struct PreparedRule {
    pub exact: ExactTable,
    pub range_texts: ItemTexts,
    pub spans: Vec<(Span, usize)>,
}

impl PreparedRule {
    pub fn new(lists: RuleLists) -> PreparedRule {
        PreparedRule {
            exact: ExactTable::new(lists.exact),
            range_texts: lists.ranges,
            spans: Vec::new(),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum PathMatch {
    Prefix(String),
    Exact(String),
    Regex(regex_lite::Regex),
}

#[derive(Clone, Debug)]
pub(crate) struct CApi {
    pub name: String,
    pub path: PathMatch,
    pub methods: Vec<String>,
    pub class: ApiKind,
    pub rule: Option<usize>,
}

#[derive(Clone, Debug)]
pub(crate) struct CGray {
    /// Empty: every core API.
    pub apis: NameSet,
    pub when: Option<(usize, NameSet)>,
    pub sticky: usize,
    pub percent: f64,
    pub target: usize,
    pub salt: String,
    pub allow: NameSet,
    pub deny: NameSet,
    pub assign_cookie: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct CIsolation {
    // Unit lists are short: Vecs, so that the wasm modules carry fewer hash map instantiations.
    pub down: Vec<usize>,
    /// (from, to) unit pairs.
    pub failover: Vec<(usize, usize)>,
    /// (api name, units down for it).
    pub switches: Vec<(String, Vec<usize>)>,
    pub forbid: Vec<CForbid>,
    pub breaker: Option<BreakerConfig>,
}

impl CIsolation {
    /// The unit that takes `unit`'s traffic.
    pub fn failover_of(&self, unit: usize) -> Option<usize> {
        self.failover
            .iter()
            .find(|(from, _)| *from == unit)
            .map(|(_, to)| *to)
    }

    /// Some API switch takes `unit` down for `api`.
    pub fn switched_off(&self, api: &str, unit: usize) -> bool {
        self.switches
            .iter()
            .any(|(a, units)| a == api && units.contains(&unit))
    }
}

#[derive(Clone, Debug)]
pub(crate) struct CForbid {
    pub name: String,
    pub units: Vec<usize>,
    pub apis: NameSet,
    /// Upper-case; never empty (defaults filled in).
    pub methods: Vec<String>,
    pub key: Option<usize>,
    pub ranges: SpanTable<()>,
    pub values: NameSet,
    pub until_ms: Option<u64>,
    pub retry_after_s: Option<u32>,
    /// Forbid a write whose key cannot be read (missing or malformed).
    pub forbid_unreadable: bool,
}

/// Name -> position, the one hash table type of the core (one instantiation in the wasm
/// modules). Hashed with xxh64 (seed 0), which the key transforms and gray buckets link
/// anyway: every key comes from the policy, never from a request, so no per-map random keys
/// are needed, and the modules carry no SipHash.
pub(crate) type NameMap = HashMap<String, usize, BuildHasherDefault<Xxh64>>;

/// A set of names, stored as name -> first position: the same type as the name indexes.
pub(crate) type NameSet = NameMap;

pub(crate) fn name_set(names: impl Iterator<Item = String>) -> NameSet {
    let mut set = NameSet::default();
    for (i, name) in names.enumerate() {
        set.entry(name).or_insert(i);
    }
    set
}

/// Values of key `key` (gray `when`, a window), as requests' values are compared with them:
/// trimmed, and canonical numbers for a number key.
fn key_values(keys: &[ShardKey], key: usize, values: &[String]) -> NameSet {
    let numeric = keys.get(key).is_some_and(|k| is_numeric(&k.transform));
    name_set(values.iter().map(|v| {
        let t = v.trim();
        match numeric {
            true => canonical_number(t).unwrap_or(t).to_string(),
            false => t.to_string(),
        }
    }))
}

/// Methods a write-forbidden window blocks when it lists none.
pub const DEFAULT_WRITE_METHODS: [&str; 4] = ["POST", "PUT", "PATCH", "DELETE"];

/// Whole-path regex: an API regex must match the entire path.
pub(crate) fn compile_path_regex(re: &str) -> Result<regex_lite::Regex, String> {
    regex_lite::Regex::new(&format!("^(?:{re})$")).map_err(|e| format!("invalid regex: {e}"))
}

/// Name lookups that record an issue instead of failing. Validation has reported every
/// unknown name with its path, so this is a safety net only: no paths are built here.
struct Names<'a> {
    map: &'a NameMap,
    what: &'static str,
}

impl Names<'_> {
    #[inline(never)]
    fn get(&self, name: &str, report: &mut Report) -> Option<usize> {
        let found = self.map.get(name).copied();
        if found.is_none() {
            report.error("", format!("unknown {} \"{name}\"", self.what));
        }
        found
    }
}

impl CompiledPolicy {
    /// Build lookup tables from a validated policy and what its validation prepared (one
    /// `PreparedRule` per rule). This only fails on what validation missed.
    pub(crate) fn compile(
        p: Policy,
        prepared: Vec<PreparedRule>,
    ) -> Result<CompiledPolicy, Report> {
        let mut r = Report::default();
        // name -> first position
        let unit_index = name_set(p.units.iter().map(|u| u.name.clone()));
        let key_index = name_set(p.keys.iter().map(|k| k.name.clone()));
        let rule_index = name_set(p.rules.iter().map(|x| x.name.clone()));
        let units = Names {
            map: &unit_index,
            what: "unit",
        };
        let keys = Names {
            map: &key_index,
            what: "key",
        };
        let rules = Names {
            map: &rule_index,
            what: "rule",
        };
        let center = p.units.iter().position(|u| u.role == Role::Center);

        let mut crules = Vec::with_capacity(p.rules.len());
        let mut prepared = prepared.into_iter();
        for rule in &p.rules {
            let key = keys.get(&rule.key, &mut r).unwrap_or(0);
            let PreparedRule {
                exact,
                range_texts,
                mut spans,
            } = prepared.next().unwrap_or_default();
            let mut exact_units = Vec::with_capacity(rule.exact.len());
            for item in &rule.exact {
                exact_units.push(units.get(&item.unit, &mut r).unwrap_or(0));
            }
            let mut range_units = Vec::with_capacity(rule.ranges.len());
            for item in &rule.ranges {
                range_units.push(units.get(&item.unit, &mut r).unwrap_or(0));
            }
            // Entry index -> unit, in place: the sorted spans become the lookup table.
            for (_, at) in spans.iter_mut() {
                let (item, _) = range_texts.item_of(*at);
                *at = range_units.get(item).copied().unwrap_or(0);
            }
            let mut hash = Vec::new();
            if let Some(ch) = &rule.consistent_hash {
                for name in &ch.units {
                    hash.extend(units.get(name, &mut r));
                }
            }
            let default = rule.default.as_ref().and_then(|d| units.get(d, &mut r));
            crules.push(CRule {
                key,
                exact,
                exact_units,
                ranges: SpanTable::from_sorted(spans),
                range_texts,
                hash,
                default,
            });
        }

        let mut apis = Vec::with_capacity(p.apis.len());
        for (ai, api) in p.apis.iter().enumerate() {
            let base = ptr("/apis", ai);
            let m = &api.matcher;
            let path = match (&m.prefix, &m.exact, &m.regex) {
                (Some(x), None, None) => PathMatch::Prefix(x.clone()),
                (None, Some(x), None) => PathMatch::Exact(x.clone()),
                (None, None, Some(x)) => match compile_path_regex(x) {
                    Ok(re) => PathMatch::Regex(re),
                    Err(e) => {
                        r.error(format!("{base}/match/regex"), e);
                        continue;
                    }
                },
                _ => {
                    r.error(
                        ptr(&base, "match"),
                        "expected exactly one of prefix, exact, regex",
                    );
                    continue;
                }
            };
            let rule = api.rule.as_ref().and_then(|x| rules.get(x, &mut r));
            apis.push(CApi {
                name: api.name.clone(),
                path,
                methods: m.methods.iter().map(|x| x.to_ascii_uppercase()).collect(),
                class: api.class,
                rule,
            });
        }
        let default_rule = p
            .default_api
            .rule
            .as_ref()
            .and_then(|x| rules.get(x, &mut r));

        let mut gray = Vec::with_capacity(p.gray.len());
        for g in &p.gray {
            let sticky = keys.get(&g.sticky_key, &mut r);
            let target = units.get(&g.target, &mut r);
            let when = match &g.when {
                None => Some(None),
                Some(w) => keys
                    .get(&w.key, &mut r)
                    .map(|k| Some((k, key_values(&p.keys, k, &w.values)))),
            };
            if let (Some(sticky), Some(target), Some(when)) = (sticky, target, when) {
                gray.push(CGray {
                    apis: name_set(g.apis.iter().cloned()),
                    when,
                    sticky,
                    percent: g.percent,
                    target,
                    salt: g.salt.clone().unwrap_or_else(|| g.name.clone()),
                    allow: name_set(g.allow.iter().map(|v| v.trim().to_string())),
                    deny: name_set(g.deny.iter().map(|v| v.trim().to_string())),
                    assign_cookie: g.assign_cookie.clone(),
                });
            }
        }

        let iso = compile_isolation(&p, &units, &keys, &mut r);
        if !r.errors.is_empty() {
            return Err(r);
        }
        Ok(CompiledPolicy {
            default_api: (p.default_api.class, default_rule),
            src: p,
            full: OnceLock::new(),
            unit_index,
            center,
            key_index,
            rules: crules,
            rule_index,
            apis,
            gray,
            iso,
        })
    }

    pub fn version(&self) -> &str {
        &self.src.version
    }

    /// The document this was compiled from. Rebuilt from the compact tables on first call.
    pub fn source(&self) -> &Policy {
        self.full.get_or_init(|| {
            let mut p = self.src.clone();
            for (rule, c) in p.rules.iter_mut().zip(&self.rules) {
                RuleLists {
                    exact: c.exact.values.clone(),
                    ranges: c.range_texts.clone(),
                }
                .restore(rule);
            }
            p
        })
    }

    /// The gray rules, in order.
    pub fn gray_rules(&self) -> &[GrayRule] {
        &self.src.gray
    }

    pub fn breaker_config(&self) -> Option<&BreakerConfig> {
        self.iso.breaker.as_ref()
    }

    pub fn units(&self) -> impl Iterator<Item = &Unit> {
        self.src.units.iter()
    }

    pub fn unit(&self, name: &str) -> Option<&Unit> {
        self.unit_index
            .get(name)
            .and_then(|&i| self.src.units.get(i))
    }

    /// A shard key by name.
    pub fn key(&self, name: &str) -> Option<&ShardKey> {
        self.key_index.get(name).and_then(|&i| self.src.keys.get(i))
    }

    /// The request headers a decision can read besides the internal `x-unitgate-*` ones and
    /// the ingress's tester header: each key's header sources (lower-case), and `cookie` when
    /// a key or a gray rule's id cookie reads cookies. A host may build the request view from
    /// these alone: the decision is the same, and the view is cheaper to build.
    pub fn read_headers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let assigns = self.gray.iter().any(|g| g.assign_cookie.is_some());
        let sources = self.src.keys.iter().flat_map(|k| &k.sources);
        let names = sources
            .filter_map(|s| match s {
                KeySource::Header(h) => Some(h.to_ascii_lowercase()),
                KeySource::Cookie(_) => Some("cookie".to_string()),
                _ => None,
            })
            .chain(assigns.then(|| "cookie".to_string()));
        for name in names {
            if !out.contains(&name) {
                out.push(name);
            }
        }
        out
    }

    /// The center unit, if the policy has one.
    pub fn center_unit(&self) -> Option<&Unit> {
        self.center.and_then(|i| self.src.units.get(i))
    }

    /// Local unit exists; every remote upstream names a known cloud.
    pub fn check_ingress(&self, ingress: &Ingress) -> Result<(), Vec<Issue>> {
        let mut issues = Vec::new();
        if self.unit(&ingress.local_unit).is_none() {
            let known: Vec<&str> = self.src.units.iter().map(|u| u.name.as_str()).collect();
            issues.push(Issue::new(
                "/local_unit",
                format!(
                    "unknown unit \"{}\"; expected one of: {}",
                    ingress.local_unit,
                    crate::validate::joined(&known, ", ")
                ),
            ));
        }
        for cloud in ingress.remote_upstreams.keys() {
            if !self.src.units.iter().any(|u| &u.cloud == cloud) {
                issues.push(Issue::new(
                    format!("/remote_upstreams/{}", crate::report::ptr_token(cloud)),
                    format!("unknown cloud \"{cloud}\": no unit of the policy lives there"),
                ));
            }
        }
        if issues.is_empty() {
            Ok(())
        } else {
            Err(issues)
        }
    }

    pub(crate) fn unit_at(&self, i: usize) -> Option<&Unit> {
        self.src.units.get(i)
    }
}

fn compile_isolation(p: &Policy, units: &Names, keys: &Names, r: &mut Report) -> CIsolation {
    let iso = &p.isolation;
    let mut c = CIsolation {
        breaker: iso.breaker.clone(),
        ..CIsolation::default()
    };
    for u in &iso.down_units {
        c.down.extend(units.get(u, r));
    }
    for (from, to) in &iso.failover {
        if let (Some(f), Some(t)) = (units.get(from, r), units.get(to, r)) {
            c.failover.push((f, t));
        }
    }
    for s in &iso.api_switches {
        let mut set = Vec::new();
        for u in &s.down_units {
            set.extend(units.get(u, r));
        }
        c.switches.push((s.api.clone(), set));
    }
    for (wi, w) in iso.write_forbidden.iter().enumerate() {
        let base = ptr("/isolation/write_forbidden", wi);
        let mut set = Vec::new();
        for u in &w.units {
            set.extend(units.get(u, r));
        }
        let key = w.key.as_ref().and_then(|k| keys.get(k, r));
        let mut spans = Vec::new();
        for (si, s) in w.ranges.iter().enumerate() {
            match parse_span(s) {
                Ok(span) => spans.push((span, si)),
                Err(e) => r.error(ptr(&ptr(&base, "ranges"), si), e),
            }
        }
        let until_ms = match w.until.as_deref().map(parse_rfc3339_utc) {
            None => None,
            Some(Ok(ms)) => Some(ms),
            Some(Err(e)) => {
                r.error(ptr(&base, "until"), e);
                None
            }
        };
        let methods = if w.methods.is_empty() {
            DEFAULT_WRITE_METHODS
                .iter()
                .map(|m| m.to_string())
                .collect()
        } else {
            w.methods.iter().map(|m| m.to_ascii_uppercase()).collect()
        };
        c.forbid.push(CForbid {
            name: w.name.clone(),
            units: set,
            apis: name_set(w.apis.iter().cloned()),
            methods,
            key,
            ranges: SpanTable::union(spans),
            values: match key {
                Some(k) => key_values(&p.keys, k, &w.values),
                None => NameSet::default(),
            },
            until_ms,
            retry_after_s: w.retry_after_s,
            forbid_unreadable: w.unreadable_key == UnreadableKey::Forbid,
        });
    }
    c
}
