//! API classification: the first `apis` entry whose path matcher and methods match.

use crate::compile::{CApi, CompiledPolicy, PathMatch};
use crate::model::ApiKind;
use crate::request::{eq_ascii_case, RequestView};

/// How a request is classified.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Class<'a> {
    /// None for `default_api`.
    pub api: Option<&'a str>,
    pub kind: ApiKind,
    pub rule: Option<usize>,
}

impl CApi {
    fn matches(&self, method: &str, path: &str) -> bool {
        let method_ok = self.methods.is_empty()
            || self
                .methods
                .iter()
                .any(|m| eq_ascii_case(m.as_bytes(), method.as_bytes()));
        method_ok
            && match &self.path {
                PathMatch::Prefix(p) => path.starts_with(p.as_str()),
                PathMatch::Exact(p) => path == p,
                PathMatch::Regex(re) => re.is_match(path),
            }
    }
}

/// GET, HEAD and OPTIONS are reads; everything else writes.
pub(crate) fn is_read(method: &str) -> bool {
    ["GET", "HEAD", "OPTIONS"]
        .iter()
        .any(|m| eq_ascii_case(m.as_bytes(), method.as_bytes()))
}

impl CompiledPolicy {
    pub(crate) fn classify(&self, req: &RequestView) -> Class<'_> {
        match self.apis.iter().find(|a| a.matches(&req.method, &req.path)) {
            Some(a) => Class {
                api: Some(&a.name),
                kind: a.class,
                rule: a.rule,
            },
            None => Class {
                api: None,
                kind: self.default_api.0,
                rule: self.default_api.1,
            },
        }
    }

    /// Name of the API class a request falls in (None: `default_api`), and its kind.
    pub fn classify_request(&self, req: &RequestView) -> (Option<&str>, ApiKind) {
        let c = self.classify(req);
        (c.api, c.kind)
    }
}
