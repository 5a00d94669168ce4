//! What `decide` returns, and why.

use crate::model::ApiKind;

/// Why a request went where it went. `as_str()` gives the snake_case label used in metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    Global,
    SharedRead,
    SharedWrite,
    KeyExact,
    KeyRange,
    KeyHash,
    KeyDefault,
    MissingKeyLocal,
    MissingKeyDefault,
    MissingKeyReject,
    Gray,
    GrayAllow,
    Tester,
    Forwarded,
    FailoverDown,
    FailoverApiSwitch,
    FailoverBreaker,
    WriteForbidden,
    NoHealthyUnit,
    NoPolicy,
}

/// A routing outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub unit: String,
    /// Upstream for the host: the unit's upstream in its own cloud, or the peer ingress.
    pub upstream: String,
    pub reason: Reason,
    pub api: Option<String>,
    pub class: ApiKind,
    /// True when `unit` lives in another cloud than the ingress.
    pub crossed: bool,
    /// Headers to add to the upstream request (e.g. the signed context for a peer).
    pub request_headers: Vec<(String, String)>,
    /// Headers to add to the response (e.g. Set-Cookie for an assigned gray id).
    pub response_headers: Vec<(String, String)>,
}

/// A reply the proxy sends itself.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// JSON text.
    pub body: String,
    pub reason: Reason,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Route(Route),
    Reply(LocalReply),
    /// Only when the body is `Body::NotRead` and a body source is needed: buffer it and ask again.
    NeedBody,
}
