//! The plugin configuration's `"apollo"` object: where a module follows its policy from.
//!
//! `{"upstream": "apollo_config", "app_id": "unitgate", "cluster": "default",
//!   "namespace": "unitgate.json", "access_key": "…"}`; `cluster`, `namespace` and
//! `access_key` are optional. The access key is a secret: issues name its path, never its value.

use crate::config::{get, issue, Obj};
use unitgate_core::apollo::{ApolloSource, DEFAULT_CLUSTER, DEFAULT_NAMESPACE};
use unitgate_core::json::Kind;
use unitgate_core::Issue;

const FIELDS: &[&str] = &["upstream", "app_id", "cluster", "namespace", "access_key"];

/// Reads `"apollo"` when present; every problem goes to `issues` with its path.
pub fn field(obj: &Obj, issues: &mut Vec<Issue>) -> Option<ApolloSource> {
    let value = get(obj, "apollo")?;
    if value.kind() != Kind::Object {
        issues.push(issue("/apollo", "must be an object"));
        return None;
    }
    let apollo = &value.map()[..];
    let before = issues.len();
    for (key, _) in apollo {
        if !FIELDS.contains(&key.as_ref()) {
            issues.push(issue(&format!("/apollo/{key}"), "unknown field"));
        }
    }
    let mut text = |name: &str, default: Option<&str>| {
        let path = format!("/apollo/{name}");
        let got = string(apollo, name, &path, issues);
        match (got, default) {
            (Some(s), _) if s.is_empty() => {
                issues.push(issue(&path, "must not be empty"));
                None
            }
            (Some(s), _) => Some(s),
            (None, Some(d)) if get(apollo, name).is_none() => Some(d.to_string()),
            (None, None) if get(apollo, name).is_none() => {
                issues.push(issue(&path, "required field is missing"));
                None
            }
            (None, _) => None,
        }
    };
    let upstream = text("upstream", None);
    let app_id = text("app_id", None);
    let cluster = text("cluster", Some(DEFAULT_CLUSTER));
    let namespace = text("namespace", Some(DEFAULT_NAMESPACE));
    let access_key = string(apollo, "access_key", "/apollo/access_key", issues);
    if issues.len() > before {
        return None;
    }
    Some(ApolloSource {
        upstream: upstream?,
        app_id: app_id?,
        cluster: cluster?,
        namespace: namespace?,
        access_key: access_key.filter(|k| !k.is_empty()),
    })
}

fn string(obj: &Obj, name: &str, path: &str, issues: &mut Vec<Issue>) -> Option<String> {
    match get(obj, name)?.str() {
        Some(s) => Some(s.into_owned()),
        None => {
            issues.push(issue(path, "must be a string"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    fn paths(text: &str) -> Vec<String> {
        match parse(text, None) {
            Ok(_) => Vec::new(),
            Err(r) => r.issues.iter().map(|i| i.path.clone()).collect(),
        }
    }

    #[test]
    fn an_apollo_source_makes_the_inline_policy_optional() {
        let c = parse(
            r#"{"local_unit":"uc","fail_mode":"open","apollo":{"upstream":"apollo","app_id":"ug"}}"#,
            None,
        )
        .unwrap();
        assert_eq!(c.policy, None);
        let a = c.apollo.unwrap();
        assert_eq!((a.upstream.as_str(), a.app_id.as_str()), ("apollo", "ug"));
        assert_eq!(
            (a.cluster.as_str(), a.namespace.as_str()),
            ("default", "unitgate.json")
        );
        assert_eq!(a.access_key, None);
    }

    #[test]
    fn every_apollo_field_is_read_and_checked() {
        let c = parse(
            r#"{"local_unit":"uc","fail_mode":"open","policy":{},"apollo":{"upstream":"127.0.0.1:8080",
                "app_id":"ug","cluster":"sh","namespace":"p.json","access_key":"s3cret"}}"#,
            None,
        )
        .unwrap();
        assert_eq!(c.policy, Some("{}"));
        let a = c.apollo.unwrap();
        assert_eq!((a.cluster.as_str(), a.namespace.as_str()), ("sh", "p.json"));
        assert_eq!(a.access_key.as_deref(), Some("s3cret"));

        let bad = r#"{"local_unit":"uc","fail_mode":"open","apollo":{"app_id":"","cluster":1,
                      "access_key":"s3cret","typo":true}}"#;
        let mut p = paths(bad);
        p.sort();
        assert_eq!(
            p,
            vec![
                "/apollo/app_id",
                "/apollo/cluster",
                "/apollo/typo",
                "/apollo/upstream"
            ]
        );
        assert_eq!(
            paths(r#"{"local_unit":"uc","fail_mode":"open","apollo":[]}"#),
            vec!["/apollo"]
        );
        // A per-concern module does not follow Apollo: it says so instead of ignoring it.
        let per_concern = parse(
            r#"{"local_unit":"uc","fail_mode":"open","policy":{},"apollo":{"upstream":"a","app_id":"ug"}}"#,
            Some(unitgate_core::Stage::Gray),
        );
        let refused = per_concern.err().unwrap();
        assert_eq!(refused.issues.len(), 1);
        assert_eq!(refused.issues[0].path, "/apollo");
        assert_eq!(
            refused.issues[0].message,
            "only unitgate.wasm follows Apollo"
        );
        // Without a source the policy is still required.
        assert_eq!(
            paths(r#"{"local_unit":"uc","fail_mode":"open"}"#),
            vec!["/policy"]
        );
    }
}
