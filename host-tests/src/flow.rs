//! The HTTP stream through a filter chain, the way the proxy drives it: request callbacks in
//! filter order, the upstream, response callbacks (Envoy: in reverse order; nginx: in chain
//! order), then done/log/delete.
//! Each filter runs its request (or response) callbacks in full before the next filter, which
//! is exactly Envoy's order when a filter pauses headers to read the body.

use crate::abi::codec;
use crate::error::HostError;
use crate::exchange::{Action, ActionRecord, Exchange, Phase, Stall};
use crate::headers::{ngx_entry, ngx_proxied, ngx_sent};
use crate::local_reply;
use crate::logs::LogLevel;
use crate::profile::Profile;
use crate::request::{RequestBuilder, UpstreamRequest};
use crate::response::UpstreamResponse;
use crate::stream::{ConnInfo, StreamData};
use crate::sync::lock;
use crate::worker::{HookResult, WorkerCore};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, MutexGuard};

const PAUSE: u32 = 1;

struct Run<'a> {
    profile: Profile,
    filters: Vec<MutexGuard<'a, WorkerCore>>,
    contexts: Vec<u32>,
    s: StreamData,
    ex: Exchange,
}

pub(crate) fn run(req: &RequestBuilder) -> Result<Exchange, HostError> {
    check_filters(req)?;
    let profile = req.host.profile();
    let mut filters: Vec<MutexGuard<'_, WorkerCore>> =
        req.filters.iter().map(|w| lock(&w.core)).collect();
    for f in &mut filters {
        f.revive_if_ngx()?;
        f.check_alive()?;
    }
    let s = new_stream(req, profile, &mut filters[0]);
    let mut run = Run {
        profile,
        filters,
        contexts: Vec::new(),
        s,
        ex: Exchange::default(),
    };
    for i in 0..run.filters.len() {
        run.filters[i].start_counting_request();
        let ctx = run.filters[i].open_stream()?;
        run.contexts.push(ctx);
    }
    let (reached, body, stall) = run.request_phase(req)?;
    run.ex.stall = stall;
    if run.s.reset {
        run.ex.reset = true;
    } else if let Some(reply) = run.s.local_reply.clone() {
        // Envoy encodes a local reply through the filters that saw the request; nginx runs
        // the response steps of the whole chain, whose contexts all exist (ngx_proxy_wasm_ctx).
        let filters = match profile {
            Profile::Envoy => reached,
            Profile::NgxWasmModule => run.filters.len(),
        };
        let order = response_order(profile, filters);
        let (status, headers, body) = local_reply::encode(profile, &reply, &run.s.request_headers);
        run.s.response_headers = with_status(status, &headers, profile);
        let chunks = if body.is_empty() {
            Vec::new()
        } else {
            vec![body]
        };
        run.response_phase(&order, chunks, Vec::new())?;
    } else if stall.is_none() {
        let headers = match profile {
            Profile::Envoy => run.s.request_headers.clone(),
            Profile::NgxWasmModule => {
                // nginx 1.22's proxy module forwards the headers a filter removed.
                let set = lock(&req.host.shared.proxy_set_headers).clone();
                ngx_proxied(&run.s.request_headers, &set, &run.s.ngx_vars)
            }
        };
        let up = UpstreamRequest {
            headers,
            body,
            trailers: run.s.request_trailers.clone(),
        };
        let resp = upstream_response(req, &up);
        run.ex.upstream = Some(up);
        run.s.response_headers = with_status(resp.status, &resp.headers, profile);
        let order = response_order(profile, run.filters.len());
        let chunks = resp.chunks();
        run.response_phase(&order, chunks, resp.trailers)?;
    }
    run.finish()?;
    Ok(run.ex)
}

pub(crate) fn check_filters(req: &RequestBuilder) -> Result<(), HostError> {
    if req.host.profile().is_ngx() {
        if let Some((path, _)) = req
            .properties
            .iter()
            .find(|(p, _)| p.len() != 2 || p[0] != "ngx")
        {
            return Err(HostError::Usage(format!(
                "nginx has no property `{}` to seed: seed an nginx variable (`ngx.<name>`)",
                path.join(".")
            )));
        }
    }
    if req.filters.is_empty() {
        return Err(HostError::Usage(
            "a request needs at least one worker".into(),
        ));
    }
    for (i, a) in req.filters.iter().enumerate() {
        if !Arc::ptr_eq(&a.host.shared, &req.host.shared) {
            return Err(HostError::Usage(
                "every worker of a chain must belong to the same Host".into(),
            ));
        }
        if req.filters[i + 1..]
            .iter()
            .any(|b| Arc::ptr_eq(&a.core, &b.core))
        {
            return Err(HostError::Usage(
                "the same worker appears twice in a chain; start another worker".into(),
            ));
        }
    }
    Ok(())
}

fn new_stream(req: &RequestBuilder, profile: Profile, first: &mut WorkerCore) -> StreamData {
    let st = first.store.data_mut();
    let (a, b) = (st.next_random(), st.next_random());
    let request_id = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    );
    let mut headers: Vec<(String, String)> = match profile {
        Profile::Envoy => vec![
            (":authority".into(), req.authority.clone()),
            (":path".into(), req.path.clone()),
            (":method".into(), req.method.clone()),
            (":scheme".into(), req.scheme.clone()),
        ],
        // nginx keeps the Host header and shims the pseudo-headers.
        Profile::NgxWasmModule => vec![
            (":method".into(), req.method.clone()),
            (":path".into(), req.path.clone()),
            (":authority".into(), req.authority.clone()),
            (":scheme".into(), req.scheme.clone()),
            ("Host".into(), req.authority.clone()),
        ],
    };
    for (k, v) in &req.headers {
        let k = match profile {
            Profile::Envoy => k.to_ascii_lowercase(),
            Profile::NgxWasmModule => k.clone(),
        };
        headers.push((k, v.clone()));
    }
    let body_len: usize = req.body.iter().map(Vec::len).sum();
    let has_len = req.headers.iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding")
    });
    if body_len > 0 && !has_len {
        headers.push(("content-length".into(), body_len.to_string()));
    }
    if profile == Profile::Envoy {
        // What Envoy adds as an edge proxy.
        headers.push(("x-forwarded-proto".into(), req.scheme.clone()));
        headers.push(("x-request-id".into(), request_id.clone()));
    }
    let mut properties = HashMap::new();
    let mut ngx_vars = BTreeMap::new();
    for (path, value) in &req.properties {
        match (profile, path.as_slice()) {
            (Profile::NgxWasmModule, [ns, var]) if ns == "ngx" => {
                ngx_vars.insert(var.clone(), String::from_utf8_lossy(value).into_owned());
            }
            _ => {
                let segs: Vec<&str> = path.iter().map(String::as_str).collect();
                properties.insert(codec::encode_path(&segs), value.clone());
            }
        }
    }
    StreamData {
        request_headers: headers,
        properties,
        ngx_vars,
        info: Some(ConnInfo {
            source: req.source.clone(),
            destination: req.destination.clone(),
            protocol: "HTTP/1.1".into(),
            request_id,
            start_ns: st.host.clock.now_ns(),
        }),
        ..StreamData::default()
    }
}

fn with_status(
    status: u16,
    headers: &[(String, String)],
    profile: Profile,
) -> Vec<(String, String)> {
    let mut out = vec![(":status".to_string(), status.to_string())];
    for (k, v) in headers.iter().filter(|(k, _)| k != ":status") {
        let k = match profile {
            Profile::Envoy => k.to_ascii_lowercase(),
            Profile::NgxWasmModule => k.clone(),
        };
        out.push((k, v.clone()));
    }
    out
}

fn upstream_response(req: &RequestBuilder, up: &UpstreamRequest) -> UpstreamResponse {
    if let Some(r) = &req.response {
        return r.clone();
    }
    let f = lock(&req.host.shared.upstream).clone();
    match f {
        Some(f) => f(up),
        None => UpstreamResponse::new(200),
    }
}

impl Run<'_> {
    fn hook(
        &mut self,
        i: usize,
        phase: Phase,
        hook: &'static str,
        args: &[u32],
    ) -> Result<HookResult, HostError> {
        self.s.filter = i;
        let r = self.filters[i].stream_hook(&mut self.s, hook, args)?;
        let resumed = match phase {
            Phase::RequestHeaders | Phase::RequestBody | Phase::RequestTrailers => {
                r.resumed_request
            }
            _ => r.resumed_response,
        };
        self.ex.actions.push(ActionRecord {
            filter: i,
            phase,
            action: Action::from_abi(r.action),
            resumed,
        });
        Ok(r)
    }

    /// Returns (filters that saw the request, body reaching upstream, stall).
    fn request_phase(
        &mut self,
        req: &RequestBuilder,
    ) -> Result<(usize, Vec<u8>, Option<Stall>), HostError> {
        self.s.request_trailers = req.trailers.clone();
        let mut chunks: Vec<Vec<u8>> = req.body.iter().filter(|c| !c.is_empty()).cloned().collect();
        for i in 0..self.filters.len() {
            match self.leg(i, &REQUEST, &chunks, false)? {
                Step::Passed(out) => chunks = out,
                Step::Ended => return Ok((i + 1, Vec::new(), None)),
                Step::Stalled(phase) => {
                    return Ok((i + 1, Vec::new(), Some(Stall { filter: i, phase })))
                }
            }
        }
        Ok((self.filters.len(), chunks.concat(), None))
    }

    /// Response callbacks over `order`; sets the client's view on the exchange.
    fn response_phase(
        &mut self,
        order: &[usize],
        mut chunks: Vec<Vec<u8>>,
        trailers: Vec<(String, String)>,
    ) -> Result<(), HostError> {
        let reply_before = self.s.local_reply.is_some();
        self.s.response_started = true;
        self.s.response_trailers = trailers;
        for &i in order {
            match self.leg(i, &RESPONSE, &chunks, reply_before)? {
                Step::Passed(out) => chunks = out,
                Step::Ended => return Ok(()),
                Step::Stalled(phase) => {
                    self.ex.stall = Some(Stall { filter: i, phase });
                    return Ok(());
                }
            }
        }
        let headers = std::mem::take(&mut self.s.response_headers);
        self.ex.status = headers
            .iter()
            .find(|(k, _)| k == ":status")
            .and_then(|(_, v)| v.parse().ok());
        self.s.response_headers = headers.clone();
        // nginx's header filter skips the headers a filter removed.
        self.ex.response_headers = ngx_sent(&headers)
            .into_iter()
            .filter(|(k, _)| k != ":status")
            .collect();
        self.ex.response_body = chunks.concat();
        self.ex.response_trailers = self.s.response_trailers.clone();
        Ok(())
    }

    /// One filter's headers, body chunks and trailers callbacks in one direction, with Envoy's
    /// buffering: a paused body chunk is buffered and seen again with the next one; a body
    /// Continue also resumes headers stopped earlier.
    fn leg(
        &mut self,
        i: usize,
        leg: &Leg,
        chunks: &[Vec<u8>],
        reply_before: bool,
    ) -> Result<Step, HostError> {
        let ctx = self.contexts[i];
        let ngx = self.profile.is_ngx();
        // nginx has no request trailers callback, and reads the whole request body before it
        // calls on_request_body once, with end_of_stream (ngx_http_proxy_wasm.c).
        let skip_trailers = ngx && leg.request;
        let has_trailers = !skip_trailers && !(leg.trailers_of)(&mut self.s).is_empty();
        let whole;
        let chunks = if ngx && leg.request && chunks.len() > 1 {
            whole = [chunks.concat()];
            &whole[..]
        } else {
            chunks
        };
        let eos = chunks.is_empty() && !has_trailers && !ngx;
        let n = (leg.headers_of)(&mut self.s)
            .iter()
            .filter(|(k, _)| !ngx_entry(k).1)
            .count() as u32;
        let r = self.hook(i, leg.headers.0, leg.headers.1, &[ctx, n, eos as u32])?;
        if self.ended(leg, reply_before) {
            return Ok(Step::Ended);
        }
        let mut stopped = self.paused(i, leg, &r).then_some(leg.headers.0);
        if stopped.is_some() && ngx && leg.request {
            // Never resumed: nginx does not read the body of a request it suspended.
            return Ok(Step::Stalled(leg.headers.0));
        }
        let mut out = Vec::new();
        let mut buffer = Vec::new();
        let mut buffering = false;
        for (k, chunk) in chunks.iter().enumerate() {
            let eos = k + 1 == chunks.len() && !has_trailers;
            if buffering && !eos {
                // nginx buffers the rest without callbacks, then runs one with the whole body.
                buffer.extend_from_slice(chunk);
                continue;
            }
            buffer.extend_from_slice(chunk);
            *(leg.body_of)(&mut self.s) = std::mem::take(&mut buffer);
            let len = (leg.body_of)(&mut self.s).len() as u32;
            let r = self.hook(i, leg.body.0, leg.body.1, &[ctx, len, eos as u32])?;
            if self.ended(leg, reply_before) {
                return Ok(Step::Ended);
            }
            let data = std::mem::take((leg.body_of)(&mut self.s));
            if ngx && !leg.request && r.action == PAUSE && !eos && !buffering {
                // ngx_wasm_module: Pause in on_response_body starts buffering (action2rc).
                buffering = true;
                buffer = data;
            } else if self.paused(i, leg, &r) {
                buffer = data;
                if eos {
                    stopped = Some(leg.body.0);
                }
            } else {
                stopped = None;
                out.push(data);
            }
        }
        if has_trailers {
            // The buffered body stays readable during the trailers callback (Envoy).
            *(leg.body_of)(&mut self.s) = std::mem::take(&mut buffer);
            let n = (leg.trailers_of)(&mut self.s).len() as u32;
            let r = self.hook(i, leg.trailers.0, leg.trailers.1, &[ctx, n])?;
            if self.ended(leg, reply_before) {
                return Ok(Step::Ended);
            }
            let data = std::mem::take((leg.body_of)(&mut self.s));
            if self.paused(i, leg, &r) {
                stopped = Some(leg.trailers.0);
            } else {
                stopped = None;
                if !data.is_empty() {
                    out.push(data);
                }
            }
        }
        Ok(match stopped {
            Some(phase) => Step::Stalled(phase),
            None => Step::Passed(out),
        })
    }

    fn ended(&mut self, leg: &Leg, reply_before: bool) -> bool {
        if leg.request {
            self.s.local_reply.is_some() || self.s.reset
        } else {
            self.replaced(reply_before)
        }
    }

    fn paused(&self, i: usize, leg: &Leg, r: &HookResult) -> bool {
        if leg.request && self.profile.is_ngx() {
            // ngx_wasm_module resumes a paused request only when its last pending http call
            // completes (ngx_http_proxy_wasm_dispatch.c); proxy_continue_stream alone does not.
            r.action == PAUSE && !r.dispatched
        } else if leg.request {
            r.action == PAUSE && !r.resumed_request
        } else {
            self.paused_response(i, r)
        }
    }

    /// A local reply sent (or a reset) during the response phase replaces the response.
    fn replaced(&mut self, reply_before: bool) -> bool {
        if self.s.reset {
            self.ex.reset = true;
            return true;
        }
        match (&self.s.local_reply, reply_before) {
            (Some(reply), false) => {
                let (status, headers, body) =
                    local_reply::encode(self.profile, reply, &self.s.request_headers);
                self.ex.status = Some(status);
                self.ex.response_headers = headers;
                self.ex.response_body = body;
                true
            }
            _ => false,
        }
    }

    fn paused_response(&self, i: usize, r: &HookResult) -> bool {
        if r.action != PAUSE || r.resumed_response {
            return false;
        }
        if self.profile.is_ngx() {
            self.filters[i].note(
                LogLevel::Warn,
                "ngx_wasm_module: pausing in a response phase is not supported; continuing".into(),
            );
            return false;
        }
        true
    }

    /// Run end-of-stream `hooks` of filter `i`.
    fn end_hooks(&mut self, i: usize, hooks: &[&'static str]) -> Result<(), HostError> {
        let ctx = self.contexts[i];
        self.s.filter = i;
        for hook in hooks {
            self.filters[i].stream_hook(&mut self.s, hook, &[ctx])?;
        }
        Ok(())
    }

    /// on_done / on_log / on_delete in the profile's order, then collect the stream's state.
    fn finish(&mut self) -> Result<(), HostError> {
        let n = self.filters.len();
        match self.profile {
            // Each filter in turn: on_done, on_log, on_delete.
            Profile::Envoy => {
                for i in 0..n {
                    self.end_hooks(i, &["proxy_on_done", "proxy_on_log", "proxy_on_delete"])?;
                }
            }
            // The log phase runs on_done then on_log for the chain; the done phase then runs
            // on_delete for the chain (ngx_proxy_wasm.c `ngx_proxy_wasm_on_log` / `_on_done`).
            Profile::NgxWasmModule => {
                for i in 0..n {
                    self.end_hooks(i, &["proxy_on_done", "proxy_on_log"])?;
                }
                for i in 0..n {
                    self.end_hooks(i, &["proxy_on_delete"])?;
                }
            }
        }
        for i in 0..n {
            self.filters[i].close_stream();
            let calls = self.filters[i].take_request_calls();
            self.ex.host_calls.push(calls);
        }
        self.ex.local_reply = self.s.local_reply.take();
        self.ex.properties = std::mem::take(&mut self.s.properties);
        self.ex.ngx_vars = std::mem::take(&mut self.s.ngx_vars);
        self.ex.route_cache_cleared = self.s.route_cache_cleared;
        self.ex.reset |= self.s.reset;
        Ok(())
    }
}

/// Filters whose response callbacks run, in order: Envoy runs them in reverse, ngx_wasm_module
/// in chain order (it resets the chain for the response steps, ngx_proxy_wasm.c).
fn response_order(profile: Profile, filters: usize) -> Vec<usize> {
    match profile {
        Profile::Envoy => (0..filters).rev().collect(),
        Profile::NgxWasmModule => (0..filters).collect(),
    }
}

/// One direction of the stream: its callbacks and the buffers they read.
struct Leg {
    request: bool,
    headers: (Phase, &'static str),
    body: (Phase, &'static str),
    trailers: (Phase, &'static str),
    headers_of: fn(&mut StreamData) -> &mut Vec<(String, String)>,
    body_of: fn(&mut StreamData) -> &mut Vec<u8>,
    trailers_of: fn(&mut StreamData) -> &mut Vec<(String, String)>,
}

const REQUEST: Leg = Leg {
    request: true,
    headers: (Phase::RequestHeaders, "proxy_on_request_headers"),
    body: (Phase::RequestBody, "proxy_on_request_body"),
    trailers: (Phase::RequestTrailers, "proxy_on_request_trailers"),
    headers_of: |s| &mut s.request_headers,
    body_of: |s| &mut s.request_body,
    trailers_of: |s| &mut s.request_trailers,
};

const RESPONSE: Leg = Leg {
    request: false,
    headers: (Phase::ResponseHeaders, "proxy_on_response_headers"),
    body: (Phase::ResponseBody, "proxy_on_response_body"),
    trailers: (Phase::ResponseTrailers, "proxy_on_response_trailers"),
    headers_of: |s| &mut s.response_headers,
    body_of: |s| &mut s.response_body,
    trailers_of: |s| &mut s.response_trailers,
};

/// How one filter's leg ended.
enum Step {
    /// Continued; the body chunks that go on to the next filter.
    Passed(Vec<Vec<u8>>),
    /// A local reply or reset ended the stream.
    Ended,
    /// Paused and never resumed.
    Stalled(Phase),
}
