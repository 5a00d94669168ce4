//! unitgate-core: the pure decision core. No proxy-wasm, no I/O, no clock (time is passed in).
//!
//! Pipeline: key extraction -> unit mapping -> API class -> gray release -> fault isolation.
//! `decide` runs it whole (the one-pass module); `decide_in_chain` runs the part one
//! per-concern module owns, resuming from the earlier module's `x-unitgate-hop` handoff. A
//! request that crosses to a peer cloud carries a signed `x-unitgate-ctx` stamp bound to it.

// Nothing in the data path may panic (a panic aborts the proxy's VM): no unwrap, expect,
// panicking index or panic!. Tests are exempt.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod apollo;
pub mod appactive;
mod body_json;
pub mod breaker;
mod classify;
mod compile;
pub mod decision;
pub mod diff;
mod digest;
mod gray;
mod isolation;
mod keys;
mod mapping;
pub mod model;
mod pipeline;
pub mod ranges;
mod report;
pub mod request;
pub mod request_parts;
#[cfg(feature = "schema")]
pub mod schema;
mod stamp;
mod tables;
pub mod time;
pub mod trace;
mod validate;

pub use appactive::{import_appactive, AppActiveInput};
pub use breaker::{bucket_ms, BreakerState, BreakerStatus};
pub use compile::CompiledPolicy;
pub use decision::{explain, Decision, LocalReply, Reason, Route};
pub use diff::{diff_policies, PolicyDiff};
pub use gray::{gray_bucket, gray_threshold, in_gray, GRAY_BUCKETS};
pub use isolation::failover_chain;
pub use keys::{transform_value, KeyValue};
pub use mapping::rendezvous;
pub use model::*;
pub use pipeline::{
    decide, decide_in_chain, decide_stage, decide_stages, policy_reads_clock, request_reads_clock,
    Chain, Stages,
};
pub use report::{ptr_token, Issue, Loaded, Report};
pub use request::{eq_ascii_case, Body, RequestView};
pub use request_parts::RequestParts;
pub use stamp::{sign, tester_token, untrusted_headers};
pub use validate::json::{member_range, pointer_range};

/// JSON read in place, as serde_json would read it into a `Value` but without building one
/// (the plugin configuration and Apollo answers in the glue).
pub mod json {
    pub use crate::validate::json::{checked, Items, Json, Kind, Members};
}
pub use validate::{load, load_value, validate_policy};

use std::collections::BTreeMap;

/// Request header that carries the signed peer stamp when a request crosses to a peer cloud.
pub const CTX_HEADER: &str = "x-unitgate-ctx";
/// Request header that carries one per-concern module's result to the next in the same chain.
pub const HOP_HEADER: &str = "x-unitgate-hop";
/// Prefix of every internal header; inbound copies are always stripped (the tester header
/// and a trusted chain handoff excepted).
pub const INTERNAL_PREFIX: &str = "x-unitgate-";
/// Default header carrying a tester override token.
pub const DEFAULT_TESTER_HEADER: &str = "x-unitgate-tester";

/// What to do when no healthy unit is left, or no policy is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailMode {
    /// Route to the local unit anyway.
    Open,
    /// Reply 503.
    Closed,
}

/// Per-ingress (plugin-level) settings. The policy document is the same everywhere.
#[derive(Clone, Debug, PartialEq)]
pub struct Ingress {
    pub local_unit: String,
    pub fail_mode: FailMode,
    /// HMAC key for peer stamps and tester tokens. Never logged. Empty: nothing verifies.
    pub secret: Vec<u8>,
    pub stamp_max_age_ms: u64,
    /// cloud -> upstream used to reach that cloud's ingress. Missing: the unit's own upstream.
    pub remote_upstreams: BTreeMap<String, String>,
    pub tester_header: String,
}

/// Runtime inputs that are not part of the request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuntimeState {
    pub now_ms: u64,
    /// Breaker status per unit; absent means closed.
    pub breakers: BTreeMap<String, BreakerStatus>,
    /// Id the host generated for a user without a sticky key (used with `assign_cookie`).
    pub assigned_id: Option<String>,
}

/// The plugin stage that is asking. Each stage runs `Shard` first unless a verified ctx
/// header from an earlier local stage is present.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Shard = 1,
    Gray = 2,
    Isolation = 3,
}

impl Stage {
    /// The digit used in the ctx header.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// Inverse of `as_u8`.
    pub fn from_u8(n: u8) -> Option<Stage> {
        match n {
            1 => Some(Stage::Shard),
            2 => Some(Stage::Gray),
            3 => Some(Stage::Isolation),
            _ => None,
        }
    }
}
