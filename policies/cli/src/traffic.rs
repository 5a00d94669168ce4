//! Recorded requests, replayed through two policies: which would have gone elsewhere.
//!
//! Input: one JSON object per line. Blank lines and lines starting with `#` are skipped.
//! - `method` (or `:method`), `path` (or `:path`; with the query string);
//! - `headers`: an object of header name -> value;
//! - any field `req.<name>`: header `<name>` (how an Envoy JSON access log names them);
//! - `body`: the request body as text, for body keys; without it the request has no body.
//!
//! Values `"-"` and `null` count as absent, as Envoy writes a header that was not sent.
//! The Envoy access-log format that produces these lines is in the CLI's README.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use unitgate_core::{decide, Body, CompiledPolicy, Decision, Ingress, RequestView, RuntimeState};

/// One recorded request and where it came from.
pub struct Record {
    pub line: usize,
    pub method: String,
    pub path: String,
    pub req: RequestView<'static>,
}

fn present(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s == "-" => None,
        Value::String(s) => Some(s.clone()),
        v => Some(v.to_string()),
    }
}

/// Parse a traffic file; a malformed line is an error naming its number.
pub fn read(path: &Path) -> Result<Vec<Record>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{n}: not a JSON object", path.display()))?;
        let Some(obj) = v.as_object() else {
            bail!("{}:{n}: not a JSON object", path.display());
        };
        let field = |names: &[&str]| names.iter().find_map(|k| obj.get(*k).and_then(present));
        let (Some(method), Some(raw_path)) =
            (field(&["method", ":method"]), field(&["path", ":path"]))
        else {
            bail!("{}:{n}: needs \"method\" and \"path\"", path.display());
        };
        let mut headers: Vec<(String, String)> = Vec::new();
        if let Some(h) = obj.get("headers").and_then(Value::as_object) {
            headers.extend(h.iter().filter_map(|(k, v)| Some((k.clone(), present(v)?))));
        }
        for (k, v) in obj {
            if let (Some(name), Some(v)) = (k.strip_prefix("req."), present(v)) {
                headers.push((name.to_string(), v));
            }
        }
        let body = match obj.get("body").and_then(present) {
            Some(b) => Body::Bytes(b.into_bytes()),
            None => Body::Absent,
        };
        let req =
            RequestView::new(&method.to_ascii_uppercase(), &raw_path, headers).with_body(body);
        out.push(Record {
            line: n,
            method: method.to_ascii_uppercase(),
            path: raw_path,
            req,
        });
    }
    Ok(out)
}

/// Where one request went: a unit, or a local reply.
fn outcome(d: &Decision) -> (String, Option<String>) {
    match d {
        Decision::Route(r) => (r.unit.to_string(), r.api.as_deref().map(str::to_string)),
        Decision::Reply(l) => (format!("reply {} {}", l.status, l.reason), None),
        Decision::NeedBody => ("need_body".into(), None),
    }
}

/// What the replay found.
#[derive(Debug, Default, Serialize)]
pub struct Replay {
    pub requests: usize,
    pub moved: usize,
    /// "from -> to" -> count.
    pub by_units: BTreeMap<String, usize>,
    /// API name (or "-") -> count of moved requests.
    pub by_api: BTreeMap<String, usize>,
    pub examples: Vec<Example>,
}

#[derive(Debug, Serialize)]
pub struct Example {
    pub line: usize,
    pub method: String,
    pub path: String,
    pub api: String,
    pub from: String,
    pub to: String,
}

/// Decide every record with both policies, at the same ingress and clock.
pub fn replay(
    records: &[Record],
    (a, ia): (&CompiledPolicy, &Ingress),
    (b, ib): (&CompiledPolicy, &Ingress),
    now_ms: u64,
    max_examples: usize,
) -> Replay {
    let state = RuntimeState {
        now_ms,
        ..RuntimeState::default()
    };
    let mut r = Replay::default();
    for rec in records {
        r.requests += 1;
        let (from, api_a) = outcome(&decide(a, ia, &rec.req, &state));
        let (to, api_b) = outcome(&decide(b, ib, &rec.req, &state));
        if from == to {
            continue;
        }
        r.moved += 1;
        let api = api_b.or(api_a).unwrap_or_else(|| "-".into());
        *r.by_units.entry(format!("{from} -> {to}")).or_default() += 1;
        *r.by_api.entry(api.clone()).or_default() += 1;
        if r.examples.len() < max_examples {
            r.examples.push(Example {
                line: rec.line,
                method: rec.method.clone(),
                path: rec.path.clone(),
                api,
                from,
                to,
            });
        }
    }
    r
}
