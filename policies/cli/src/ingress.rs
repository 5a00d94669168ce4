//! The ingress a command decides for: local unit, fail mode, secret, peer upstreams, clock.

use anyhow::{anyhow, bail, Context, Result};
use clap::ValueEnum;
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};
use unitgate_core::{
    time::parse_rfc3339_utc, CompiledPolicy, FailMode, Ingress, DEFAULT_TESTER_HEADER,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailModeArg {
    Open,
    Closed,
}

impl FailModeArg {
    pub fn as_str(self) -> &'static str {
        match self {
            FailModeArg::Open => "open",
            FailModeArg::Closed => "closed",
        }
    }
}

#[derive(clap::Args, Clone, Debug)]
pub struct IngressArgs {
    /// The unit this ingress serves [default: the policy's center unit].
    #[arg(long)]
    pub local_unit: Option<String>,
    /// What happens when no healthy unit is left.
    #[arg(long, value_enum, default_value = "closed")]
    pub fail_mode: FailModeArg,
    /// HMAC key shared by the clouds' ingresses (stamps and tester tokens).
    #[arg(long, default_value = "")]
    pub secret: String,
    /// CLOUD=UPSTREAM: the upstream that reaches that cloud's ingress (repeatable).
    #[arg(long = "remote-upstream", value_name = "CLOUD=UPSTREAM", value_parser = parse_pair)]
    pub remote_upstreams: Vec<(String, String)>,
}

/// "a=b" -> (a, b).
pub fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, got \"{s}\"")),
    }
}

impl IngressArgs {
    /// The local unit: the one given, else the policy's center unit.
    pub fn local_unit(&self, p: &CompiledPolicy) -> Result<String> {
        match (&self.local_unit, p.center_unit()) {
            (Some(u), _) => Ok(u.clone()),
            (None, Some(c)) => Ok(c.name.clone()),
            (None, None) => bail!("the policy has no center unit; pass --local-unit"),
        }
    }

    pub fn remote_map(&self) -> BTreeMap<String, String> {
        self.remote_upstreams.iter().cloned().collect()
    }

    /// The core's ingress settings, checked against the policy.
    pub fn ingress(&self, p: &CompiledPolicy) -> Result<Ingress> {
        let ingress = Ingress {
            local_unit: self.local_unit(p)?,
            fail_mode: match self.fail_mode {
                FailModeArg::Open => FailMode::Open,
                FailModeArg::Closed => FailMode::Closed,
            },
            secret: self.secret.as_bytes().to_vec(),
            stamp_max_age_ms: 30_000,
            remote_upstreams: self.remote_map(),
            tester_header: DEFAULT_TESTER_HEADER.to_string(),
        };
        if let Err(issues) = p.check_ingress(&ingress) {
            let text: Vec<String> = issues.iter().map(|i| format!("error {i}")).collect();
            bail!(
                "ingress settings do not fit policy {}: {}",
                p.version(),
                text.join("; ")
            );
        }
        Ok(ingress)
    }
}

/// Milliseconds since the epoch: `--now` (RFC 3339 UTC) or the system clock.
pub fn now_ms(now: Option<&str>) -> Result<u64> {
    match now {
        Some(t) => parse_rfc3339_utc(t).map_err(|e| anyhow!("--now: {e}")),
        None => Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .context("system clock before 1970")?
            .as_millis() as u64),
    }
}
