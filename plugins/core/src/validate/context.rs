//! Shared state of one validation run: name tables, reference checks and the report.

use crate::compile::{NameMap, NameSet, PreparedRule};
use crate::model::{ApiKind, Policy, ShardKey};
use crate::report::Report;
use crate::tables::RuleLists;

/// Name lookups scan the policy's lists: keys, rules and APIs are few, and every distinct hash
/// map type costs the wasm modules its own copy of the hash table code.
pub(crate) struct Check<'a> {
    pub p: &'a Policy,
    pub r: Report,
    units: Vec<&'a str>,
    /// Units some rule, gray rule, failover or the center role sends traffic to.
    pub targets: NameSet,
    /// Per mapping rule: its lists (values are read from here, not from `p`), and the tables
    /// the checks build from them, kept for compilation.
    pub rules: Vec<PreparedRule>,
}

/// Names (units, clouds, keys, rules, APIs, versions, windows) use [A-Za-z0-9._-]: they travel
/// inside headers and metric names.
pub(crate) fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// An HTTP method token as it appears on the wire (upper-case letters).
pub(crate) fn method_ok(m: &str) -> bool {
    !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase())
}

/// Distinct names in byte order, by insertion sort: only error messages need it, and it spares
/// the wasm modules one more instantiation of the standard sort.
fn sorted(mut names: Vec<&str>) -> Vec<&str> {
    for i in 1..names.len() {
        let mut j = i;
        while j > 0 && names.get(j - 1) > names.get(j) {
            names.swap(j - 1, j);
            j -= 1;
        }
    }
    names.dedup();
    names
}

impl<'a> Check<'a> {
    pub fn new(p: &'a Policy, lists: Vec<RuleLists>) -> Self {
        Check {
            p,
            r: Report::default(),
            units: p.units.iter().map(|u| u.name.as_str()).collect(),
            targets: NameSet::default(),
            rules: lists.into_iter().map(PreparedRule::new).collect(),
        }
    }

    #[inline(never)]
    pub fn error(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.r.error(path, msg);
    }

    #[inline(never)]
    pub fn warn(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.r.warn(path, msg);
    }

    #[inline(never)]
    fn unknown(&mut self, path: &str, what: &str, name: &str, known: Vec<&str>) {
        let expected = if known.is_empty() {
            format!("the policy defines no {what}s")
        } else {
            format!("expected one of: {}", super::joined(&known, ", "))
        };
        self.r
            .error(path, format!("unknown {what} \"{name}\"; {expected}"));
    }

    /// A reference to a unit (does not count as a routing target).
    #[inline(never)]
    pub fn unit(&mut self, path: &str, name: &str) -> bool {
        let ok = self.units.contains(&name);
        if !ok {
            self.unknown(path, "unit", name, self.units.clone());
        }
        ok
    }

    /// A reference to a unit that traffic may be sent to.
    #[inline(never)]
    pub fn target(&mut self, path: &str, name: &str) -> bool {
        self.targets.entry(name.to_string()).or_insert(0);
        self.unit(path, name)
    }

    #[inline(never)]
    pub fn key(&mut self, path: &str, name: &str) -> Option<&'a ShardKey> {
        // The last of duplicates, as a map built from the list would hold.
        let k = self.p.keys.iter().rfind(|k| k.name == name);
        if k.is_none() {
            let known = sorted(self.p.keys.iter().map(|k| k.name.as_str()).collect());
            self.unknown(path, "key", name, known);
        }
        k
    }

    #[inline(never)]
    pub fn rule(&mut self, path: &str, name: &str) -> bool {
        let ok = self.p.rules.iter().any(|r| r.name == name);
        if !ok {
            let known = sorted(self.p.rules.iter().map(|r| r.name.as_str()).collect());
            self.unknown(path, "rule", name, known);
        }
        ok
    }

    #[inline(never)]
    pub fn api(&mut self, path: &str, name: &str) -> Option<ApiKind> {
        let k = self
            .p
            .apis
            .iter()
            .rfind(|a| a.name == name)
            .map(|a| a.class);
        if k.is_none() {
            let known: Vec<&str> = self.p.apis.iter().map(|a| a.name.as_str()).collect();
            self.unknown(path, "API", name, known);
        }
        k
    }

    /// Charset check for a name at `path`.
    #[inline(never)]
    pub fn name(&mut self, path: &str, what: &str, name: &str) {
        if !name_ok(name) {
            self.r.error(
                path,
                format!("invalid {what} \"{name}\": expected 1-128 characters from [A-Za-z0-9._-]"),
            );
        }
    }

    /// Errors for every repeated name: `items` yields (path, name).
    pub fn unique<'n>(&mut self, what: &str, items: impl Iterator<Item = (String, &'n str)>) {
        self.unique_in(what, items.collect());
    }

    #[inline(never)]
    fn unique_in(&mut self, what: &str, items: Vec<(String, &str)>) {
        // name -> position of its first use (the map type compile uses too: less wasm).
        let mut seen = NameMap::default();
        for (i, (path, name)) in items.iter().enumerate() {
            match seen.get(*name).and_then(|&f| items.get(f)) {
                Some((first, _)) => {
                    let msg = format!("duplicate {what} \"{name}\" (first defined at {first})");
                    self.r.error(path.as_str(), msg);
                }
                None => {
                    seen.insert(name.to_string(), i);
                }
            }
        }
    }

    #[inline(never)]
    pub fn methods(&mut self, base: &str, methods: &[String]) {
        for (i, m) in methods.iter().enumerate() {
            if !method_ok(m) {
                self.error(
                    format!("{base}/{i}"),
                    format!(
                        "invalid method \"{m}\": expected an upper-case HTTP method like \"POST\""
                    ),
                );
            }
        }
    }
}
