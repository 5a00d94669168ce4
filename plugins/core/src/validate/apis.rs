//! API classes, the default API and the missing-key behaviour.

use super::context::Check;
use crate::compile::compile_path_regex;
use crate::model::{ApiKind, MissingKey};
use crate::report::ptr;

pub(crate) fn check(c: &mut Check) {
    let p = c.p;
    c.unique(
        "API",
        p.apis
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("/apis/{i}/name"), a.name.as_str())),
    );
    for (i, api) in p.apis.iter().enumerate() {
        let base = ptr("/apis", i);
        c.name(&ptr(&base, "name"), "API name", &api.name);
        let m = &api.matcher;
        let set = [&m.prefix, &m.exact, &m.regex]
            .iter()
            .filter(|x| x.is_some())
            .count();
        if set != 1 {
            c.error(
                ptr(&base, "match"),
                format!("expected exactly one of prefix, exact, regex; found {set}"),
            );
        }
        for (field, v) in [("prefix", &m.prefix), ("exact", &m.exact)] {
            if let Some(v) = v {
                if !v.starts_with('/') {
                    c.error(
                        ptr(&ptr(&base, "match"), field),
                        format!("path \"{v}\" must start with '/'"),
                    );
                }
            }
        }
        if let Some(re) = &m.regex {
            if let Err(e) = compile_path_regex(re) {
                c.error(format!("{base}/match/regex"), e);
            }
        }
        c.methods(&format!("{base}/match/methods"), &m.methods);
        class_rule(c, &base, api.class, api.rule.as_deref());
    }
    class_rule(
        c,
        "/default_api",
        p.default_api.class,
        p.default_api.rule.as_deref(),
    );

    if let MissingKey::Reject { status } = p.missing_key {
        if !(400..=599).contains(&status) {
            c.error(
                "/missing_key/status",
                format!("status {status}: expected a 4xx or 5xx status"),
            );
        }
    }
}

/// Core classes need a known rule; others ignore one.
fn class_rule(c: &mut Check, base: &str, class: ApiKind, rule: Option<&str>) {
    match (class, rule) {
        (ApiKind::Core, None) => c.error(
            ptr(base, "rule"),
            "a core API is routed by a mapping rule: expected \"rule\"",
        ),
        (ApiKind::Core, Some(r)) => {
            c.rule(&ptr(base, "rule"), r);
        }
        (_, Some(r)) => {
            if c.rule(&ptr(base, "rule"), r) {
                c.warn(
                    ptr(base, "rule"),
                    "only core APIs use a rule; this one is ignored",
                );
            }
        }
        (_, None) => {}
    }
}
