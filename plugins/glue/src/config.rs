//! Plugin configuration: the JSON string a host passes to `on_configure`.
//!
//! Every problem is reported with the JSON pointer of the offending field, all at once.
//! The `policy` stays text: it is borrowed from the configuration and read by the core
//! without ever becoming a JSON tree (a big policy would cost its size many times over).

use serde::de::IgnoredAny;
use std::borrow::Cow;
use std::collections::BTreeMap;
use unitgate_core::apollo::ApolloSource;
use unitgate_core::json::{Json, Kind};
use unitgate_core::{Chain, FailMode, Ingress, Issue, Stage, Stages, DEFAULT_TESTER_HEADER};

pub const DEFAULT_CLUSTER_HEADER: &str = "x-unitgate-cluster";
pub const DEFAULT_BODY_LIMIT: usize = 65536;
pub const DEFAULT_STAMP_MAX_AGE_MS: u64 = 30_000;

const FIELDS: &[&str] = &[
    "local_unit",
    "fail_mode",
    "secret",
    "policy",
    "cluster_header",
    "nginx_variable",
    "body_limit",
    "explain",
    "stamp_max_age_ms",
    "remote_upstreams",
    "tester_header",
    "stages",
    "chain",
    "nginx_ctx_variable",
    "log_requests",
    "apollo",
];

/// Stage names of `"stages"`, in pipeline order.
const STAGE_NAMES: [&str; 3] = ["shard", "gray", "isolation"];

/// How the glue talks to the host; not part of the routing decision.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Request header carrying the chosen upstream (Envoy `cluster_header`).
    pub cluster_header: String,
    /// nginx variable set to the chosen upstream (ngx_wasm_module `ngx.<var>` property).
    pub nginx_variable: Option<String>,
    /// nginx variable set to the signed peer stamp when a request crosses clouds.
    pub nginx_ctx_variable: Option<String>,
    /// Stages this module runs: `"stages"` for the one-pass module (all by default), else
    /// every stage up to the module's own.
    pub stages: Stages,
    /// Where a per-concern module sits in its filter chain (`"chain"`); alone by default.
    pub chain: Chain,
    /// Bytes of request body buffered for body keys; more is `Body::TooLarge`.
    pub body_limit: usize,
    /// Add `x-unitgate-explain` to responses.
    pub explain: bool,
    /// Log each request's decision at debug level (formatted only then).
    pub log_requests: bool,
}

/// A parsed configuration whose policy has not been loaded yet.
#[derive(Clone, Debug)]
pub struct PluginConfig<'t> {
    pub ingress: Ingress,
    pub settings: Settings,
    /// The text of the `policy` object, for `unitgate_core::load`; with an Apollo source it
    /// is optional (the starting policy until the first fetch).
    pub policy: Option<&'t str>,
    /// Follow this Apollo namespace (`"apollo"`).
    pub apollo: Option<ApolloSource>,
}

/// Why a configuration was refused. `fail_mode` and `cluster_header` are kept when they
/// were readable, so a plugin without any valid policy still knows how to fail.
#[derive(Clone, Debug)]
pub struct Rejected<'t> {
    pub issues: Vec<Issue>,
    pub fail_mode: Option<FailMode>,
    pub cluster_header: Option<String>,
    /// An `nginx_variable` was given (valid or not): the host is nginx, where removing a
    /// header cannot stop it.
    pub on_nginx: bool,
    /// The policy object's text when one was given, so its errors can be reported too.
    pub policy: Option<&'t str>,
}

/// A JSON object's members as serde_json's map holds them: sorted, the last of duplicates.
pub(crate) type Obj<'a> = [(Cow<'a, str>, Json<'a>)];

/// The member `name` of `obj`.
pub(crate) fn get<'a>(obj: &Obj<'a>, name: &str) -> Option<Json<'a>> {
    obj.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
}

/// Whether `obj` has a member `name`.
fn has(obj: &Obj<'_>, name: &str) -> bool {
    get(obj, name).is_some()
}

pub(crate) fn issue(path: &str, message: impl Into<String>) -> Issue {
    Issue {
        path: path.to_string(),
        message: message.into(),
    }
}

/// The configuration with its `policy` value cut out (replaced by `null`), and that value's
/// text. The rest is read in place, like the policy, but as a `Value` would read it.
fn split_policy(text: &str) -> (Cow<'_, str>, Option<&str>) {
    let cut = unitgate_core::member_range(text, "policy").and_then(|r| {
        let rest = format!("{}null{}", text.get(..r.start)?, text.get(r.end..)?);
        Some((Cow::Owned(rest), Some(text.get(r)?)))
    });
    cut.unwrap_or((Cow::Borrowed(text), None))
}

/// Parses and checks the plugin-level fields. The policy itself is checked by the core.
/// `module`: the stage of a per-concern module (it takes `"chain"`), or `None` for the
/// one-pass module (it takes `"stages"`).
pub fn parse(text: &str, module: Option<Stage>) -> Result<PluginConfig<'_>, Rejected<'_>> {
    let mut issues = Vec::new();
    let not_json = |e: String| Rejected {
        issues: vec![issue("", format!("configuration is not valid JSON: {e}"))],
        fail_mode: None,
        cluster_header: None,
        on_nginx: false,
        policy: None,
    };
    // Check the whole text (policy included) without building anything.
    serde_json::from_str::<IgnoredAny>(text).map_err(|e| not_json(e.to_string()))?;
    let (rest, policy) = split_policy(text);
    let value = unitgate_core::json::checked(&rest).map_err(not_json)?;
    if value.kind() != Kind::Object {
        return Err(Rejected {
            issues: vec![issue("", "configuration must be a JSON object")],
            fail_mode: None,
            cluster_header: None,
            on_nginx: false,
            policy: None,
        });
    }
    let obj = &value.map()[..];
    for (key, _) in obj {
        if !FIELDS.contains(&key.as_ref()) {
            let path = format!("/{}", unitgate_core::ptr_token(key));
            issues.push(issue(&path, "unknown field"));
        }
    }

    let local_unit = string_field(obj, "local_unit", &mut issues).unwrap_or_default();
    if has(obj, "local_unit") && local_unit.is_empty() {
        issues.push(issue("/local_unit", "must not be empty"));
    } else if !has(obj, "local_unit") {
        issues.push(issue("/local_unit", "required field is missing"));
    }
    let fail_mode = match get(obj, "fail_mode").map(Json::str) {
        Some(Some(s)) if s == "open" => Some(FailMode::Open),
        Some(Some(s)) if s == "closed" => Some(FailMode::Closed),
        Some(_) => {
            issues.push(issue("/fail_mode", "must be \"open\" or \"closed\""));
            None
        }
        None => {
            issues.push(issue(
                "/fail_mode",
                "required field is missing: \"open\" or \"closed\"",
            ));
            None
        }
    };
    let secret = string_field(obj, "secret", &mut issues).unwrap_or_default();
    let policy = match policy {
        Some(p) if p.starts_with('{') => Some(p),
        Some(_) => {
            issues.push(issue("/policy", "must be a policy object"));
            None
        }
        None if has(obj, "apollo") => None,
        None => {
            issues.push(issue("/policy", "required field is missing"));
            None
        }
    };
    // Only the one-pass module links the Apollo client (it costs a per-concern module ~15 KB).
    let apollo = match module {
        None => crate::apollo_config::field(obj, &mut issues),
        Some(_) if has(obj, "apollo") => {
            issues.push(issue("/apollo", "only unitgate.wasm follows Apollo"));
            None
        }
        Some(_) => None,
    };
    let cluster_header = header_field(obj, "cluster_header", DEFAULT_CLUSTER_HEADER, &mut issues);
    let tester_header = header_field(obj, "tester_header", DEFAULT_TESTER_HEADER, &mut issues);
    let nginx_variable = ngx_var_field(obj, "nginx_variable", &mut issues);
    let nginx_ctx_variable = ngx_var_field(obj, "nginx_ctx_variable", &mut issues);
    let (stages, chain) = match module {
        None => (stages_field(obj, &mut issues), Chain::ALONE),
        Some(own) => (Stages::up_to(own), chain_field(obj, own, &mut issues)),
    };
    let (other, path, message) = match module {
        Some(_) => ("stages", "/stages", "only unitgate.wasm takes stages"),
        None => ("chain", "/chain", "only a per-concern module takes chain"),
    };
    if has(obj, other) {
        issues.push(issue(path, message));
    }
    let body_limit = u64_field(obj, "body_limit", &mut issues)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        .unwrap_or(DEFAULT_BODY_LIMIT);
    let stamp_max_age_ms =
        u64_field(obj, "stamp_max_age_ms", &mut issues).unwrap_or(DEFAULT_STAMP_MAX_AGE_MS);
    let explain = bool_field(obj, "explain", &mut issues);
    let log_requests = bool_field(obj, "log_requests", &mut issues);
    let remote_upstreams = remote_upstreams(obj, &mut issues);

    if !issues.is_empty() {
        return Err(Rejected {
            issues,
            fail_mode,
            cluster_header: Some(cluster_header),
            on_nginx: has(obj, "nginx_variable"),
            policy,
        });
    }
    let Some(fail_mode) = fail_mode else {
        // Unreachable: a missing fail_mode is an issue above.
        return Err(Rejected {
            issues: vec![issue("/fail_mode", "required field is missing")],
            fail_mode: None,
            cluster_header: Some(cluster_header),
            on_nginx: has(obj, "nginx_variable"),
            policy,
        });
    };
    Ok(PluginConfig {
        ingress: Ingress {
            local_unit,
            fail_mode,
            secret: secret.into_bytes(),
            stamp_max_age_ms,
            remote_upstreams,
            tester_header,
        },
        settings: Settings {
            cluster_header,
            nginx_variable,
            nginx_ctx_variable,
            stages,
            chain,
            body_limit,
            explain,
            log_requests,
        },
        policy,
        apollo,
    })
}

fn string_field(obj: &Obj, name: &str, issues: &mut Vec<Issue>) -> Option<String> {
    let v = get(obj, name)?;
    match v.str() {
        Some(s) => Some(s.into_owned()),
        None => {
            issues.push(issue(&format!("/{name}"), "must be a string"));
            None
        }
    }
}

/// An nginx variable name without `$`.
fn ngx_var_field(obj: &Obj, name: &str, issues: &mut Vec<Issue>) -> Option<String> {
    let var = string_field(obj, name, issues)?;
    let ok = !var.is_empty() && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok {
        issues.push(issue(
            &format!("/{name}"),
            "must be an nginx variable name without '$' ([A-Za-z0-9_]+)",
        ));
    }
    Some(var)
}

/// Which of shard, gray, isolation a list of stage names holds: a non-empty subset of
/// `["shard", "gray", "isolation"]` in that order, or `None`.
fn stage_list(v: Json) -> Option<[bool; 3]> {
    if v.kind() != Kind::Array || v.items().next().is_none() {
        return None;
    }
    let mut has = [false; 3];
    let mut at = 0;
    for item in v.items() {
        let name = item.str()?;
        let i = at + STAGE_NAMES.iter().skip(at).position(|s| *s == name)?;
        if let Some(slot) = has.get_mut(i) {
            *slot = true;
        }
        at = i + 1;
    }
    Some(has)
}

/// `"stages"` of the one-pass module; shard routing is required.
fn stages_field(obj: &Obj, issues: &mut Vec<Issue>) -> Stages {
    let Some(v) = get(obj, "stages") else {
        return Stages::ALL;
    };
    match stage_list(v) {
        Some([true, gray, isolation]) => Stages { gray, isolation },
        _ => {
            issues.push(issue(
                "/stages",
                "must be \"shard\", then \"gray\" and/or \"isolation\"",
            ));
            Stages::ALL
        }
    }
}

/// `"chain"` of a per-concern module: the unitgate modules of its filter chain, in order.
fn chain_field(obj: &Obj, own: Stage, issues: &mut Vec<Issue>) -> Chain {
    let Some(v) = get(obj, "chain") else {
        return Chain::ALONE;
    };
    let at = usize::from(own.as_u8()) - 1;
    match stage_list(v) {
        Some(has) if has.get(at) == Some(&true) => Chain {
            earlier: has.iter().take(at).any(|h| *h),
            later: has.iter().skip(at + 1).any(|h| *h),
        },
        _ => {
            issues.push(issue("/chain", "must list this chain's modules in order"));
            Chain::ALONE
        }
    }
}

fn bool_field(obj: &Obj, name: &str, issues: &mut Vec<Issue>) -> bool {
    match get(obj, name).map(Json::kind) {
        None => false,
        Some(Kind::Bool(b)) => b,
        Some(_) => {
            issues.push(issue(&format!("/{name}"), "must be true or false"));
            false
        }
    }
}

fn u64_field(obj: &Obj, name: &str, issues: &mut Vec<Issue>) -> Option<u64> {
    match get(obj, name) {
        None => None,
        Some(v) => match v.number().and_then(|n| n.as_u64()) {
            Some(n) => Some(n),
            None => {
                issues.push(issue(&format!("/{name}"), "must be a non-negative integer"));
                None
            }
        },
    }
}

/// A lower-case HTTP header name: the hosts compare them lower-cased.
fn header_field(obj: &Obj, name: &str, default: &str, issues: &mut Vec<Issue>) -> String {
    let Some(value) = string_field(obj, name, issues) else {
        return default.to_string();
    };
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok {
        issues.push(issue(
            &format!("/{name}"),
            "must be a lower-case header name ([a-z0-9_-]+)",
        ));
        return default.to_string();
    }
    value
}

fn remote_upstreams(obj: &Obj, issues: &mut Vec<Issue>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match get(obj, "remote_upstreams") {
        None => {}
        Some(map) if map.kind() == Kind::Object => {
            for (cloud, upstream) in map.map() {
                let path = format!("/remote_upstreams/{}", unitgate_core::ptr_token(&cloud));
                match upstream.str() {
                    Some(s) if !s.is_empty() => {
                        out.insert(cloud.into_owned(), s.into_owned());
                    }
                    _ => issues.push(issue(&path, "must be a non-empty upstream name")),
                }
            }
        }
        Some(_) => issues.push(issue(
            "/remote_upstreams",
            "must be an object mapping cloud -> upstream",
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths<'a>(r: &'a Rejected) -> Vec<&'a str> {
        r.issues.iter().map(|i| i.path.as_str()).collect()
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse(
            r#"{"local_unit":"uc","fail_mode":"open","policy":{}}"#,
            Some(Stage::Shard),
        )
        .unwrap();
        assert_eq!(c.ingress.local_unit, "uc");
        assert_eq!(c.ingress.fail_mode, FailMode::Open);
        assert_eq!(c.ingress.tester_header, DEFAULT_TESTER_HEADER);
        assert_eq!(c.ingress.stamp_max_age_ms, DEFAULT_STAMP_MAX_AGE_MS);
        assert!(c.ingress.secret.is_empty());
        assert_eq!(c.settings.cluster_header, DEFAULT_CLUSTER_HEADER);
        assert_eq!(c.settings.body_limit, DEFAULT_BODY_LIMIT);
        assert_eq!(c.settings.nginx_variable, None);
        assert!(!c.settings.explain);
        assert!(!c.settings.log_requests);
        assert_eq!(c.policy, Some("{}"));
    }

    #[test]
    fn every_field_is_read() {
        let c = parse(
            r#"{"local_unit":"jc","fail_mode":"closed","secret":"k","policy":{"version":"v"},
                "cluster_header":"x-up","nginx_variable":"ug_up","body_limit":10,"explain":true,
                "stamp_max_age_ms":5,"remote_upstreams":{"jcloud":"peer_j"},"tester_header":"x-t",
                "nginx_ctx_variable":"ug_ctx","stages":["shard","isolation"],"log_requests":true}"#,
            None,
        )
        .unwrap();
        assert_eq!(c.ingress.fail_mode, FailMode::Closed);
        assert_eq!(c.ingress.secret, b"k");
        assert_eq!(c.ingress.stamp_max_age_ms, 5);
        assert_eq!(
            c.ingress.remote_upstreams.get("jcloud").map(String::as_str),
            Some("peer_j")
        );
        assert_eq!(c.ingress.tester_header, "x-t");
        assert_eq!(c.settings.cluster_header, "x-up");
        assert_eq!(c.settings.nginx_variable.as_deref(), Some("ug_up"));
        assert_eq!(c.settings.body_limit, 10);
        assert!(c.settings.explain);
        assert!(c.settings.log_requests);
        assert_eq!(c.settings.nginx_ctx_variable.as_deref(), Some("ug_ctx"));
        assert_eq!(
            c.settings.stages,
            Stages {
                gray: false,
                isolation: true
            }
        );
    }

    #[test]
    fn all_errors_are_reported_with_paths() {
        let r = parse(
            r#"{"fail_mode":"sometimes","policy":[],"body_limit":-1,"explain":"yes",
                "cluster_header":"X-Bad","nginx_variable":"$v","remote_upstreams":{"a/b":1},"typo":1}"#,
            Some(Stage::Shard),
        )
        .unwrap_err();
        let mut p = paths(&r);
        p.sort();
        assert_eq!(
            p,
            vec![
                "/body_limit",
                "/cluster_header",
                "/explain",
                "/fail_mode",
                "/local_unit",
                "/nginx_variable",
                "/policy",
                "/remote_upstreams/a~1b",
                "/typo"
            ]
        );
        assert_eq!(r.fail_mode, None);
    }

    #[test]
    fn fail_mode_is_kept_when_other_fields_are_bad() {
        let r = parse(
            r#"{"fail_mode":"open","local_unit":"uc"}"#,
            Some(Stage::Shard),
        )
        .unwrap_err();
        assert_eq!(paths(&r), vec!["/policy"]);
        assert_eq!(r.fail_mode, Some(FailMode::Open));
    }

    #[test]
    fn fail_mode_has_no_default() {
        let r = parse(r#"{"local_unit":"uc","policy":{}}"#, Some(Stage::Shard)).unwrap_err();
        assert_eq!(paths(&r), vec!["/fail_mode"]);
    }

    #[test]
    fn stages_are_checked_and_only_one_pass_takes_them() {
        let cfg = |stages: &str| {
            format!(r#"{{"local_unit":"uc","fail_mode":"open","policy":{{}},"stages":{stages}}}"#)
        };
        // Ok(stages), or the paths of the issues (a Rejected borrows the text).
        let stages = |s: &str| {
            parse(&cfg(s), None)
                .map(|c| c.settings.stages)
                .map_err(|r| paths(&r).iter().map(|p| p.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            stages(r#"["shard","gray","isolation"]"#).ok(),
            Some(Stages::ALL)
        );
        let shard_only = Stages {
            gray: false,
            isolation: false,
        };
        assert_eq!(stages(r#"["shard"]"#).ok(), Some(shard_only));
        for bad in [
            r#"["gray","shard"]"#,
            r#"["gray"]"#,
            r#"[]"#,
            r#"["shard","shard"]"#,
            r#"["shard","bogus"]"#,
            r#""shard""#,
        ] {
            assert_eq!(stages(bad).unwrap_err(), vec!["/stages"], "{bad}");
        }
        let text = cfg(r#"["shard"]"#);
        let r = parse(&text, Some(Stage::Gray)).unwrap_err();
        assert_eq!(paths(&r), vec!["/stages"]);
    }

    #[test]
    fn chain_places_a_per_concern_module() {
        let cfg = |chain: &str| {
            format!(r#"{{"local_unit":"uc","fail_mode":"open","policy":{{}},"chain":{chain}}}"#)
        };
        // Ok(chain), or the paths of the issues (a Rejected borrows the text).
        let place = |c: &str, own| {
            parse(&cfg(c), Some(own))
                .map(|c| c.settings.chain)
                .map_err(|r| paths(&r).iter().map(|p| p.to_string()).collect::<Vec<_>>())
        };
        let all = r#"["shard","gray","isolation"]"#;
        let at = |earlier, later| Chain { earlier, later };
        assert_eq!(place(all, Stage::Shard).ok(), Some(at(false, true)));
        assert_eq!(place(all, Stage::Gray).ok(), Some(at(true, true)));
        assert_eq!(place(all, Stage::Isolation).ok(), Some(at(true, false)));
        let two = r#"["shard","isolation"]"#;
        assert_eq!(place(two, Stage::Isolation).ok(), Some(at(true, false)));
        let r = place(two, Stage::Gray).unwrap_err();
        assert_eq!(r, vec!["/chain"], "gray is not in that chain");
        let r = place(r#"["isolation","shard"]"#, Stage::Shard).unwrap_err();
        assert_eq!(r, vec!["/chain"]);
        let text = cfg(all);
        let r = parse(&text, None).unwrap_err();
        assert_eq!(
            paths(&r),
            vec!["/chain"],
            "the one-pass module refuses chain"
        );
    }

    #[test]
    fn not_json_is_one_issue() {
        let r = parse("{nope", Some(Stage::Shard)).unwrap_err();
        assert_eq!(r.issues.len(), 1);
        assert!(r.issues[0].message.contains("not valid JSON"));
    }
}
