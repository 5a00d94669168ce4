//! The http context every module uses: strip, decide, apply; body buffering for body keys.

use crate::apply::{self, EXPLAIN_HEADER};
use crate::breaker_store::{self, Routed};
use crate::host;
use crate::module::Module;
use crate::request::{self, BodyHint};
use crate::root::{self, Shared};
use crate::serving::{Active, NoPolicy, Serving};
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, LogLevel};
use std::marker::PhantomData;
use std::rc::Rc;
use unitgate_core::{
    Body, BreakerStatus, Decision, FailMode, Reason, RequestView, RuntimeState, CTX_HEADER,
    HOP_HEADER, INTERNAL_PREFIX,
};

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
    /// The request's header map and runtime inputs, kept while the body is buffered for a
    /// body key (the view is built again from the map when the body is in).
    pending: Option<(Vec<u8>, RuntimeState)>,
    /// Body bytes copied out of the host buffer so far (kept here, so trailers can end
    /// the body even on a host that does not expose the buffer in the trailers callback).
    body: Vec<u8>,
    /// Where this module routed the request (for the breaker).
    routed: Option<Routed>,
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
            routed: None,
            response_headers: Vec::new(),
            module: PhantomData,
        }
    }

    /// A debug line, formatted only when the proxy logs at debug level.
    fn debug(&self, message: impl FnOnce() -> String) {
        if self.shared.debug.get() {
            root::log(LogLevel::Debug, M::NAME, &message());
        }
    }

    /// Without any valid policy: strip what we cannot verify, then fail open or closed. On
    /// nginx a removed header is still forwarded and escapes the conf's `proxy_set_header`,
    /// which drops a client copy left alone: remove nothing there.
    fn no_policy(&self, np: &NoPolicy) -> Action {
        let map = if np.on_nginx {
            Vec::new()
        } else {
            host::request_header_map()
        };
        let names: Vec<String> = request::pairs(&map)
            .map(|(name, _)| String::from_utf8_lossy(name).to_ascii_lowercase())
            .collect();
        for name in names {
            if name.starts_with(INTERNAL_PREFIX) || name == np.cluster_header {
                let _ = host::remove_request_header(&name);
            }
        }
        match np.fail_mode {
            FailMode::Open => {
                self.shared.metrics.decision("none", Reason::NoPolicy);
                self.debug(|| "no policy loaded: passing through unrouted".into());
                Action::Continue
            }
            FailMode::Closed => {
                if apply::no_policy_reply(&self.shared.metrics).is_err() {
                    self.debug(|| "no policy loaded; the host refused the 503".into());
                    return Action::Continue;
                }
                self.debug(|| "no policy loaded: 503".into());
                Action::Pause
            }
        }
    }

    fn core_decide<'p>(
        active: &'p Active,
        req: &RequestView,
        state: &RuntimeState,
    ) -> Decision<'p> {
        let (p, ing) = (&active.policy, &active.ingress);
        if M::ONE_PASS {
            unitgate_core::decide_stages(p, ing, req, state, active.settings.stages)
        } else {
            unitgate_core::decide_in_chain(p, ing, req, state, M::STAGE, active.settings.chain)
        }
    }

    /// Runs the module's stages and applies the result. Breakers are read only for the
    /// unit the request would go to and its failover chain, and only when it routes.
    fn decide(&mut self, active: &Active, req: &RequestView, state: &RuntimeState) -> Outcome {
        let mut decision = Self::core_decide(active, req, state);
        let mut breakers = None;
        if let (Decision::Route(route), true) = (&decision, active.settings.stages.isolation) {
            breakers = breaker_store::not_closed(active, &route.unit, state.now_ms);
            if let Some(breakers) = &breakers {
                let state = RuntimeState {
                    breakers: breakers.clone(),
                    ..state.clone()
                };
                decision = Self::core_decide(active, req, &state);
            }
        }
        match decision {
            Decision::NeedBody if req.body == Body::NotRead => {
                self.debug(|| "body key needed: buffering the request body".into());
                Outcome::Buffering
            }
            Decision::NeedBody => {
                // The core asked for a body it already has: route nowhere rather than loop.
                self.debug(|| "decision needs a body that was already given; passing".into());
                Outcome::Continue
            }
            Decision::Route(route) => {
                let last = !active.settings.chain.later;
                let applied = apply::route(active, &self.shared, &route, last);
                if let Some(log) = applied.log {
                    self.debug(|| log);
                }
                // Kept for the response only when a breaker counts it.
                if breaker_store::counts_responses(active) {
                    let seen = breakers.and_then(|b| b.get(route.unit.as_ref()).copied());
                    self.routed = Some(Routed {
                        unit: route.unit.into_owned(),
                        breaker: seen.unwrap_or(BreakerStatus::Closed),
                        at_ms: state.now_ms,
                    });
                }
                self.response_headers = applied.response_headers;
                Outcome::Continue
            }
            Decision::Reply(reply) => {
                let sent = apply::reply(active, &self.shared.metrics, &reply);
                self.debug(|| {
                    let refused = if sent.is_ok() {
                        ""
                    } else {
                        ": refused by the host"
                    };
                    format!(
                        "local reply {} ({}){refused}",
                        reply.status,
                        reply.reason.as_str()
                    )
                });
                // A refused reply leaves the request unrouted (cluster header stripped).
                match sent {
                    Ok(()) => Outcome::Replied,
                    Err(_) => Outcome::Continue,
                }
            }
        }
    }

    /// The view the core decides on, and the internal headers to strip from the request.
    /// Internal headers never go on, except the tester header and a handoff to a later module
    /// of this chain; the view keeps a peer stamp (the core verifies it, once, bound to this
    /// request) and a trusted handoff. Only headers present are stripped.
    fn trusted_view<'m>(active: &Active, map: &'m [u8]) -> (RequestView<'m>, Vec<String>) {
        let mut req = request::view(map, &active.reads);
        let chain = active.settings.chain;
        let mut strip = unitgate_core::untrusted_headers(&active.ingress, &req, chain.earlier);
        if chain.earlier && !chain.later && req.header(HOP_HEADER).is_some() {
            strip.push(HOP_HEADER.to_string());
        }
        let cluster = &active.settings.cluster_header;
        if !strip.contains(cluster) && req.header(cluster).is_some() {
            strip.push(cluster.clone());
        }
        let keep = |name: &str| name == CTX_HEADER || (chain.earlier && name == HOP_HEADER);
        req.headers
            .retain(|(name, _)| keep(name) || !strip.iter().any(|s| s.as_str() == name.as_ref()));
        (req, strip)
    }

    /// Runtime inputs: the time (0 when no decision can depend on it), and an id for users
    /// without a sticky key when some gray rule assigns ids (no host call: the id mixes the
    /// request id, the time, a per-VM salt and sequence number).
    fn runtime_state(&self, active: &Active, req: &RequestView, now_ms: u64) -> RuntimeState {
        let mut state = RuntimeState {
            now_ms,
            ..RuntimeState::default()
        };
        if active.assigns_ids {
            let seq = self.shared.seq.get().wrapping_add(1);
            self.shared.seq.set(seq);
            state.assigned_id = Some(request::assigned_id(
                req.header("x-request-id").unwrap_or(""),
                self.shared.salt.get(),
                now_ms,
                seq,
            ));
        }
        state
    }

    /// Decides on the buffered body (or its absence) after a pause.
    fn resume_with(&mut self, body: Body) -> Action {
        let Some((map, state)) = self.pending.take() else {
            return Action::Continue;
        };
        let serving = Rc::clone(&self.serving);
        let Serving::Policy(active) = &*serving else {
            return Action::Continue;
        };
        let (mut req, _) = Self::trusted_view(active, &map);
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
        let map = host::request_header_map();
        let (mut req, strip) = Self::trusted_view(active, &map);
        // The clock is a host call: read only when the decision can depend on the time.
        let now_ms =
            if active.reads_clock || unitgate_core::request_reads_clock(&active.ingress, &req) {
                host::now_ms()
            } else {
                0
            };
        // On nginx a removed header is still forwarded (and then escapes the conf's
        // `proxy_set_header`, which does replace a client's copy): remove nothing there.
        let on_nginx = active.settings.nginx_variable.is_some();
        if !on_nginx {
            for name in &strip {
                let _ = host::remove_request_header(name);
            }
        }

        // nginx_variable means ngx_wasm_module (nginx needs it to route): it never says
        // end_of_stream on headers, and without framing headers there is no body.
        let hint = request::body_hint(&req, end_of_stream);
        req.body = match hint {
            BodyHint::Absent => Body::Absent,
            BodyHint::Unknown if on_nginx => Body::Absent,
            BodyHint::Follows | BodyHint::Unknown => Body::NotRead,
        };
        let state = self.runtime_state(active, &req, now_ms);
        let outcome = self.decide(active, &req, &state);
        if let Outcome::Buffering = outcome {
            self.pending = Some((map, state));
        }
        match outcome {
            Outcome::Continue => Action::Continue,
            Outcome::Replied => Action::Pause,
            // ngx_wasm_module never resumes a filter paused on headers; it calls the body
            // callback with the whole body before proxy_pass, where the decision is applied.
            Outcome::Buffering if on_nginx => Action::Continue,
            Outcome::Buffering => Action::Pause,
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
            self.debug(|| "request body over body_limit: body keys missing".into());
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
        let Serving::Policy(active) = &*self.serving else {
            return Action::Continue;
        };
        if let Some(routed) = &self.routed {
            if let Some(status) = host::response_status() {
                breaker_store::observe(active, &self.shared, M::NAME, routed, status);
            }
        }
        for (name, value) in &self.response_headers {
            // Only the last module of a chain explains (whatever order the host runs response
            // callbacks in); a peer ingress's explanation, already there, is kept.
            if name == EXPLAIN_HEADER && host::response_header(EXPLAIN_HEADER).is_some() {
                continue;
            }
            let _ = host::add_response_header(name, value);
        }
        Action::Continue
    }
}
