//! Stage 3: write-forbidden windows, then health (API switches, down units, breakers) with
//! transitive failover.

use crate::compile::CForbid;
use crate::decision::{Decision, LocalReply, Reason};
use crate::keys::{transform_value, KeyRead, KeyValue};
use crate::pipeline::{json_object, json_reply, Env, Json, Pending, Step};
use crate::request::eq_ascii_case;
use crate::{BreakerStatus, CompiledPolicy, FailMode};

/// `unit` and the units its traffic fails over to, in order, each once: the only breakers a
/// route to `unit` can depend on.
pub fn failover_chain<'a>(p: &'a CompiledPolicy, unit: &str) -> Vec<&'a str> {
    let mut out: Vec<usize> = Vec::new();
    let mut cur = p.unit_index.get(unit).copied();
    while let Some(u) = cur.filter(|u| !out.contains(u)) {
        out.push(u);
        cur = p.iso.failover_of(u);
    }
    out.iter()
        .filter_map(|&u| p.unit_at(u).map(|x| x.name.as_str()))
        .collect()
}

pub(crate) fn step<'p>(env: &Env<'p, '_>, mut pending: Pending<'p>) -> Step<'p> {
    match forbidden(env, &pending) {
        Ok(Some(reply)) => return Step::Done(reply),
        Ok(None) => {}
        Err(NeedBody) => return Step::Done(Decision::NeedBody),
    }
    let Some(cause) = sick(env, &pending, pending.unit) else {
        return Step::Go(pending);
    };
    let forwarded = pending.reason == Reason::Forwarded;
    // Follow the failover map to a healthy unit; a visited unit ends the walk.
    let mut seen = vec![pending.unit];
    let mut cur = pending.unit;
    while let Some(next) = env.p.iso.failover_of(cur) {
        if seen.contains(&next) || (forwarded && env.cloud_of(next) != Some(env.local_cloud)) {
            break;
        }
        if sick(env, &pending, next).is_none() {
            pending.unit = next;
            pending.reason = cause;
            return Step::Go(pending);
        }
        seen.push(next);
        cur = next;
    }
    match env.ingress.fail_mode {
        FailMode::Open => {
            pending.unit = env.local;
            pending.reason = Reason::NoHealthyUnit;
            Step::Go(pending)
        }
        FailMode::Closed => {
            let unit = env
                .p
                .unit_at(pending.unit)
                .map(|u| u.name.as_str())
                .unwrap_or("");
            let body = json_object(&[
                ("error", Json::Str("no_healthy_unit")),
                ("unit", Json::Str(unit)),
            ]);
            Step::Done(json_reply(503, body, Reason::NoHealthyUnit))
        }
    }
}

/// Why `unit` cannot take this request, if it cannot.
fn sick(env: &Env, pending: &Pending, unit: usize) -> Option<Reason> {
    let iso = &env.p.iso;
    let switched = pending
        .api
        .as_ref()
        .is_some_and(|a| iso.switched_off(a, unit));
    if switched {
        return Some(Reason::FailoverApiSwitch);
    }
    if iso.down.contains(&unit) {
        return Some(Reason::FailoverDown);
    }
    let name = env.p.unit_at(unit).map(|u| u.name.as_str()).unwrap_or("");
    if env.state.breakers.get(name) == Some(&BreakerStatus::Open) {
        return Some(Reason::FailoverBreaker);
    }
    None
}

/// A key source needs the body, which has not been read yet.
struct NeedBody;

/// The 503 of the first write-forbidden window that applies.
fn forbidden<'p>(env: &Env, pending: &Pending) -> Result<Option<Decision<'p>>, NeedBody> {
    let now = env.state.now_ms;
    for w in &env.p.iso.forbid {
        let applies = w
            .methods
            .iter()
            .any(|m| eq_ascii_case(m.as_bytes(), env.req().method.as_bytes()))
            && (w.units.is_empty() || w.units.contains(&pending.unit))
            && (w.apis.is_empty()
                || pending
                    .api
                    .as_deref()
                    .is_some_and(|a| w.apis.contains_key(a)))
            && w.until_ms.is_none_or(|until| now < until)
            && key_matches(env, w)?;
        if applies {
            return Ok(Some(reply(w, now)));
        }
    }
    Ok(None)
}

fn key_matches(env: &Env, w: &CForbid) -> Result<bool, NeedBody> {
    let Some(key) = w.key else { return Ok(true) };
    if w.ranges.is_empty() && w.values.is_empty() {
        return Ok(true);
    }
    // A key that cannot be read might be one of the window's: forbidden unless the policy
    // allows it (`unreadable_key`).
    let raw = match env.read_key(key) {
        KeyRead::NeedBody => return Err(NeedBody),
        KeyRead::Missing => return Ok(w.forbid_unreadable),
        KeyRead::Value(v) => v,
    };
    if w.values.contains_key(raw.as_ref()) {
        return Ok(true);
    }
    let transform = env.p.src.keys.get(key).map(|k| &k.transform);
    Ok(match transform.map(|t| transform_value(t, &raw)) {
        Some(KeyValue::Number(n)) => w.ranges.get(n).is_some(),
        Some(KeyValue::Malformed) => w.forbid_unreadable,
        _ => false,
    })
}

fn reply<'p>(w: &CForbid, now_ms: u64) -> Decision<'p> {
    let retry = match w.until_ms {
        Some(until) => until.saturating_sub(now_ms).div_ceil(1000).max(1),
        None => u64::from(w.retry_after_s.unwrap_or(5)),
    };
    let body = json_object(&[
        ("error", Json::Str("write_forbidden")),
        ("retry_after_s", Json::Num(retry)),
        ("window", Json::Str(&w.name)),
    ]);
    Decision::Reply(LocalReply {
        status: 503,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("retry-after".into(), retry.to_string()),
        ],
        body,
        reason: Reason::WriteForbidden,
    })
}
