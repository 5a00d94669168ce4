//! A proxy-wasm test module that exercises SDK calls the unitgate plugins do not: http callouts,
//! ticks, shared queues, metrics (define/increment/get), shared-data CAS, properties, local
//! replies, foreign functions and a deliberate panic. host-tests loads it to prove the host is
//! general. Behaviour is chosen by the request path; results are written into request headers
//! (what the upstream sees), response headers, shared data and metrics.
//!
//! Paths: `/callout` (an http call; the answer resumes the request unless the request has
//! `x-probe-no-resume`), `/headers` (remove, add and replace request headers), `/body` (pause on
//! headers), `/props`, `/reply`, `/panic`, `/cas-*`, `/enqueue`, `/metric`, ... (see
//! `on_http_request_headers`).
//!
//! Plugin configuration: `key=value` pairs separated by `;`:
//! `tick_ms=<n>` (set a tick period), `upstream=<cluster or host:port>` (callout target),
//! `queue=<name>` (register a shared queue), `reject=1` (on_configure returns false).

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType, Status};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(ProbeRoot::default()) });
}}

/// State shared by the root and its http contexts.
#[derive(Default)]
struct Shared {
    upstream: String,
    queue: Option<u32>,
    requests_metric: u32,
    ticks_metric: u32,
    queue_items_metric: u32,
    sizes_metric: u32,
    /// CAS token remembered by `/cas-read` for a later `/cas-write`.
    remembered: Option<(u64, Option<u32>)>,
}

#[derive(Default)]
struct ProbeRoot {
    shared: Rc<RefCell<Shared>>,
}

fn now_ms() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn config_value(config: &str, key: &str) -> Option<String> {
    config.split(';').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

/// Append to a shared-data key with a CAS retry loop; returns the number of retries.
fn cas_append(key: &str, item: &[u8]) -> u32 {
    for retries in 0..100 {
        let (value, cas) = hostcalls::get_shared_data(key).unwrap_or((None, None));
        let mut value = value.unwrap_or_default();
        if !value.is_empty() {
            value.push(b',');
        }
        value.extend_from_slice(item);
        match hostcalls::set_shared_data(key, Some(&value), cas) {
            Ok(()) => return retries,
            Err(Status::CasMismatch) => continue,
            Err(_) => return retries,
        }
    }
    100
}

impl Context for ProbeRoot {
    fn on_http_call_response(
        &mut self,
        _token: u32,
        _headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        // A callout dispatched from on_tick.
        let body = self
            .get_http_call_response_body(0, body_size)
            .unwrap_or_default();
        let _ = self.set_shared_data("probe.tick_callout", Some(&body), None);
    }
}

impl RootContext for ProbeRoot {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        log::info!("probe vm start");
        true
    }

    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self
            .get_plugin_configuration()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        if config_value(&config, "reject").as_deref() == Some("1") {
            log::error!("probe: configuration rejected on purpose");
            return false;
        }
        let mut s = self.shared.borrow_mut();
        s.upstream = config_value(&config, "upstream").unwrap_or_default();
        s.requests_metric =
            hostcalls::define_metric(MetricType::Counter, "probe.requests").unwrap_or(0);
        s.ticks_metric = hostcalls::define_metric(MetricType::Counter, "probe.ticks").unwrap_or(0);
        s.queue_items_metric =
            hostcalls::define_metric(MetricType::Gauge, "probe.queue_items").unwrap_or(0);
        s.sizes_metric =
            hostcalls::define_metric(MetricType::Histogram, "probe.sizes").unwrap_or(0);
        if let Some(name) = config_value(&config, "queue") {
            s.queue = Some(self.register_shared_queue(&name));
        }
        if let Some(ms) = config_value(&config, "tick_ms").and_then(|v| v.parse().ok()) {
            self.set_tick_period(Duration::from_millis(ms));
        }
        log::info!("probe configured: {config}");
        true
    }

    fn on_tick(&mut self) {
        let s = self.shared.borrow();
        let _ = hostcalls::increment_metric(s.ticks_metric, 1);
        let _ = self.set_shared_data(
            "probe.last_tick_ms",
            Some(now_ms().to_string().as_bytes()),
            None,
        );
        if !s.upstream.is_empty() {
            let headers = vec![
                (":method", "GET"),
                (":path", "/tick"),
                (":authority", "probe"),
            ];
            if let Err(e) =
                self.dispatch_http_call(&s.upstream, headers, None, vec![], Duration::from_secs(1))
            {
                log::warn!("tick callout refused: {e:?}");
            }
        }
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        let s = self.shared.borrow();
        while let Ok(Some(item)) = self.dequeue_shared_queue(queue_id) {
            cas_append("probe.queue_log", &item);
            let _ = hostcalls::increment_metric(s.queue_items_metric, 1);
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(ProbeHttp {
            shared: self.shared.clone(),
            path: String::new(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct ProbeHttp {
    shared: Rc<RefCell<Shared>>,
    path: String,
}

impl ProbeHttp {
    fn prop(&self, path: Vec<&str>) -> String {
        self.get_property(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|| "<none>".to_string())
    }

    fn callout(&mut self) -> Action {
        let upstream = self
            .get_http_request_header("x-probe-upstream")
            .unwrap_or_else(|| self.shared.borrow().upstream.clone());
        let headers = vec![
            (":method", "POST"),
            (":path", "/hello"),
            (":authority", "probe.local"),
            ("x-probe-call", "1"),
        ];
        match self.dispatch_http_call(
            &upstream,
            headers,
            Some(b"ping"),
            vec![],
            Duration::from_secs(2),
        ) {
            Ok(token) => {
                self.set_http_request_header("x-probe-token", Some(&token.to_string()));
                Action::Pause
            }
            Err(status) => {
                let detail = format!("{status:?}");
                self.send_http_response(502, vec![("x-probe-error", detail.as_str())], None);
                Action::Pause
            }
        }
    }

    fn cas(&mut self, op: &str) {
        let (value, cas) = self.get_shared_data("probe.counter");
        let current: u64 = value
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let result = match op {
            "read" => {
                self.shared.borrow_mut().remembered = Some((current, cas));
                "read".to_string()
            }
            "write" => {
                let Some((seen, seen_cas)) = self.shared.borrow_mut().remembered.take() else {
                    return;
                };
                match self.set_shared_data(
                    "probe.counter",
                    Some((seen + 1).to_string().as_bytes()),
                    seen_cas,
                ) {
                    Ok(()) => "ok".to_string(),
                    Err(Status::CasMismatch) => "mismatch".to_string(),
                    Err(e) => format!("{e:?}"),
                }
            }
            _ => {
                let retries = cas_append("probe.incr_log", b"x");
                format!("appended retries={retries}")
            }
        };
        self.set_http_request_header("x-probe-cas", Some(&result));
    }
}

impl ProbeHttp {
    /// Remove `x-rm`, add `x-add`, replace `x-rep`; report what a removed header reads back as.
    fn edit_headers(&mut self) {
        self.set_http_request_header("x-rm", None);
        let read = self
            .get_http_request_header("x-rm")
            .unwrap_or_else(|| "<none>".to_string());
        let listed = self
            .get_http_request_headers()
            .iter()
            .any(|(k, _)| k == "x-rm");
        self.add_http_request_header("x-add", "plugin");
        self.set_http_request_header("x-rep", Some("plugin"));
        self.set_http_request_header("x-probe-removed-reads", Some(&read));
        self.set_http_request_header("x-probe-removed-listed", Some(&listed.to_string()));
    }
}

impl Context for ProbeHttp {
    fn on_http_call_response(
        &mut self,
        _token: u32,
        _headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        let status = self
            .get_http_call_response_header(":status")
            .unwrap_or_else(|| "none".to_string());
        let body = self
            .get_http_call_response_body(0, body_size)
            .unwrap_or_default();
        let echoed = self
            .get_http_call_response_header("x-echo")
            .unwrap_or_default();
        self.set_http_request_header("x-probe-callout-status", Some(&status));
        self.set_http_request_header(
            "x-probe-callout-body",
            Some(&String::from_utf8_lossy(&body)),
        );
        self.set_http_request_header("x-probe-callout-echo", Some(&echoed));
        if self.get_http_request_header("x-probe-no-resume").is_none() {
            self.resume_http_request();
        }
    }
}

impl HttpContext for ProbeHttp {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.path = self.get_http_request_header(":path").unwrap_or_default();
        log::info!("probe request {}", self.path);
        let requests = self.shared.borrow().requests_metric;
        let _ = hostcalls::increment_metric(requests, 1);
        self.set_http_request_header("x-probe-eos", Some(&end_of_stream.to_string()));
        match self.path.split('?').next().unwrap_or("") {
            "/callout" => return self.callout(),
            "/cas-read" => self.cas("read"),
            "/cas-write" => self.cas("write"),
            "/cas-incr" => self.cas("incr"),
            "/props" => {
                // The SDK panics on any status but Ok: nginx refuses `probe.seen` (NotFound).
                if self.get_http_request_header("x-probe-custom").is_some() {
                    let _ = hostcalls::set_property(vec!["probe", "seen"], Some(b"yes"));
                }
                let _ = hostcalls::set_property(vec!["wasmx", "probe_seen"], Some(b"yes"));
                for (name, path) in [
                    ("path", vec!["request", "path"]),
                    ("method", vec!["request", "method"]),
                    ("host", vec!["request", "host"]),
                    ("scheme", vec!["request", "scheme"]),
                    ("id", vec!["request", "id"]),
                    ("header", vec!["request", "headers", "x-probe"]),
                    ("source", vec!["source", "address"]),
                    ("destination", vec!["destination", "address"]),
                    ("root-id", vec!["plugin_root_id"]),
                    ("name", vec!["plugin_name"]),
                    ("vm-id", vec!["plugin_vm_id"]),
                    ("probe-seen", vec!["probe", "seen"]),
                    ("wasmx-seen", vec!["wasmx", "probe_seen"]),
                    ("missing", vec!["no", "such", "thing"]),
                ] {
                    let value = self.prop(path);
                    self.set_http_request_header(&format!("x-prop-{name}"), Some(&value));
                }
            }
            "/ngx" => {
                let _ = hostcalls::set_property(vec!["ngx", "probe_var"], Some(b"chosen"));
            }
            "/reply" => {
                self.send_http_response(418, vec![("x-probe", "reply")], Some(b"short and stout"));
                return Action::Pause;
            }
            "/panic" => panic!("probe panics on purpose"),
            "/foreign" => {
                let result = match hostcalls::call_foreign_function("clear_route_cache", None) {
                    Ok(_) => "ok".to_string(),
                    Err(e) => format!("{e:?}"),
                };
                self.set_http_request_header("x-probe-foreign", Some(&result));
            }
            "/enqueue" => {
                let result = match hostcalls::resolve_shared_queue("", "probe") {
                    Ok(Some(id)) => {
                        match hostcalls::enqueue_shared_queue(id, Some(self.path.as_bytes())) {
                            Ok(()) => "ok".to_string(),
                            Err(e) => format!("{e:?}"),
                        }
                    }
                    Ok(None) => "none".to_string(),
                    Err(e) => format!("{e:?}"),
                };
                self.set_http_request_header("x-probe-enqueue", Some(&result));
            }
            "/metric" => {
                let value = hostcalls::get_metric(requests)
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                self.set_http_request_header("x-probe-metric", Some(&value));
            }
            "/time" => {
                let wasi_ms = std::time::SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0);
                self.set_http_request_header("x-probe-now-ms", Some(&now_ms().to_string()));
                self.set_http_request_header("x-probe-wasi-ms", Some(&wasi_ms.to_string()));
            }
            "/loglevel" => {
                let level = hostcalls::get_log_level()
                    .map(|l| format!("{l:?}"))
                    .unwrap_or_default();
                self.set_http_request_header("x-probe-log-level", Some(&level));
            }
            "/body" => return Action::Pause,
            "/reset" => {
                self.reset_http_request();
                return Action::Pause;
            }
            "/grpc" => {
                let result = match self.dispatch_grpc_call(
                    "grpc_cluster",
                    "svc",
                    "Method",
                    vec![],
                    None,
                    Duration::from_secs(1),
                ) {
                    Ok(token) => format!("token {token}"),
                    Err(e) => format!("{e:?}"),
                };
                self.set_http_request_header("x-probe-grpc", Some(&result));
            }
            "/done" => {
                let result = hostcalls::done().map(|_| "ok").unwrap_or("err");
                self.set_http_request_header("x-probe-done", Some(result));
            }
            "/headers" => self.edit_headers(),
            "/pairs" => {
                let mut pairs = self.get_http_request_headers();
                pairs.retain(|(k, _)| k.starts_with(':'));
                pairs.push(("x-only".to_string(), "this".to_string()));
                let refs: Vec<(&str, &str)> = pairs
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                self.set_http_request_headers(refs);
            }
            _ => {}
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !end_of_stream {
            return Action::Pause;
        }
        let body = self.get_http_request_body(0, body_size).unwrap_or_default();
        let sizes = self.shared.borrow().sizes_metric;
        let _ = hostcalls::record_metric(sizes, body.len() as u64);
        self.set_http_request_header("x-probe-body-len", Some(&body.len().to_string()));
        self.set_http_request_body(0, body_size, &body.to_ascii_uppercase());
        Action::Continue
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        // The body buffered so far is still readable here.
        let body = self
            .get_http_request_body(0, usize::MAX)
            .unwrap_or_default();
        self.set_http_request_header(
            "x-probe-trailer-body",
            Some(&String::from_utf8_lossy(&body)),
        );
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let status = self.get_http_response_header(":status").unwrap_or_default();
        self.set_http_response_header("x-probe-upstream-status", Some(&status));
        self.add_http_response_header("x-probe-response-eos", &end_of_stream.to_string());
        if self.path == "/respause" {
            return Action::Pause;
        }
        Action::Continue
    }

    fn on_log(&mut self) {
        let code = self
            .get_property(vec!["response", "code"])
            .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            .map(i64::from_le_bytes)
            .unwrap_or(-1);
        let _ = self.set_shared_data(
            "probe.last_log_code",
            Some(code.to_string().as_bytes()),
            None,
        );
    }
}
