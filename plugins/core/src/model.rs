//! Policy document v1: the serde model shared by every plugin, host and tool.
//!
//! The document is the same for every cloud; the local unit is plugin configuration.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[cfg(feature = "schema")]
use schemars::JsonSchema;

/// The whole policy document.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema), schemars(deny_unknown_fields))]
pub struct Policy {
    /// Free-form version string, e.g. "2026-11-22.1". Charset [A-Za-z0-9._-].
    pub version: String,
    pub units: Vec<Unit>,
    #[serde(default)]
    pub keys: Vec<ShardKey>,
    #[serde(default)]
    pub rules: Vec<MappingRule>,
    /// Matched in order; the first match wins.
    #[serde(default)]
    pub apis: Vec<ApiClass>,
    /// Used when no entry of `apis` matches.
    pub default_api: DefaultApi,
    /// Matched in order; the first rule whose `apis` and `when` match applies.
    #[serde(default)]
    pub gray: Vec<GrayRule>,
    #[serde(default)]
    pub isolation: Isolation,
    /// What a core API does when its key is missing or malformed.
    pub missing_key: MissingKey,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema), schemars(deny_unknown_fields))]
pub struct Unit {
    /// Charset [A-Za-z0-9._-].
    pub name: String,
    pub role: Role,
    /// Cloud or data centre this unit lives in. Charset [A-Za-z0-9._-].
    pub cloud: String,
    /// Upstream (Envoy cluster / nginx upstream) serving this unit inside its own cloud.
    pub upstream: String,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Center,
    Normal,
}

/// A named shard key: where to read it, and how to turn it into a number. Values are trimmed;
/// an empty value counts as absent and the next source is tried.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema), schemars(deny_unknown_fields))]
pub struct ShardKey {
    pub name: String,
    /// Tried in order; the first source that yields a value is used.
    pub sources: Vec<KeySource>,
    #[serde(default)]
    pub transform: Transform,
}

/// One place a key can come from. JSON: `{"header":"x-city-id"}`, `{"path_segment":2}`, ...
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// Request header name (case-insensitive).
    Header(String),
    /// Query parameter name (percent-decoded).
    Query(String),
    /// Cookie name.
    Cookie(String),
    /// Zero-based index of a non-empty path segment: in `/api/orders/42`, segment 2 is `42`.
    PathSegment(usize),
    /// JSON pointer (RFC 6901) into a JSON request body, e.g. `/order/city_id`.
    Body(String),
}

/// How a raw key becomes the value that mapping rules see.
/// JSON: `"identity"`, `"number"`, `{"modulo":10000}`, `{"hash":10000}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Keep the string. Only exact lists and consistent hash apply.
    #[default]
    Identity,
    /// Parse a non-negative decimal integer (u64). Anything else is malformed.
    Number,
    /// Parse as Number, then take it modulo N (N >= 1).
    Modulo(u64),
    /// Stable hash (xxh64, seed 0) of the raw string, modulo N (N >= 1).
    Hash(u64),
}

/// Maps a key to a unit. Lookup order: exact, ranges, consistent hash, default.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema), schemars(deny_unknown_fields))]
pub struct MappingRule {
    pub name: String,
    /// Name of a shard key.
    pub key: String,
    /// Exact lists, compared against the trimmed key string (a number key: the canonical
    /// number, so `0042`, `42` and `+42` are one value).
    #[serde(default)]
    pub exact: Vec<ExactItem>,
    /// Inclusive ranges "min~max" over the transformed number. First match wins.
    #[serde(default)]
    pub ranges: Vec<RangeItem>,
    /// Rendezvous hashing over these units when nothing above matched.
    #[serde(default)]
    pub consistent_hash: Option<ConsistentHash>,
    /// Unit used when nothing above matched.
    #[serde(default)]
    pub default: Option<String>,
    /// Declares that `ranges` cover the whole transform domain (0..N-1 for modulo/hash).
    #[serde(default)]
    pub total: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema), schemars(deny_unknown_fields))]
pub struct ExactItem {
    pub unit: String,
    pub values: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema), schemars(deny_unknown_fields))]
pub struct RangeItem {
    pub unit: String,
    /// Inclusive "min~max" strings, e.g. "0~1999", or a single number "42".
    pub ranges: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema), schemars(deny_unknown_fields))]
pub struct ConsistentHash {
    pub units: Vec<String>,
}

/// An API class: which requests it matches and how they are routed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema), schemars(deny_unknown_fields))]
pub struct ApiClass {
    /// Charset [A-Za-z0-9._-].
    pub name: String,
    #[serde(rename = "match")]
    pub matcher: ApiMatch,
    pub class: ApiKind,
    /// Mapping rule; required when `class` is `core`.
    #[serde(default)]
    pub rule: Option<String>,
}

/// Exactly one of `prefix`, `exact` or `regex` (which must match the whole path; syntax of the
/// `regex-lite` crate). Paths are matched before percent-decoding, without the query string.
/// Empty `methods` matches every method; methods are upper-case.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "schema", derive(JsonSchema), schemars(deny_unknown_fields))]
pub struct ApiMatch {
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub exact: Option<String>,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default)]
    pub methods: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApiKind {
    /// Always the center unit.
    Global,
    /// Routed by shard key.
    Core,
    /// Reads (GET, HEAD, OPTIONS) stay local; writes go to the center unit.
    Shared,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema), schemars(deny_unknown_fields))]
pub struct DefaultApi {
    pub class: ApiKind,
    #[serde(default)]
    pub rule: Option<String>,
}

/// Gray release: move `percent` of the matching users to `target`, sticky by `sticky_key`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema), schemars(deny_unknown_fields))]
pub struct GrayRule {
    pub name: String,
    /// API names this rule applies to; empty means every core API.
    #[serde(default)]
    pub apis: Vec<String>,
    /// Restrict to requests whose key has one of these raw values (e.g. one city).
    #[serde(default)]
    pub when: Option<GrayWhen>,
    /// Shard key whose value identifies the user (stickiness).
    pub sticky_key: String,
    /// 0..=100, up to two decimals are meaningful (buckets of 0.01%).
    pub percent: f64,
    pub target: String,
    /// Hash salt; defaults to the rule name. Changing it reshuffles users.
    #[serde(default)]
    pub salt: Option<String>,
    /// Sticky-key values always sent to `target`.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Sticky-key values never sent to `target`.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Cookie that carries an assigned id for users without a sticky key.
    #[serde(default)]
    pub assign_cookie: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema), schemars(deny_unknown_fields))]
pub struct GrayWhen {
    pub key: String,
    pub values: Vec<String>,
}

/// Fault-isolation state.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "schema", derive(JsonSchema), schemars(deny_unknown_fields))]
pub struct Isolation {
    #[serde(default)]
    pub down_units: Vec<String>,
    /// unit -> unit that takes its traffic. Followed transitively; cycles are invalid.
    #[serde(default)]
    pub failover: BTreeMap<String, String>,
    #[serde(default)]
    pub api_switches: Vec<ApiSwitch>,
    #[serde(default)]
    pub write_forbidden: Vec<WriteForbid>,
    #[serde(default)]
    pub breaker: Option<BreakerConfig>,
}

/// Per-API switchover: for this API, these units count as down.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema), schemars(deny_unknown_fields))]
pub struct ApiSwitch {
    pub api: String,
    pub down_units: Vec<String>,
}

/// A write-forbidden window. Every listed condition must hold; empty lists match all.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema), schemars(deny_unknown_fields))]
pub struct WriteForbid {
    pub name: String,
    /// Units (the owner chosen by routing, before failover).
    #[serde(default)]
    pub units: Vec<String>,
    #[serde(default)]
    pub apis: Vec<String>,
    /// Defaults to POST, PUT, PATCH, DELETE.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Shard key for `ranges` / `values`.
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub ranges: Vec<String>,
    #[serde(default)]
    pub values: Vec<String>,
    /// RFC 3339 UTC end time, e.g. "2026-11-22T03:00:00Z". Absent: until removed.
    #[serde(default)]
    pub until: Option<String>,
    /// Retry-After seconds when `until` is absent.
    #[serde(default)]
    pub retry_after_s: Option<u32>,
    /// A write whose `key` cannot be read (missing or malformed), on a unit the window covers:
    /// `"forbid"` it (the default: it might be one of the window's keys) or `"allow"` it.
    #[serde(default)]
    pub unreadable_key: UnreadableKey,
}

/// What a write-forbidden window does with a write whose key cannot be read.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum UnreadableKey {
    /// Refuse it, like a write whose key is in the window.
    #[default]
    Forbid,
    /// Let it through.
    Allow,
}

/// Passive circuit breaker thresholds, per unit.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema), schemars(deny_unknown_fields))]
pub struct BreakerConfig {
    /// Sliding window length.
    pub window_ms: u64,
    /// Minimum responses in the window before the breaker may open.
    pub min_requests: u32,
    /// Opens when 5xx responses are at least this percent of the window.
    pub error_percent: f64,
    /// How long it stays open before half-opening.
    pub open_ms: u64,
    /// Successful probes in half-open needed to close.
    pub half_open_probes: u32,
    /// Also opens after this many errors in a row (5xx, refused connections), however few
    /// responses the window holds: a dead unit trips it at once. None: the percentage alone.
    #[serde(default)]
    pub consecutive_errors: Option<u32>,
}

/// What a core API does when its key is missing or malformed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum MissingKey {
    /// Serve in the ingress's local unit.
    Local,
    /// Use the mapping rule's `default` unit.
    Default,
    /// Reply with this status (4xx or 5xx) and a JSON error body.
    Reject { status: u16 },
}
