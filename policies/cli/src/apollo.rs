//! Apollo's Open API, as `publish` and `plan-cutover --apply` use it: set the namespace item
//! `content` to the policy JSON, then release the namespace. Auth: `Authorization: <token>`.

use crate::policy_file::{load_file, read_text};
use crate::EXIT_FOUND;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

pub const PUBLISH_HELP: &str = "Example:
  unitgate publish next.json --portal http://apollo-portal:8070 --token \"$APOLLO_TOKEN\" \\
      --app-id unitgate --env PRO --cluster default --namespace unitgate.json --operator ops

The policy is validated first; an invalid policy is refused (exit 1) and nothing is sent.";

/// Where in Apollo the policy lives, and who publishes it.
#[derive(clap::Args, Clone, Debug)]
pub struct Target {
    /// Base URL of Apollo's portal (Open API).
    #[arg(long)]
    pub portal: Option<String>,
    /// Open API token (sent as `Authorization: <token>`).
    #[arg(long, env = "UNITGATE_APOLLO_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[arg(long)]
    pub app_id: Option<String>,
    /// Apollo environment [default: DEV].
    #[arg(long)]
    pub env: Option<String>,
    /// [default: default]
    #[arg(long)]
    pub cluster: Option<String>,
    /// JSON namespace, named with its suffix [default: unitgate.json].
    #[arg(long)]
    pub namespace: Option<String>,
    /// Apollo user recorded as the author [default: unitgate].
    #[arg(long)]
    pub operator: Option<String>,
}

#[derive(clap::Args)]
#[command(
    mut_arg("portal", |a| a.required(true)),
    mut_arg("token", |a| a.required(true)),
    mut_arg("app_id", |a| a.required(true))
)]
pub struct PublishArgs {
    /// Policy file (JSON).
    policy: PathBuf,
    #[command(flatten)]
    target: Target,
    /// Release title [default: "unitgate <policy version>"]; at most 64 characters.
    #[arg(long)]
    title: Option<String>,
    #[arg(long, default_value = "")]
    comment: String,
}

// Every field is optional so that plan-cutover needs them only with --apply; publish makes
// portal, token and app_id required (see PublishArgs).
impl Target {
    pub fn portal(&self) -> &str {
        self.portal.as_deref().unwrap_or_default()
    }
    pub fn token(&self) -> &str {
        self.token.as_deref().unwrap_or_default()
    }
    pub fn app_id(&self) -> &str {
        self.app_id.as_deref().unwrap_or_default()
    }
    pub fn env(&self) -> &str {
        self.env.as_deref().unwrap_or("DEV")
    }
    pub fn cluster(&self) -> &str {
        self.cluster.as_deref().unwrap_or("default")
    }
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or("unitgate.json")
    }
    pub fn operator(&self) -> &str {
        self.operator.as_deref().unwrap_or("unitgate")
    }
}

/// One released namespace: Apollo's release id and key.
#[derive(Debug, Clone)]
pub struct Released {
    pub id: u64,
    pub key: String,
}

pub struct OpenApi<'a> {
    t: &'a Target,
    agent: ureq::Agent,
}

impl<'a> OpenApi<'a> {
    pub fn new(t: &'a Target) -> Self {
        let agent = ureq::Agent::config_builder()
            .proxy(None)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        OpenApi { t, agent }
    }

    fn ns_url(&self) -> String {
        let t = self.t;
        format!(
            "{}/openapi/v1/envs/{}/apps/{}/clusters/{}/namespaces/{}",
            t.portal().trim_end_matches('/'),
            t.env(),
            t.app_id(),
            t.cluster(),
            t.namespace()
        )
    }

    fn send(&self, method: &str, url: &str, body: Option<Value>) -> Result<Value> {
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("Authorization", self.t.token())
            .header("Content-Type", "application/json;charset=UTF-8")
            .body(body.map(|b| b.to_string()).unwrap_or_default())
            .context("building the request")?;
        let mut resp = self
            .agent
            .run(req)
            .with_context(|| format!("Apollo Open API at {} unreachable", self.t.portal()))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        if !(200..300).contains(&status) {
            let msg = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(String::from))
                .unwrap_or(text);
            bail!("Apollo answered {status} to {method} {url}: {msg}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Put the policy text in the namespace's `content` item, then release it.
    pub fn publish(&self, content: &str, title: &str, comment: &str) -> Result<Released> {
        let by = self.t.operator();
        self.send(
            "PUT",
            &format!("{}/items/content?createIfNotExists=true", self.ns_url()),
            Some(
                json!({"key": "content", "value": content, "comment": comment,
                        "dataChangeLastModifiedBy": by, "dataChangeCreatedBy": by}),
            ),
        )?;
        let r = self.send(
            "POST",
            &format!("{}/releases", self.ns_url()),
            Some(json!({"releaseTitle": title, "releaseComment": comment, "releasedBy": by})),
        )?;
        Ok(Released {
            id: r.get("id").and_then(Value::as_u64).unwrap_or(0),
            key: r
                .get("releaseKey")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        })
    }
}

/// A release title Apollo accepts (at most 64 characters).
pub fn title_for(version: &str) -> String {
    format!("unitgate {version}").chars().take(64).collect()
}

pub fn publish(a: &PublishArgs) -> Result<u8> {
    let loaded = match load_file(&a.policy)? {
        Ok(l) => l,
        Err(report) => {
            eprint!("{report}");
            eprintln!(
                "unitgate: refusing to publish {}: {} errors; nothing was sent to Apollo",
                a.policy.display(),
                report.errors.len()
            );
            return Ok(EXIT_FOUND);
        }
    };
    for w in &loaded.warnings {
        eprintln!("warning {w}");
    }
    let version = loaded.policy.version();
    let title = a.title.clone().unwrap_or_else(|| title_for(version));
    let released = OpenApi::new(&a.target).publish(&read_text(&a.policy)?, &title, &a.comment)?;
    let t = &a.target;
    println!(
        "published {version} to {}/{}/{} ({}): release {} key {}",
        t.app_id(),
        t.cluster(),
        t.namespace(),
        t.env(),
        released.id,
        released.key
    );
    Ok(0)
}
