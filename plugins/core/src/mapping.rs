//! Key value -> unit for one mapping rule: exact, ranges, consistent hash, default.

use crate::compile::{CRule, CompiledPolicy};
use crate::decision::Reason;
use crate::keys::{transform_value, KeyValue};
use crate::model::{Transform, Unit};
use xxhash_rust::xxh64::Xxh64;

/// Rendezvous (highest random weight) hashing: score = xxh64(unit + ":" + raw), seed 0;
/// the highest score wins, the first listed unit on a tie.
pub fn rendezvous<'a>(units: impl IntoIterator<Item = &'a str>, raw: &str) -> Option<&'a str> {
    let mut best: Option<(u64, &str)> = None;
    for u in units {
        let mut h = Xxh64::new(0);
        h.update(u.as_bytes());
        h.update(b":");
        h.update(raw.as_bytes());
        let score = h.digest();
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, u));
        }
    }
    best.map(|(_, u)| u)
}

impl CRule {
    /// Unit index and reason for a raw (trimmed) key value; None = missing/malformed.
    pub(crate) fn map(
        &self,
        p: &CompiledPolicy,
        transform: &Transform,
        raw: &str,
    ) -> Option<(usize, Reason)> {
        if let Some(entry) = self.exact.get(raw) {
            let (item, _) = self.exact.values.item_of(entry);
            if let Some(&u) = self.exact_units.get(item) {
                return Some((u, Reason::KeyExact));
            }
        }
        let value = transform_value(transform, raw);
        if let KeyValue::Number(n) = value {
            if let Some(&u) = self.ranges.get(n) {
                return Some((u, Reason::KeyRange));
            }
        }
        if value == KeyValue::Malformed {
            return None;
        }
        let names = self
            .hash
            .iter()
            .filter_map(|&i| p.unit_at(i).map(|u| u.name.as_str()));
        if let Some(name) = rendezvous(names, raw) {
            return p.unit_index.get(name).map(|&u| (u, Reason::KeyHash));
        }
        self.default.map(|u| (u, Reason::KeyDefault))
    }
}

impl CompiledPolicy {
    /// The unit rule `rule` maps a raw key value to, and why. None: unknown rule, or the value
    /// is malformed for the key's transform and matches no exact item, or nothing matched and
    /// the rule has no default (the request then follows `missing_key`).
    /// Reusable by tools (e.g. a diff of which shards move between two policies).
    pub fn map_value(&self, rule: &str, raw: &str) -> Option<(&Unit, Reason)> {
        let r = self.rules.get(*self.rule_index.get(rule)?)?;
        let key = self.src.keys.get(r.key)?;
        let (u, reason) = r.map(self, &key.transform, raw.trim())?;
        Some((self.unit_at(u)?, reason))
    }
}
