//! `unitgate explain`: decide one request, given with curl-like flags, as an ingress would.

use crate::ingress::{now_ms, IngressArgs};
use crate::policy_file::load_valid;
use crate::Format;
use anyhow::Result;
use serde_json::json;
use std::path::PathBuf;
use unitgate_core::trace::{narrate, trace};
use unitgate_core::{decide, decision::class_str, Decision, RequestParts, RuntimeState};

pub const HELP: &str = "Example:
  unitgate explain policies/examples/dual-cloud-city.json --local-unit uc \\
      -X POST 'http://shop.example/api/orders?city_id=42' -H 'x-user-id: u16' -d '{\"sku\":1}'";

#[derive(clap::Args)]
pub struct Args {
    /// Policy file (JSON).
    policy: PathBuf,
    /// The request URL: http://host/path?query, or just /path?query.
    url: String,
    /// Request method.
    #[arg(short = 'X', long = "request", default_value = "GET")]
    method: String,
    /// Request header "Name: value" (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Cookies "a=1; b=2" (repeatable).
    #[arg(short = 'b', long = "cookie")]
    cookies: Vec<String>,
    /// Request body (a body key reads JSON from it).
    #[arg(short = 'd', long = "data")]
    data: Option<String>,
    #[command(flatten)]
    ingress: IngressArgs,
    /// Clock for write-forbidden windows and stamps (RFC 3339 UTC) [default: now].
    #[arg(long)]
    now: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(a: &Args) -> Result<u8> {
    let loaded = load_valid(&a.policy)?;
    let p = &loaded.policy;
    let ingress = a.ingress.ingress(p)?;
    let req = RequestParts {
        method: &a.method,
        url: &a.url,
        headers: &a.headers,
        cookies: &a.cookies,
        body: a.data.as_deref().map(str::as_bytes),
    }
    .view()
    .map_err(anyhow::Error::msg)?;
    let state = RuntimeState {
        now_ms: now_ms(a.now.as_deref())?,
        ..RuntimeState::default()
    };
    let decision = decide(p, &ingress, &req, &state);
    let mut report = json!({
        "policy_version": p.version(),
        "ingress": {"local_unit": ingress.local_unit},
        "request": {"method": req.method, "path": req.path, "query": req.query},
    });
    let outcome = match &decision {
        Decision::Route(r) => json!({
            "outcome": "route",
            "unit": r.unit,
            "upstream": r.upstream,
            "reason": r.reason.as_str(),
            "api": r.api,
            "class": class_str(r.class),
            "crossed": r.crossed,
            "request_headers": r.request_headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            "response_headers": r.response_headers,
        }),
        Decision::Reply(l) => json!({
            "outcome": "reply",
            "status": l.status,
            "reason": l.reason.as_str(),
            "headers": l.headers,
            "body": l.body,
        }),
        Decision::NeedBody => json!({"outcome": "need_body"}),
    };
    if let (Some(r), Some(o)) = (report.as_object_mut(), outcome.as_object()) {
        r.extend(o.clone());
    }
    let steps = trace(p, &ingress, &req, &state);
    report["trace"] = serde_json::to_value(&steps)?;
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Table => {
            print!("{}", narrate(&steps));
            print_table(&report);
        }
    }
    Ok(0)
}

/// Fields in the order a reader follows the decision; absent ones are left out.
const ORDER: [&str; 15] = [
    "policy_version",
    "ingress",
    "request",
    "api",
    "class",
    "outcome",
    "unit",
    "upstream",
    "reason",
    "crossed",
    "status",
    "headers",
    "body",
    "request_headers",
    "response_headers",
];

fn print_table(r: &serde_json::Value) {
    let width = ORDER.iter().map(|k| k.len()).max().unwrap_or(0);
    for k in ORDER {
        let text = match r.get(k) {
            None => continue,
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) => "-".into(),
            Some(v) => v.to_string(),
        };
        println!("{k:width$}  {text}");
    }
}
