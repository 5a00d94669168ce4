//! Blocking HTTP client for the demo and tests (ureq, loopback only, no proxy, timeouts).

use anyhow::{Context, Result};
use serde_json::Value;
use std::time::Duration;

/// A ureq agent that never uses a proxy, keeps 4xx/5xx as normal responses, and times out.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// Percent-encodes everything except unreserved characters (for query values).
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One response, fully read.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// The unit whose backend answered (None for proxy-generated replies).
    pub fn served_by(&self) -> Option<String> {
        Some(self.json()?.get("unit")?.as_str()?.to_string())
    }

    /// The `via` header the backend saw: the ingresses the request passed, in order.
    pub fn hops(&self) -> Option<String> {
        Some(self.json()?.get("via")?.as_str()?.to_string())
    }

    /// A field of every `x-unitgate-explain` header (`unit=jc; reason=gray; ...`), in the order
    /// the response carries them (the ingress nearest the backend first).
    pub fn explain_all(&self, field: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("x-unitgate-explain"))
            .filter_map(|(_, v)| {
                v.split(';')
                    .filter_map(|kv| kv.trim().split_once('='))
                    .find(|(k, _)| *k == field)
                    .map(|(_, v)| v.to_string())
            })
            .collect()
    }

    /// The explained reasons, outermost first, joined by " -> ".
    pub fn reason_chain(&self) -> String {
        let mut reasons = self.explain_all("reason");
        reasons.reverse();
        reasons.join(" -> ")
    }

    /// The outermost explain field (the last header).
    pub fn explain(&self, field: &str) -> Option<String> {
        self.explain_all(field).pop()
    }
}

/// A request to send.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl Request {
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_string(),
            path: path.to_string(),
            ..Self::default()
        }
    }

    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    pub fn post(path: &str, body: &str) -> Self {
        Self::new("POST", path)
            .header("content-type", "application/json")
            .body(body)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn city(self, city: &str) -> Self {
        self.header("x-city-id", city)
    }

    pub fn user(self, user: &str) -> Self {
        self.header("x-user-id", user)
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = Some(body.to_string());
        self
    }
}

/// Client bound to nothing in particular: pass the port of the ingress to call.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    pub fn new() -> Self {
        Self::with_timeout(Duration::from_secs(10))
    }

    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            agent: agent(timeout),
        }
    }

    /// Sends `req` to 127.0.0.1:`port`.
    pub fn send(&self, port: u16, req: &Request) -> Result<Reply> {
        let url = format!("http://127.0.0.1:{port}{}", req.path);
        let mut builder = ureq::http::Request::builder()
            .method(req.method.as_str())
            .uri(&url);
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let sent = match &req.body {
            Some(body) => self.agent.run(builder.body(body.clone().into_bytes())?),
            None => self.agent.run(builder.body(())?),
        };
        let mut resp = sent.with_context(|| format!("{} {url}", req.method))?;
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}
