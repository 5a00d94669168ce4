//! The http context every module uses: strip, decide, apply; body buffering for body keys.

use crate::apply::{self, EXPLAIN_HEADER};
use crate::breaker_store;
use crate::host;
use crate::module::Module;
use crate::request::{self, BodyHint};
use crate::root::Shared;
use crate::serving::{Active, NoPolicy, Serving};
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, LogLevel};
use std::marker::PhantomData;
use std::rc::Rc;
use unitgate_core::{Body, Decision, FailMode, Reason, RequestView, RuntimeState, INTERNAL_PREFIX};

/// What a decision did to the stream.
enum Outcome {
    /// Routed, or passed through: let the request go on.
    Continue,
    /// A local reply was sent.
    Replied,
    /// Waiting for the body.
    Buffering,
}

pub struct Http<M: Module> {
    serving: Rc<Serving>,
    shared: Rc<Shared>,
    /// Request kept while the body is buffered for a body key.
    pending: Option<(RequestView, RuntimeState)>,
    /// Body bytes copied out of the host buffer so far (kept here, so trailers can end
    /// the body even on a host that does not expose the buffer in the trailers callback).
    body: Vec<u8>,
    /// Unit this module routed to (for response hooks).
    routed_unit: Option<String>,
    response_headers: Vec<(String, String)>,
    module: PhantomData<M>,
}

impl<M: Module> Http<M> {
    pub fn new(serving: Rc<Serving>, shared: Rc<Shared>) -> Self {
        Http {
            serving,
            shared,
            pending: None,
            body: Vec::new(),
            routed_unit: None,
            response_headers: Vec::new(),
            module: PhantomData,
        }
    }

    fn debug(&self, message: &str) {
        host::log(LogLevel::Debug, &format!("unitgate {}: {message}", M::NAME));
    }

    /// Without any valid policy: strip what we cannot verify, then fail open or closed.
    fn no_policy(&self, np: &NoPolicy) -> Action {
        for (name, _) in host::request_headers() {
            let name = name.to_ascii_lowercase();
            if name.starts_with(INTERNAL_PREFIX) {
                let _ = host::remove_request_header(&name);
            }
        }
        let _ = host::remove_request_header(&np.cluster_header);
        match np.fail_mode {
            FailMode::Open => {
                self.shared.metrics.decision("none", Reason::NoPolicy);
                self.debug("no policy loaded: passing through unrouted");
                Action::Continue
            }
            FailMode::Closed => {
                if let Err(status) = apply::no_policy_reply(&self.shared.metrics) {
                    self.debug(&format!(
                        "no policy loaded; host refused the 503 ({status})"
                    ));
                    return Action::Continue;
                }
                self.debug("no policy loaded: 503");
                Action::Pause
            }
        }
    }

    /// Runs the module's stage and applies the result.
    fn decide(&mut self, active: &Active, req: &RequestView, state: &RuntimeState) -> Outcome {
        let (p, ing) = (&active.policy, &active.ingress);
        let decision = if M::ONE_PASS {
            unitgate_core::decide_stages(p, ing, req, state, active.settings.stages)
        } else {
            unitgate_core::decide_stage(p, ing, req, state, M::STAGE)
        };
        match decision {
            Decision::NeedBody if req.body == Body::NotRead => {
                self.pending = Some((req.clone(), state.clone()));
                self.debug("body key needed: buffering the request body");
                Outcome::Buffering
            }
            Decision::NeedBody => {
                // The core asked for a body it already has: route nowhere rather than loop.
                self.debug("decision needs a body that was already given; passing through");
                Outcome::Continue
            }
            Decision::Route(route) => {
                let applied = apply::route(active, &self.shared, &route);
                self.debug(&applied.log);
                self.routed_unit = Some(route.unit);
                self.response_headers = applied.response_headers;
                Outcome::Continue
            }
            Decision::Reply(reply) => {
                let sent = apply::reply(active, &self.shared.metrics, &reply);
                self.debug(&format!(
                    "local reply {} ({}){}",
                    reply.status,
                    reply.reason.as_str(),
                    if sent.is_ok() {
                        ""
                    } else {
                        ": refused by the host"
                    }
                ));
                // A refused reply leaves the request unrouted (cluster header stripped).
                match sent {
                    Ok(()) => Outcome::Replied,
                    Err(_) => Outcome::Continue,
                }
            }
        }
    }

    fn runtime_state(&self, active: &Active, req: &RequestView, now_ms: u64) -> RuntimeState {
        let mut state = RuntimeState {
            now_ms,
            ..RuntimeState::default()
        };
        if active.assigns_ids {
            let seq = self.shared.seq.get().wrapping_add(1);
            self.shared.seq.set(seq);
            let addr = host::property(&["source", "address"]).unwrap_or_default();
            state.assigned_id = Some(request::assigned_id(
                req.header("x-request-id").unwrap_or(""),
                &String::from_utf8_lossy(&addr),
                now_ms,
                seq,
            ));
        }
        if active.settings.stages.isolation {
            breaker_store::prepare(active, &mut state);
        }
        state
    }

    /// Decides on the buffered body (or its absence) after a pause.
    fn resume_with(&mut self, body: Body) -> Action {
        let Some((mut req, state)) = self.pending.take() else {
            return Action::Continue;
        };
        let serving = Rc::clone(&self.serving);
        let Serving::Policy(active) = &*serving else {
            return Action::Continue;
        };
        req.body = body;
        match self.decide(active, &req, &state) {
            // A reply stops the stream; anything else lets the buffered request go on.
            Outcome::Replied => Action::Pause,
            Outcome::Continue | Outcome::Buffering => Action::Continue,
        }
    }
}

impl<M: Module> Context for Http<M> {}

impl<M: Module> HttpContext for Http<M> {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let serving = Rc::clone(&self.serving);
        let active = match &*serving {
            Serving::NoPolicy(np) => return self.no_policy(np),
            Serving::Policy(active) => active,
        };
        let now_ms = host::now_ms();
        let mut req = request::view(host::request_headers());

        // Trust boundary: drop unverifiable internal headers and any inbound cluster header.
        let mut strip = unitgate_core::untrusted_headers(&active.ingress, &req, now_ms);
        strip.push(active.settings.cluster_header.clone());
        for name in &strip {
            // Never fails on Envoy or ngx in this phase; the core's view drops them anyway.
            let _ = host::remove_request_header(name);
        }
        req.headers
            .retain(|(name, _)| !strip.iter().any(|s| s.eq_ignore_ascii_case(name)));

        let hint = request::body_hint(&req, end_of_stream);
        req.body = match hint {
            BodyHint::Absent => Body::Absent,
            BodyHint::Follows | BodyHint::Unknown => Body::NotRead,
        };
        let state = self.runtime_state(active, &req, now_ms);
        let mut outcome = self.decide(active, &req, &state);
        if matches!(outcome, Outcome::Buffering) && hint == BodyHint::Unknown && host::is_nginx() {
            // ngx_wasm_module never says end_of_stream on headers; without framing
            // headers there is no body, and pausing for one would hang the request.
            self.pending = None;
            req.body = Body::Absent;
            outcome = self.decide(active, &req, &state);
        }
        match outcome {
            Outcome::Continue => Action::Continue,
            Outcome::Replied | Outcome::Buffering => Action::Pause,
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.pending.is_none() {
            return Action::Continue;
        }
        let limit = match &*self.serving {
            Serving::Policy(active) => active.settings.body_limit,
            Serving::NoPolicy(_) => return Action::Continue,
        };
        if body_size > limit {
            self.body = Vec::new();
            self.debug(&format!(
                "request body over {limit} bytes: body keys missing"
            ));
            return self.resume_with(Body::TooLarge);
        }
        // The host re-presents the whole buffered body each time; copy only what is new.
        if let Some(new) = body_size.checked_sub(self.body.len()).filter(|n| *n > 0) {
            let chunk = host::request_body(self.body.len(), new);
            self.body.extend_from_slice(&chunk);
        }
        if !end_of_stream {
            return Action::Pause;
        }
        let body = std::mem::take(&mut self.body);
        self.resume_with(Body::Bytes(body))
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        if self.pending.is_none() {
            return Action::Continue;
        }
        let body = std::mem::take(&mut self.body);
        self.resume_with(Body::Bytes(body))
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let (Some(unit), Serving::Policy(active)) = (&self.routed_unit, &*self.serving) {
            if active.settings.stages.isolation {
                if let Some(status) = host::response_status() {
                    let metrics = &self.shared.metrics;
                    breaker_store::observe(active, metrics, M::NAME, unit, status, host::now_ms());
                }
            }
        }
        for (name, value) in &self.response_headers {
            // Response filters run in reverse chain order: the last module's explanation
            // (the final decision) is added first and the earlier modules keep it.
            if name == EXPLAIN_HEADER && host::response_header(EXPLAIN_HEADER).is_some() {
                continue;
            }
            let _ = host::add_response_header(name, value);
        }
        Action::Continue
    }
}
