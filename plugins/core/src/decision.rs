//! What `decide` returns, and why.

use crate::model::ApiKind;
use std::borrow::Cow;

macro_rules! reasons {
    ($($variant:ident => $label:literal),* $(,)?) => {
        /// Why a request went where it went. `as_str()` gives the snake_case label used in metrics.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Reason {
            $($variant),*
        }

        impl Reason {
            /// Every reason, in declaration order.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant),*];

            /// snake_case label used in metrics, logs, the ctx header and the explain header.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $label),*
                }
            }

            /// Inverse of `as_str`.
            pub fn parse(label: &str) -> Option<Reason> {
                match label {
                    $($label => Some(Reason::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

reasons! {
    Global => "global",
    SharedRead => "shared_read",
    SharedWrite => "shared_write",
    KeyExact => "key_exact",
    KeyRange => "key_range",
    KeyHash => "key_hash",
    KeyDefault => "key_default",
    MissingKeyLocal => "missing_key_local",
    MissingKeyDefault => "missing_key_default",
    MissingKeyReject => "missing_key_reject",
    Gray => "gray",
    GrayAllow => "gray_allow",
    Tester => "tester",
    Forwarded => "forwarded",
    FailoverDown => "failover_down",
    FailoverApiSwitch => "failover_api_switch",
    FailoverBreaker => "failover_breaker",
    WriteForbidden => "write_forbidden",
    NoHealthyUnit => "no_healthy_unit",
    NoPolicy => "no_policy",
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Label of an API class ("global", "core", "shared").
pub fn class_str(class: ApiKind) -> &'static str {
    match class {
        ApiKind::Global => "global",
        ApiKind::Core => "core",
        ApiKind::Shared => "shared",
    }
}

/// Inverse of `class_str`.
pub fn parse_class(label: &str) -> Option<ApiKind> {
    match label {
        "global" => Some(ApiKind::Global),
        "core" => Some(ApiKind::Core),
        "shared" => Some(ApiKind::Shared),
        _ => None,
    }
}

/// Explain header value (no secrets):
/// "unit=jc; reason=gray; api=orders; class=core; crossed=false; version=v1".
pub fn explain(route: &Route, version: &str) -> String {
    format!(
        "unit={}; reason={}; api={}; class={}; crossed={}; version={}",
        route.unit,
        route.reason.as_str(),
        route.api.as_deref().unwrap_or("-"),
        class_str(route.class),
        route.crossed,
        version
    )
}

/// A routing outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Route<'p> {
    /// Borrowed from the policy: a route allocates no names.
    pub unit: Cow<'p, str>,
    /// Upstream for the host: the unit's upstream in its own cloud, or the peer ingress.
    pub upstream: Cow<'p, str>,
    pub reason: Reason,
    pub api: Option<Cow<'p, str>>,
    pub class: ApiKind,
    /// True when `unit` lives in another cloud than the ingress.
    pub crossed: bool,
    /// Headers to add to the upstream request (e.g. the signed context for a peer).
    pub request_headers: Vec<(String, String)>,
    /// Headers to add to the response (e.g. Set-Cookie for an assigned gray id).
    pub response_headers: Vec<(String, String)>,
}

impl Route<'_> {
    /// The same route, owning its names (for a caller that outlives the policy).
    pub fn into_owned(self) -> Route<'static> {
        Route {
            unit: Cow::Owned(self.unit.into_owned()),
            upstream: Cow::Owned(self.upstream.into_owned()),
            api: self.api.map(|a| Cow::Owned(a.into_owned())),
            ..self
        }
    }
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
pub enum Decision<'p> {
    Route(Route<'p>),
    Reply(LocalReply),
    /// Only when the body is `Body::NotRead` and a body source is needed: buffer it and ask again.
    NeedBody,
}

impl Decision<'_> {
    /// The same decision, owning its names.
    pub fn into_owned(self) -> Decision<'static> {
        match self {
            Decision::Route(r) => Decision::Route(r.into_owned()),
            Decision::Reply(r) => Decision::Reply(r),
            Decision::NeedBody => Decision::NeedBody,
        }
    }
}
