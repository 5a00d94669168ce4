//! The decision pipeline: shard routing -> gray -> isolation, whole or one chained stage.

use crate::compile::CompiledPolicy;
use crate::decision::{Decision, LocalReply, Reason, Route};
use crate::keys::{Extractor, KeyRead};
use crate::model::{ApiKind, MissingKey};
use crate::request::RequestView;
use crate::stamp::{single, Binding, Ctx, Hop};
use crate::{Ingress, RuntimeState, Stage, CTX_HEADER, HOP_HEADER};
use std::borrow::Cow;

/// Where a request is headed while the stages run.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Pending<'p> {
    pub unit: usize,
    pub reason: Reason,
    /// Borrowed from the policy, unless a peer stamp or a handoff named it.
    pub api: Option<Cow<'p, str>>,
    pub class: ApiKind,
    pub response_headers: Vec<(String, String)>,
}

/// A stage either hands on a route or ends the decision.
pub(crate) enum Step<'p> {
    Go(Pending<'p>),
    Done(Decision<'p>),
}

/// Everything one decision reads: the policy side (`'p`, what a route borrows) and the
/// request side (`'r`).
pub(crate) struct Env<'p, 'r> {
    pub p: &'p CompiledPolicy,
    pub ingress: &'p Ingress,
    pub state: &'r RuntimeState,
    pub x: Extractor<'r>,
    pub local: usize,
    pub local_cloud: &'p str,
}

impl<'p, 'r> Env<'p, 'r> {
    pub fn req(&self) -> &RequestView<'_> {
        self.x.req
    }

    pub fn read_key(&self, key: usize) -> KeyRead<'r> {
        match self.p.src.keys.get(key) {
            Some(k) => self.x.read(k),
            None => KeyRead::Missing,
        }
    }

    pub fn cloud_of(&self, unit: usize) -> Option<&str> {
        self.p.unit_at(unit).map(|u| u.cloud.as_str())
    }
}

/// JSON reply with content-type set.
pub(crate) fn json_reply<'p>(status: u16, body: String, reason: Reason) -> Decision<'p> {
    Decision::Reply(LocalReply {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body,
        reason,
    })
}

/// A value in a reply body.
pub(crate) enum Json<'a> {
    Str(&'a str),
    Num(u64),
}

/// `{"k":v,...}` exactly as serde_json writes it; `fields` must be in key order (serde_json's
/// maps are sorted). Hand-written: serde_json's serializer was only needed for these bodies.
pub(crate) fn json_object(fields: &[(&str, Json)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(k, &mut out);
        out.push(':');
        match v {
            Json::Str(s) => json_string(s, &mut out),
            Json::Num(n) => out.push_str(&n.to_string()),
        }
    }
    out.push('}');
    out
}

/// A JSON string with serde_json's escapes.
fn json_string(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                for nibble in [(c as u32) >> 4, (c as u32) & 15] {
                    if let Some(&h) = HEX.get(nibble as usize) {
                        out.push(char::from(h));
                    }
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Which stages a decision runs. Shard routing always runs: without it there is no route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stages {
    pub gray: bool,
    pub isolation: bool,
}

impl Stages {
    /// Shard, gray and isolation.
    pub const ALL: Stages = Stages {
        gray: true,
        isolation: true,
    };

    /// Every stage up to and including `stage` (what a per-concern module alone runs).
    pub fn up_to(stage: Stage) -> Stages {
        Stages {
            gray: stage >= Stage::Gray,
            isolation: stage >= Stage::Isolation,
        }
    }

    /// The last stage that runs: the stage a route's ctx stamp names.
    pub fn last(self) -> Stage {
        if self.isolation {
            Stage::Isolation
        } else if self.gray {
            Stage::Gray
        } else {
            Stage::Shard
        }
    }
}

/// Whether decisions under `p` at this ingress can depend on `RuntimeState::now_ms` whatever
/// the request: a unit in another cloud (a route that crosses signs a stamp with the time), a
/// write-forbidden window with an end, or a breaker. With [`request_reads_clock`] false as
/// well, every time gives the same decision, so a host need not read its clock (a host call
/// on every request).
pub fn policy_reads_clock(p: &CompiledPolicy) -> bool {
    let mut clouds = p.units().map(|u| u.cloud.as_str());
    let first = clouds.next();
    clouds.any(|c| Some(c) != first)
        || p.iso.forbid.iter().any(|w| w.until_ms.is_some())
        || p.breaker_config().is_some()
}

/// Whether this request brings something checked against the time: a peer stamp, or a
/// tester token (see [`policy_reads_clock`]).
pub fn request_reads_clock(ingress: &Ingress, req: &RequestView) -> bool {
    req.header(CTX_HEADER).is_some() || req.header(&ingress.tester_header).is_some()
}

/// Whole pipeline: shard routing -> gray -> isolation. Never panics.
pub fn decide<'p>(
    p: &'p CompiledPolicy,
    ingress: &'p Ingress,
    req: &RequestView,
    state: &RuntimeState,
) -> Decision<'p> {
    decide_stages(p, ingress, req, state, Stages::ALL)
}

/// One pass over the chosen `stages` (the one-pass module's `"stages"`). Equal to
/// `decide_stage(.., stages.last())` when the stages are all those up to the last one.
pub fn decide_stages<'p>(
    p: &'p CompiledPolicy,
    ingress: &'p Ingress,
    req: &RequestView,
    state: &RuntimeState,
    stages: Stages,
) -> Decision<'p> {
    decide_with(p, ingress, req, state, stages.last(), stages, Chain::ALONE)
}

/// Where a per-concern module sits in its filter chain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Chain {
    /// An earlier unitgate module runs in the same chain: trust its `x-unitgate-hop`.
    pub earlier: bool,
    /// A later unitgate module follows: hand the route on in `x-unitgate-hop`.
    pub later: bool,
}

impl Chain {
    /// A module alone (or the one-pass module).
    pub const ALONE: Chain = Chain {
        earlier: false,
        later: false,
    };
}

/// What the per-concern module for `stage`, alone, decides: every step up to `stage`.
pub fn decide_stage<'p>(
    p: &'p CompiledPolicy,
    ingress: &'p Ingress,
    req: &RequestView,
    state: &RuntimeState,
    stage: Stage,
) -> Decision<'p> {
    decide_in_chain(p, ingress, req, state, stage, Chain::ALONE)
}

/// What the per-concern module for `stage` decides at its place in a chain. With an earlier
/// module, a handoff from a lower stage is resumed and only this stage's step runs; without
/// one (or without a handoff) every step up to `stage` runs. A verified peer stamp means the
/// peer cloud forwarded the request: it stays in this cloud, and gray is skipped. A route
/// carries the handoff when a later module follows, else the peer stamp when it crosses.
pub fn decide_in_chain<'p>(
    p: &'p CompiledPolicy,
    ingress: &'p Ingress,
    req: &RequestView,
    state: &RuntimeState,
    stage: Stage,
    chain: Chain,
) -> Decision<'p> {
    decide_with(p, ingress, req, state, stage, Stages::up_to(stage), chain)
}

fn decide_with<'p>(
    p: &'p CompiledPolicy,
    ingress: &'p Ingress,
    req: &RequestView,
    state: &RuntimeState,
    stage: Stage,
    stages: Stages,
    chain: Chain,
) -> Decision<'p> {
    // A scan of the few units: hashing the name cost more, on every request.
    let Some(local) = p.units().position(|u| u.name == ingress.local_unit) else {
        let body = json_object(&[("error", Json::Str("unknown_local_unit"))]);
        return json_reply(503, body, Reason::NoPolicy);
    };
    let Some(local_cloud) = p.unit_at(local).map(|u| u.cloud.as_str()) else {
        return json_reply(
            503,
            json_object(&[("error", Json::Str("unknown_local_unit"))]),
            Reason::NoPolicy,
        );
    };
    let env = Env {
        p,
        ingress,
        state,
        x: Extractor::new(req),
        local,
        local_cloud,
    };
    match run(&env, stage, stages, chain) {
        Step::Go(pending) => Decision::Route(finish(&env, pending, stage, chain)),
        Step::Done(d) => d,
    }
}

fn run<'p>(env: &Env<'p, '_>, stage: Stage, stages: Stages, chain: Chain) -> Step<'p> {
    // The earlier module already read (and verified) anything inbound.
    if chain.earlier {
        if let Some(pending) = resumable(env, stage) {
            return match stage {
                Stage::Shard => Step::Go(pending),
                Stage::Gray => crate::gray::step(env, pending),
                Stage::Isolation => crate::isolation::step(env, pending),
            };
        }
    }
    if let Some(value) = single(env.req(), CTX_HEADER) {
        let key = match request_key(env) {
            Ok(key) => key,
            Err(NeedBody) => return Step::Done(Decision::NeedBody),
        };
        let bound = Binding {
            method: &env.req().method,
            path: &env.req().path,
            key: key.as_deref().unwrap_or("-"),
        };
        let (secret, max_age) = (&env.ingress.secret, env.ingress.stamp_max_age_ms);
        let ctx = Ctx::decode(value, secret, &bound, env.state.now_ms, max_age);
        if let Some(c) = ctx.filter(|c| c.origin_cloud != env.local_cloud) {
            let pending = forwarded(env, c);
            return if stages.isolation {
                crate::isolation::step(env, pending)
            } else {
                Step::Go(pending)
            };
        }
    }
    let mut step = route(env);
    if stages.gray {
        step = and_then(step, |p| crate::gray::step(env, p));
    }
    if stages.isolation {
        step = and_then(step, |p| crate::isolation::step(env, p));
    }
    step
}

fn and_then<'p>(step: Step<'p>, f: impl FnOnce(Pending<'p>) -> Step<'p>) -> Step<'p> {
    match step {
        Step::Go(p) => f(p),
        done => done,
    }
}

/// The body has to be read first.
struct NeedBody;

/// Raw value of the shard key of the request's API (what a peer stamp is bound to).
fn request_key(env: &Env) -> Result<Option<String>, NeedBody> {
    let class = env.p.classify(env.req());
    if class.kind != ApiKind::Core {
        return Ok(None);
    }
    let Some(rule) = class.rule.and_then(|r| env.p.rules.get(r)) else {
        return Ok(None);
    };
    match env.read_key(rule.key) {
        KeyRead::Value(v) => Ok(Some(v.into_owned())),
        KeyRead::Missing => Ok(None),
        KeyRead::NeedBody => Err(NeedBody),
    }
}

/// A peer's request: the stamped unit if it is in this cloud, else the local unit.
fn forwarded<'p>(env: &Env<'p, '_>, c: Ctx) -> Pending<'p> {
    let unit = env
        .p
        .unit_index
        .get(&c.unit)
        .copied()
        .filter(|&u| env.cloud_of(u) == Some(env.local_cloud))
        .unwrap_or(env.local);
    Pending {
        unit,
        reason: Reason::Forwarded,
        api: c.api.map(Cow::Owned),
        class: c.class,
        response_headers: Vec::new(),
    }
}

/// The route an earlier module of this chain handed on, if it is from an earlier stage.
fn resumable<'p>(env: &Env<'p, '_>, stage: Stage) -> Option<Pending<'p>> {
    let hop = Hop::decode(single(env.req(), HOP_HEADER)?)?;
    if hop.stage >= stage {
        return None;
    }
    let unit = *env.p.unit_index.get(&hop.unit)?;
    Some(Pending {
        unit,
        reason: hop.reason,
        api: hop.api.map(Cow::Owned),
        class: hop.class,
        response_headers: Vec::new(),
    })
}

/// Stage 1: API class, then the key for core APIs.
fn route<'p>(env: &Env<'p, '_>) -> Step<'p> {
    let p = env.p;
    let class = p.classify(env.req());
    let go = |unit: usize, reason: Reason| {
        Step::Go(Pending {
            unit,
            reason,
            api: class.api.map(Cow::Borrowed),
            class: class.kind,
            response_headers: Vec::new(),
        })
    };
    let center = p.center.unwrap_or(env.local);
    match class.kind {
        ApiKind::Global => go(center, Reason::Global),
        ApiKind::Shared if crate::classify::is_read(&env.req().method) => {
            go(env.local, Reason::SharedRead)
        }
        ApiKind::Shared => go(center, Reason::SharedWrite),
        ApiKind::Core => {
            let rule = class.rule.and_then(|r| p.rules.get(r));
            let read = rule.map_or(KeyRead::Missing, |r| env.read_key(r.key));
            let mapped = match (&read, rule) {
                (KeyRead::NeedBody, _) => return Step::Done(Decision::NeedBody),
                (KeyRead::Value(raw), Some(r)) => {
                    let transform = p.src.keys.get(r.key).map(|k| &k.transform);
                    transform.and_then(|t| r.map(p, t, raw))
                }
                _ => None,
            };
            if let Some((unit, reason)) = mapped {
                return go(unit, reason);
            }
            match &p.src.missing_key {
                MissingKey::Local => go(env.local, Reason::MissingKeyLocal),
                MissingKey::Default => match rule.and_then(|r| r.default) {
                    Some(u) => go(u, Reason::MissingKeyDefault),
                    None => go(env.local, Reason::MissingKeyLocal),
                },
                MissingKey::Reject { status } => {
                    let key = rule
                        .and_then(|r| p.src.keys.get(r.key))
                        .map(|k| k.name.as_str())
                        .unwrap_or("");
                    let body = json_object(&[
                        ("error", Json::Str("missing_shard_key")),
                        ("key", Json::Str(key)),
                    ]);
                    Step::Done(json_reply(*status, body, Reason::MissingKeyReject))
                }
            }
        }
    }
}

/// Turn the final pending route into a Route: upstream, crossing flag, and the handoff for
/// a later module or, on the last module, the signed stamp for a peer cloud.
fn finish<'p>(env: &Env<'p, '_>, pending: Pending<'p>, stage: Stage, chain: Chain) -> Route<'p> {
    let unit = env.p.unit_at(pending.unit);
    let name = unit.map_or("", |u| u.name.as_str());
    let cloud = unit.map_or(env.local_cloud, |u| u.cloud.as_str());
    let crossed = cloud != env.local_cloud;
    let remote = crossed
        .then(|| env.ingress.remote_upstreams.get(cloud))
        .flatten();
    let upstream = remote
        .or(unit.map(|u| &u.upstream))
        .map_or("", String::as_str);
    let request_headers = if chain.later {
        let hop = Hop {
            stage,
            unit: name.to_string(),
            api: pending.api.as_deref().map(str::to_string),
            class: pending.class,
            reason: pending.reason,
        };
        vec![(HOP_HEADER.to_string(), hop.encode())]
    } else if crossed {
        let ctx = Ctx {
            origin_cloud: env.local_cloud.to_string(),
            unit: name.to_string(),
            api: pending.api.as_deref().map(str::to_string),
            class: pending.class,
            reason: pending.reason,
            version: env.p.version().to_string(),
            ts_ms: env.state.now_ms,
        };
        // Read again only for the (rare) crossing request; the body, if any, is here by now.
        let key = request_key(env).ok().flatten();
        let bound = Binding {
            method: &env.req().method,
            path: &env.req().path,
            key: key.as_deref().unwrap_or("-"),
        };
        vec![(
            CTX_HEADER.to_string(),
            ctx.encode(&env.ingress.secret, &bound),
        )]
    } else {
        Vec::new()
    };
    Route {
        unit: Cow::Borrowed(name),
        upstream: Cow::Borrowed(upstream),
        reason: pending.reason,
        api: pending.api,
        class: pending.class,
        crossed,
        request_headers,
        response_headers: pending.response_headers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written bodies are byte for byte what serde_json writes.
    #[test]
    fn json_object_matches_serde_json() {
        let odd = "q\"b\\n\nr\rt\tb\u{8}f\u{c}z\u{1}\u{1f}é😀";
        let got = json_object(&[("error", Json::Str(odd)), ("n", Json::Num(u64::MAX))]);
        let want = serde_json::json!({"error": odd, "n": u64::MAX}).to_string();
        assert_eq!(got, want);
        assert_eq!(json_object(&[]), "{}");
    }
}
