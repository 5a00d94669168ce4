//! What a root context serves: a loaded policy, or nothing valid yet (fail mode only).

use crate::config::{self, PluginConfig, Rejected, Settings, DEFAULT_CLUSTER_HEADER};
use crate::request::ReadHeaders;
use unitgate_core::apollo::ApolloSource;
use unitgate_core::{CompiledPolicy, FailMode, Ingress, Issue, Stage};

/// A policy that loaded and matches this ingress.
pub struct Active {
    pub policy: CompiledPolicy,
    pub ingress: Ingress,
    pub settings: Settings,
    /// Some gray rule assigns ids by cookie, so requests need `RuntimeState.assigned_id`.
    pub assigns_ids: bool,
    /// The request headers a decision can read: the only ones copied into a request view.
    pub reads: ReadHeaders,
    /// Every request reads the host clock (`core::policy_reads_clock`, or ids are assigned);
    /// otherwise only a request with a stamp or tester token does.
    pub reads_clock: bool,
}

/// No valid policy has ever loaded: only the fail mode applies.
#[derive(Clone, Debug, PartialEq)]
pub struct NoPolicy {
    pub fail_mode: FailMode,
    pub cluster_header: String,
    /// On nginx nothing is removed: the conf's `proxy_set_header` lines drop client copies.
    pub on_nginx: bool,
}

impl Default for NoPolicy {
    /// Never configured: closed, the safe choice.
    fn default() -> Self {
        NoPolicy {
            fail_mode: FailMode::Closed,
            cluster_header: DEFAULT_CLUSTER_HEADER.to_string(),
            on_nginx: false,
        }
    }
}

pub enum Serving {
    Policy(Box<Active>),
    NoPolicy(NoPolicy),
}

/// Result of one `on_configure`.
pub struct Configured {
    /// None: an Apollo source and no starting policy; `fallback` serves until one arrives.
    pub active: Option<Active>,
    pub fallback: NoPolicy,
    pub warnings: Vec<Issue>,
    pub apollo: Option<ApolloSource>,
}

/// Why `on_configure` refused: every issue, plus the fail mode to use if nothing serves yet.
pub struct Refused {
    pub issues: Vec<Issue>,
    pub fallback: NoPolicy,
}

/// Parses the plugin configuration, loads and compiles the policy and checks the ingress
/// against it. Policy issue paths are prefixed with `/policy`. `module`: the stage of a
/// per-concern module; `None` for the one-pass module. `fetched`: a policy from Apollo, in
/// place of the configuration's own. Never inlined: it has two callers, and a copy would
/// cost each module KB.
#[inline(never)]
pub fn configure(
    text: &str,
    module: Option<Stage>,
    fetched: Option<&str>,
) -> Result<Configured, Refused> {
    let cfg: PluginConfig = config::parse(text, module).map_err(|r: Rejected| {
        let mut issues = r.issues;
        // Report the policy's own errors as well: all errors at once.
        if let Some(Err(report)) = fetched.or(r.policy).map(unitgate_core::load) {
            issues.extend(under_policy(report.errors));
        }
        Refused {
            fallback: NoPolicy {
                fail_mode: r.fail_mode.unwrap_or(FailMode::Closed),
                cluster_header: r
                    .cluster_header
                    .unwrap_or_else(|| DEFAULT_CLUSTER_HEADER.to_string()),
                on_nginx: r.on_nginx,
            },
            issues,
        }
    })?;
    let fallback = NoPolicy {
        fail_mode: cfg.ingress.fail_mode,
        cluster_header: cfg.settings.cluster_header.clone(),
        on_nginx: cfg.settings.nginx_variable.is_some(),
    };
    let Some(policy) = fetched.or(cfg.policy) else {
        return Ok(Configured {
            active: None,
            fallback,
            warnings: Vec::new(),
            apollo: cfg.apollo,
        });
    };
    let loaded = match unitgate_core::load(policy) {
        Ok(l) => l,
        Err(report) => {
            let issues = under_policy(report.errors);
            return Err(Refused { issues, fallback });
        }
    };
    if let Err(issues) = loaded.policy.check_ingress(&cfg.ingress) {
        return Err(Refused { issues, fallback });
    }
    let warnings = under_policy(loaded.warnings);
    let assigns_ids = loaded
        .policy
        .gray_rules()
        .iter()
        .any(|g| g.assign_cookie.is_some());
    let reads = ReadHeaders::new(&loaded.policy, &cfg.ingress, &cfg.settings, assigns_ids);
    let reads_clock = assigns_ids || unitgate_core::policy_reads_clock(&loaded.policy);
    Ok(Configured {
        active: Some(Active {
            reads,
            policy: loaded.policy,
            ingress: cfg.ingress,
            settings: cfg.settings,
            assigns_ids,
            reads_clock,
        }),
        fallback,
        warnings,
        apollo: cfg.apollo,
    })
}

/// Policy issues point into the policy document; report them relative to the plugin config.
fn under_policy(issues: Vec<Issue>) -> Vec<Issue> {
    issues
        .into_iter()
        .map(|i| Issue {
            path: format!("/policy{}", i.path),
            message: i.message,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = include_str!("../../../policies/examples/dual-cloud-city.json");

    fn config(extra: &str, policy: &str) -> String {
        format!(r#"{{"local_unit":"uc",{extra}"policy":{policy}}}"#)
    }

    fn refused(text: &str) -> Refused {
        match configure(text, None, None) {
            Ok(_) => panic!("configuration should be refused"),
            Err(r) => r,
        }
    }

    #[test]
    fn a_valid_configuration_loads_the_policy() {
        let done = match configure(&config(r#""fail_mode":"open","#, POLICY), None, None) {
            Ok(d) => d,
            Err(r) => panic!("refused: {:?}", r.issues),
        };
        let done_active = done.active.unwrap();
        assert_eq!(done_active.ingress.local_unit, "uc");
        assert_eq!(done_active.policy.version(), "dada-2026-11-22.1");
        // The example's gray rule assigns ids by cookie.
        assert!(done_active.assigns_ids);
    }

    #[test]
    fn plugin_and_policy_errors_are_reported_together() {
        let bad_policy = POLICY.replacen(r#""name": "jc""#, r#""name": "j c""#, 1);
        let r = refused(&config(r#""bogus":1,"#, &bad_policy));
        let paths: Vec<&str> = r.issues.iter().map(|i| i.path.as_str()).collect();
        assert!(paths.contains(&"/bogus"), "{paths:?}");
        assert!(paths.contains(&"/fail_mode"), "{paths:?}");
        assert!(
            paths.iter().any(|p| p.starts_with("/policy/units/1")),
            "{paths:?}"
        );
        // fail_mode was unreadable: fail closed.
        assert_eq!(r.fallback.fail_mode, FailMode::Closed);
    }

    #[test]
    fn an_unknown_local_unit_is_refused_with_its_path() {
        let text = config(r#""fail_mode":"open","#, POLICY).replacen("\"uc\"", "\"xx\"", 1);
        let r = refused(&text);
        assert_eq!(r.issues.len(), 1, "{:?}", r.issues);
        assert_eq!(r.issues[0].path, "/local_unit");
        assert_eq!(r.fallback.fail_mode, FailMode::Open);
    }
}
