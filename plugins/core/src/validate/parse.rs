//! The policy document read field by field from its JSON text, reporting every unknown field
//! and every type error, each with its JSON pointer. One bad element does not hide the errors
//! of the others. The result equals what serde derive reads from the same document (tested),
//! except that the mapping rules' lists (exact values, ranges) go to compact `RuleLists`
//! beside the document instead of a `String` each.
//! Structs are assembled by `all!`, one `match` over all fields, rather than a `?` per field:
//! each `?` adds drop code for the fields before it, which made this the largest function in
//! the wasm modules.

use super::json::{Json, Kind};
use super::read::{self, member, members, payload, seq, str_at, string, strings, struct_members};
use super::read::{unit_variant, variant, Obj};
use crate::model::*;
use crate::report::{ptr, Report};
use crate::tables::{ItemTexts, RuleLists};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// `Some(T { a, b })` if every one of the `Option` locals `a`, `b` is `Some`.
macro_rules! all {
    ($ty:ident { $($f:ident),* }) => {
        match ($($f,)*) {
            ($(Some($f),)*) => Some($ty { $($f),* }),
            _ => None,
        }
    };
}

/// Top-level fields of policy v1, in document order.
pub(crate) const POLICY_FIELDS: &[&str] = &[
    "version",
    "units",
    "keys",
    "rules",
    "apis",
    "default_api",
    "gray",
    "isolation",
    "missing_key",
];

/// Field lists, in declaration order, shared with the test that compares them to serde's.
pub(crate) const UNIT: &[&str] = &["name", "role", "cloud", "upstream"];
pub(crate) const SHARD_KEY: &[&str] = &["name", "sources", "transform"];
pub(crate) const RULE: &[&str] = &[
    "name",
    "key",
    "exact",
    "ranges",
    "consistent_hash",
    "default",
    "total",
];
pub(crate) const EXACT_ITEM: &[&str] = &["unit", "values"];
pub(crate) const RANGE_ITEM: &[&str] = &["unit", "ranges"];
pub(crate) const CONSISTENT_HASH: &[&str] = &["units"];
pub(crate) const API_CLASS: &[&str] = &["name", "match", "class", "rule"];
pub(crate) const API_MATCH: &[&str] = &["prefix", "exact", "regex", "methods"];
pub(crate) const DEFAULT_API: &[&str] = &["class", "rule"];
pub(crate) const GRAY_RULE: &[&str] = &[
    "name",
    "apis",
    "when",
    "sticky_key",
    "percent",
    "target",
    "salt",
    "allow",
    "deny",
    "assign_cookie",
];
pub(crate) const GRAY_WHEN: &[&str] = &["key", "values"];
pub(crate) const ISOLATION: &[&str] = &[
    "down_units",
    "failover",
    "api_switches",
    "write_forbidden",
    "breaker",
];
pub(crate) const API_SWITCH: &[&str] = &["api", "down_units"];
pub(crate) const WRITE_FORBID: &[&str] = &[
    "name",
    "units",
    "apis",
    "methods",
    "key",
    "ranges",
    "values",
    "until",
    "retry_after_s",
    "unreadable_key",
];
pub(crate) const BREAKER: &[&str] = &[
    "window_ms",
    "min_requests",
    "error_percent",
    "open_ms",
    "half_open_probes",
    "consecutive_errors",
];
const BREAKER_REQUIRED: &[&str] = &[
    "window_ms",
    "min_requests",
    "error_percent",
    "open_ms",
    "half_open_probes",
];

const ROLES: &[&str] = &["center", "normal"];
const API_KINDS: &[&str] = &["global", "core", "shared"];
const UNREADABLE_KEY: &[&str] = &["forbid", "allow"];
const SOURCES: &[&str] = &["header", "query", "cookie", "path_segment", "body"];
const TRANSFORMS: &[&str] = &["identity", "number", "modulo", "hash"];
const MISSING_KEY: &[&str] = &["local", "default", "reject"];

fn unit(v: Json, path: &str, r: &mut Report) -> Option<Unit> {
    let o = Obj::open(v, path, "struct Unit", UNIT, UNIT, r)?;
    let name = o.req("name", r, string);
    let role = o.req("role", r, role);
    let cloud = o.req("cloud", r, string);
    let upstream = o.req("upstream", r, string);
    all!(Unit {
        name,
        role,
        cloud,
        upstream
    })
}

fn role(v: Json, path: &str, r: &mut Report) -> Option<Role> {
    match unit_variant(v, path, ROLES, r)? {
        0 => Some(Role::Center),
        _ => Some(Role::Normal),
    }
}

fn api_kind(v: Json, path: &str, r: &mut Report) -> Option<ApiKind> {
    match unit_variant(v, path, API_KINDS, r)? {
        0 => Some(ApiKind::Global),
        1 => Some(ApiKind::Core),
        _ => Some(ApiKind::Shared),
    }
}

fn shard_key(v: Json, path: &str, r: &mut Report) -> Option<ShardKey> {
    let o = Obj::open(
        v,
        path,
        "struct ShardKey",
        SHARD_KEY,
        &["name", "sources"],
        r,
    )?;
    let name = o.req("name", r, string);
    let sources = o.req("sources", r, |v, p, r| seq(v, p, r, key_source));
    let transform = o.or_default("transform", r, transform);
    all!(ShardKey {
        name,
        sources,
        transform
    })
}

fn key_source(v: Json, path: &str, r: &mut Report) -> Option<KeySource> {
    let (i, data) = variant(v, path, SOURCES, r)?;
    let name = SOURCES.get(i).copied().unwrap_or_default();
    let (data, at) = payload(data, path, name, r)?;
    Some(match i {
        0 => KeySource::Header(string(data, &at, r)?),
        1 => KeySource::Query(string(data, &at, r)?),
        2 => KeySource::Cookie(string(data, &at, r)?),
        3 => KeySource::PathSegment(read::usize_at(data, &at, r)?),
        _ => KeySource::Body(string(data, &at, r)?),
    })
}

fn transform(v: Json, path: &str, r: &mut Report) -> Option<Transform> {
    let (i, data) = variant(v, path, TRANSFORMS, r)?;
    let name = TRANSFORMS.get(i).copied().unwrap_or_default();
    if i < 2 {
        if let Some(x) = data.filter(|x| !x.is_null()) {
            return read::invalid_type(x, &ptr(path, name), "unit", r);
        }
        return Some(if i == 0 {
            Transform::Identity
        } else {
            Transform::Number
        });
    }
    let (data, at) = payload(data, path, name, r)?;
    let n = read::u64_at(data, &at, r)?;
    Some(if i == 2 {
        Transform::Modulo(n)
    } else {
        Transform::Hash(n)
    })
}

fn rule(v: Json, path: &str, r: &mut Report) -> Option<(MappingRule, RuleLists)> {
    let o = Obj::open(v, path, "struct MappingRule", RULE, &["name", "key"], r)?;
    let name = o.req("name", r, string);
    let key = o.req("key", r, string);
    let exact = rule_items(&o, "exact", "values", "struct ExactItem", EXACT_ITEM, r);
    let ranges = rule_items(&o, "ranges", "ranges", "struct RangeItem", RANGE_ITEM, r);
    let consistent_hash = o.opt("consistent_hash", r, consistent_hash);
    let default = o.opt("default", r, string);
    let total = o.or_default("total", r, read::boolean);
    let (exact, exact_values) = exact?;
    let (ranges, range_texts) = ranges?;
    let exact = Some(
        exact
            .into_iter()
            .map(|unit| ExactItem {
                unit,
                values: Vec::new(),
            })
            .collect(),
    );
    let ranges = Some(
        ranges
            .into_iter()
            .map(|unit| RangeItem {
                unit,
                ranges: Vec::new(),
            })
            .collect(),
    );
    let rule = all!(MappingRule {
        name,
        key,
        exact,
        ranges,
        consistent_hash,
        default,
        total
    })?;
    let lists = RuleLists {
        exact: exact_values,
        ranges: range_texts,
    };
    Some((rule, lists))
}

/// A rule's `exact` or `ranges` items (`{"unit": .., <list>: [..]}`): the units, and every
/// item's list flattened into one `ItemTexts`, sized before it is filled.
fn rule_items(
    o: &Obj,
    field: &str,
    list: &str,
    what: &str,
    fields: &[&str],
    r: &mut Report,
) -> Option<(Vec<String>, ItemTexts)> {
    let Some(v) = o.get(field) else {
        return Some((Vec::new(), ItemTexts::default()));
    };
    let path = ptr(&o.path, field);
    if v.kind() != Kind::Array {
        return read::invalid_type(v, &path, "a sequence", r);
    }
    // Sized first, so nothing grows by doubling: at most one entry per comma (plus one), and
    // at most the bytes that are neither quotes nor commas.
    let text = v.text();
    let count = |c: u8| text.bytes().filter(|&b| b == c).count();
    let (commas, quotes) = (count(b','), count(b'"'));
    let bytes = text.len().saturating_sub(commas + quotes);
    let mut texts = ItemTexts::with_capacity(commas + 1, bytes);
    let mut units = Vec::new();
    let mut ok = true;
    for (i, item) in v.items().enumerate() {
        let at = ptr(&path, i);
        texts.start_item();
        let Some(o) = Obj::open(item, &at, what, fields, fields, r) else {
            ok = false;
            continue;
        };
        let unit = o.req("unit", r, string);
        let listed = o
            .get(list)
            .is_some_and(|x| strings_into(x, &ptr(&at, list), &mut texts, r));
        match unit {
            Some(u) if listed => units.push(u),
            _ => ok = false,
        }
    }
    ok.then_some((units, texts))
}

/// An array of strings appended to `out`; false if it or any element is not a string.
fn strings_into(v: Json, path: &str, out: &mut ItemTexts, r: &mut Report) -> bool {
    if v.kind() != Kind::Array {
        read::invalid_type::<()>(v, path, "a sequence", r);
        return false;
    }
    let mut ok = true;
    for (i, x) in v.items().enumerate() {
        match x.str() {
            Some(s) => out.push(&s),
            // The path is built only for an error: lists can be 100,000 long.
            None => {
                str_at(x, &ptr(path, i), r);
                ok = false;
            }
        }
    }
    ok
}

fn consistent_hash(v: Json, path: &str, r: &mut Report) -> Option<ConsistentHash> {
    let o = Obj::open(
        v,
        path,
        "struct ConsistentHash",
        CONSISTENT_HASH,
        CONSISTENT_HASH,
        r,
    )?;
    Some(ConsistentHash {
        units: o.req("units", r, strings)?,
    })
}

fn api_class(v: Json, path: &str, r: &mut Report) -> Option<ApiClass> {
    let required = &["name", "match", "class"];
    let o = Obj::open(v, path, "struct ApiClass", API_CLASS, required, r)?;
    let name = o.req("name", r, string);
    let matcher = o.req("match", r, api_match);
    let class = o.req("class", r, api_kind);
    let rule = o.opt("rule", r, string);
    all!(ApiClass {
        name,
        matcher,
        class,
        rule
    })
}

fn api_match(v: Json, path: &str, r: &mut Report) -> Option<ApiMatch> {
    let o = Obj::open(v, path, "struct ApiMatch", API_MATCH, &[], r)?;
    let prefix = o.opt("prefix", r, string);
    let exact = o.opt("exact", r, string);
    let regex = o.opt("regex", r, string);
    let methods = o.or_default("methods", r, strings);
    all!(ApiMatch {
        prefix,
        exact,
        regex,
        methods
    })
}

fn default_api(v: Json, path: &str, r: &mut Report) -> Option<DefaultApi> {
    let o = Obj::open(v, path, "struct DefaultApi", DEFAULT_API, &["class"], r)?;
    let class = o.req("class", r, api_kind);
    let rule = o.opt("rule", r, string);
    all!(DefaultApi { class, rule })
}

fn gray_rule(v: Json, path: &str, r: &mut Report) -> Option<GrayRule> {
    let required = &["name", "sticky_key", "percent", "target"];
    let o = Obj::open(v, path, "struct GrayRule", GRAY_RULE, required, r)?;
    let name = o.req("name", r, string);
    let apis = o.or_default("apis", r, strings);
    let when = o.opt("when", r, gray_when);
    let sticky_key = o.req("sticky_key", r, string);
    let percent = o.req("percent", r, read::float);
    let target = o.req("target", r, string);
    let salt = o.opt("salt", r, string);
    let allow = o.or_default("allow", r, strings);
    let deny = o.or_default("deny", r, strings);
    let assign_cookie = o.opt("assign_cookie", r, string);
    all!(GrayRule {
        name,
        apis,
        when,
        sticky_key,
        percent,
        target,
        salt,
        allow,
        deny,
        assign_cookie
    })
}

fn gray_when(v: Json, path: &str, r: &mut Report) -> Option<GrayWhen> {
    let o = Obj::open(v, path, "struct GrayWhen", GRAY_WHEN, GRAY_WHEN, r)?;
    let key = o.req("key", r, string);
    let values = o.req("values", r, strings);
    all!(GrayWhen { key, values })
}

fn isolation(v: Json, path: &str, r: &mut Report) -> Option<Isolation> {
    let o = Obj::open(v, path, "struct Isolation", ISOLATION, &[], r)?;
    let down_units = o.or_default("down_units", r, strings);
    let failover = o.or_default("failover", r, string_map);
    let api_switches = o.or_default("api_switches", r, |v, p, r| seq(v, p, r, api_switch));
    let write_forbidden = o.or_default("write_forbidden", r, |v, p, r| seq(v, p, r, forbid));
    let breaker = o.opt("breaker", r, breaker);
    all!(Isolation {
        down_units,
        failover,
        api_switches,
        write_forbidden,
        breaker
    })
}

fn string_map(v: Json, path: &str, r: &mut Report) -> Option<BTreeMap<String, String>> {
    if v.kind() != Kind::Object {
        return read::invalid_type(v, path, "a map", r);
    }
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (k, x) in members(v) {
        match string(x, &ptr(path, &k), r) {
            Some(s) => {
                out.insert(k.into_owned(), s);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn api_switch(v: Json, path: &str, r: &mut Report) -> Option<ApiSwitch> {
    let o = Obj::open(v, path, "struct ApiSwitch", API_SWITCH, API_SWITCH, r)?;
    let api = o.req("api", r, string);
    let down_units = o.req("down_units", r, strings);
    all!(ApiSwitch { api, down_units })
}

fn forbid(v: Json, path: &str, r: &mut Report) -> Option<WriteForbid> {
    let o = Obj::open(v, path, "struct WriteForbid", WRITE_FORBID, &["name"], r)?;
    let name = o.req("name", r, string);
    let units = o.or_default("units", r, strings);
    let apis = o.or_default("apis", r, strings);
    let methods = o.or_default("methods", r, strings);
    let key = o.opt("key", r, string);
    let ranges = o.or_default("ranges", r, strings);
    let values = o.or_default("values", r, strings);
    let until = o.opt("until", r, string);
    let retry_after_s = o.opt("retry_after_s", r, read::u32_at);
    let unreadable_key = o.or_default("unreadable_key", r, unreadable_key);
    all!(WriteForbid {
        name,
        units,
        apis,
        methods,
        key,
        ranges,
        values,
        until,
        retry_after_s,
        unreadable_key
    })
}

fn unreadable_key(v: Json, path: &str, r: &mut Report) -> Option<UnreadableKey> {
    match unit_variant(v, path, UNREADABLE_KEY, r)? {
        0 => Some(UnreadableKey::Forbid),
        _ => Some(UnreadableKey::Allow),
    }
}

fn breaker(v: Json, path: &str, r: &mut Report) -> Option<BreakerConfig> {
    let o = Obj::open(
        v,
        path,
        "struct BreakerConfig",
        BREAKER,
        BREAKER_REQUIRED,
        r,
    )?;
    let window_ms = o.req("window_ms", r, read::u64_at);
    let min_requests = o.req("min_requests", r, read::u32_at);
    let error_percent = o.req("error_percent", r, read::float);
    let open_ms = o.req("open_ms", r, read::u64_at);
    let half_open_probes = o.req("half_open_probes", r, read::u32_at);
    let consecutive_errors = o.opt("consecutive_errors", r, read::u32_at);
    all!(BreakerConfig {
        window_ms,
        min_requests,
        error_percent,
        open_ms,
        half_open_probes,
        consecutive_errors
    })
}

/// `{"action": ...}`. Like serde's internally tagged enum, errors of `status` are reported at
/// the object; unlike it, `local` and `default` reject extra fields too.
fn missing_key(v: Json, path: &str, r: &mut Report) -> Option<MissingKey> {
    if v.kind() != Kind::Object {
        return read::invalid_type(v, path, "internally tagged enum MissingKey", r);
    }
    let m = struct_members(v, path, r);
    let Some(action) = member(&m, "action") else {
        r.error(path, "missing field `action`");
        return None;
    };
    let at = ptr(path, "action");
    let Some(action) = action.str() else {
        return read::invalid_type(action, &at, "variant identifier", r);
    };
    let (allowed, expected) = match action.as_ref() {
        "local" | "default" => ("", "no other field"),
        "reject" => ("status", "`status`"),
        other => {
            read::unknown_variant(other, MISSING_KEY, &at, r);
            return None;
        }
    };
    let mut ok = true;
    for (k, _) in m.iter().filter(|(k, _)| k != "action" && k != allowed) {
        r.error(path, format!("unknown field `{k}`, expected {expected}"));
        ok = false;
    }
    let key = match action.as_ref() {
        "local" => MissingKey::Local,
        "default" => MissingKey::Default,
        _ => {
            let status = match member(&m, "status") {
                None => {
                    r.error(path, "missing field `status`");
                    None
                }
                Some(s) => read::unsigned(s, path, u16::MAX.into(), "u16", r),
            };
            MissingKey::Reject {
                status: u16::try_from(status?).ok()?,
            }
        }
    };
    ok.then_some(key)
}

fn kind(v: Json) -> &'static str {
    match v.kind() {
        Kind::Null => "null",
        Kind::Bool(_) => "boolean",
        Kind::Number => "number",
        Kind::String => "string",
        Kind::Array => "array",
        Kind::Object => "object",
    }
}

/// A top-level object's members.
type Members<'a> = [(Cow<'a, str>, Json<'a>)];

/// A top-level array parsed element by element; None if it or any element is malformed.
fn list<T>(
    obj: &Members,
    field: &str,
    required: bool,
    r: &mut Report,
    item: fn(Json, &str, &mut Report) -> Option<T>,
) -> Option<Vec<T>> {
    let base = format!("/{field}");
    match member(obj, field) {
        None if required => {
            r.error(base, "missing required field: expected an array");
            None
        }
        None => Some(Vec::new()),
        Some(v) if v.kind() == Kind::Array => seq(v, &base, r, item),
        Some(other) => {
            r.error(
                base,
                format!("invalid type: {}, expected an array", kind(other)),
            );
            None
        }
    }
}

/// A required top-level value.
fn one<T>(
    obj: &Members,
    field: &str,
    expected: &str,
    r: &mut Report,
    read: fn(Json, &str, &mut Report) -> Option<T>,
) -> Option<T> {
    let base = format!("/{field}");
    match member(obj, field) {
        None => {
            r.error(base, format!("missing required field: expected {expected}"));
            None
        }
        Some(v) => read(v, &base, r),
    }
}

/// The typed policy, without its rules' lists, and those lists; None when any structural
/// error was reported.
pub(crate) fn parse_policy(v: Json, r: &mut Report) -> Option<(Policy, Vec<RuleLists>)> {
    if v.kind() != Kind::Object {
        r.error(
            "",
            format!("invalid type: {}, expected a policy v1 object", kind(v)),
        );
        return None;
    }
    let obj = &struct_members(v, "", r);
    for (k, _) in obj {
        if !POLICY_FIELDS.contains(&k.as_ref()) {
            r.error(
                ptr("", k),
                format!(
                    "unknown field \"{k}\"; expected one of: {}",
                    super::joined(POLICY_FIELDS, ", ")
                ),
            );
        }
    }
    let version = one(obj, "version", "a version string", r, string);
    let units = list(obj, "units", true, r, unit);
    let keys = list(obj, "keys", false, r, shard_key);
    let rules = list(obj, "rules", false, r, rule);
    let apis = list(obj, "apis", false, r, api_class);
    let default_api = one(
        obj,
        "default_api",
        "an object like {\"class\":\"core\",\"rule\":\"...\"}",
        r,
        default_api,
    );
    let gray = list(obj, "gray", false, r, gray_rule);
    let isolation = match member(obj, "isolation") {
        None => Some(Isolation::default()),
        Some(v) => isolation(v, "/isolation", r),
    };
    let missing_key = one(
        obj,
        "missing_key",
        "{\"action\":\"local\"}, {\"action\":\"default\"} or {\"action\":\"reject\",\"status\":400}",
        r,
        missing_key,
    );
    let (rules, lists) = match rules {
        Some(both) => {
            let (rules, lists): (Vec<_>, Vec<_>) = both.into_iter().unzip();
            (Some(rules), lists)
        }
        None => (None, Vec::new()),
    };
    let policy = all!(Policy {
        version,
        units,
        keys,
        rules,
        apis,
        default_api,
        gray,
        isolation,
        missing_key
    })?;
    Some((policy, lists))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::{self, Deserialize, Deserializer, Visitor};
    use std::fmt;

    /// A deserializer that only records the field list serde asks for, then stops.
    struct Probe<'a>(&'a mut &'static [&'static str]);

    #[derive(Debug)]
    struct Stop;

    impl fmt::Display for Stop {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("probe")
        }
    }

    impl std::error::Error for Stop {}

    impl de::Error for Stop {
        fn custom<T: fmt::Display>(_: T) -> Self {
            Stop
        }
    }

    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = Stop;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            *self.0 = fields;
            Err(Stop)
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
        let mut fields: &'static [&'static str] = &[];
        let _ = T::deserialize(Probe(&mut fields));
        fields
    }

    /// The hand-written field tables are the serde model's fields, in the same order.
    #[test]
    fn field_tables_match_the_model() {
        assert_eq!(fields_of::<Policy>(), POLICY_FIELDS);
        assert_eq!(fields_of::<Unit>(), UNIT);
        assert_eq!(fields_of::<ShardKey>(), SHARD_KEY);
        assert_eq!(fields_of::<MappingRule>(), RULE);
        assert_eq!(fields_of::<ExactItem>(), EXACT_ITEM);
        assert_eq!(fields_of::<RangeItem>(), RANGE_ITEM);
        assert_eq!(fields_of::<ConsistentHash>(), CONSISTENT_HASH);
        assert_eq!(fields_of::<ApiClass>(), API_CLASS);
        assert_eq!(fields_of::<ApiMatch>(), API_MATCH);
        assert_eq!(fields_of::<DefaultApi>(), DEFAULT_API);
        assert_eq!(fields_of::<GrayRule>(), GRAY_RULE);
        assert_eq!(fields_of::<GrayWhen>(), GRAY_WHEN);
        assert_eq!(fields_of::<Isolation>(), ISOLATION);
        assert_eq!(fields_of::<ApiSwitch>(), API_SWITCH);
        assert_eq!(fields_of::<WriteForbid>(), WRITE_FORBID);
        assert_eq!(fields_of::<BreakerConfig>(), BREAKER);
    }
}
