//! Gray release: sticky, monotone percentage buckets.
//!
//! bucket = xxh64(salt + ":" + value, seed 0) % 10000; the user is in iff
//! bucket < round(percent * 100). Raising the percent only adds buckets, so it is monotone.

use crate::compile::CGray;
use crate::decision::{Decision, Reason};
use crate::keys::KeyRead;
use crate::model::ApiKind;
use crate::pipeline::{Env, Pending, Step};
use crate::stamp::verify_tester_token;
use std::borrow::Cow;
use xxhash_rust::xxh64::Xxh64;

/// Number of gray buckets (0.01% each).
pub const GRAY_BUCKETS: u32 = 10_000;

/// The user's bucket in 0..10000 for a rule salt.
pub fn gray_bucket(salt: &str, value: &str) -> u32 {
    let mut h = Xxh64::new(0);
    h.update(salt.as_bytes());
    h.update(b":");
    h.update(value.as_bytes());
    // < 10000, so the cast cannot truncate.
    (h.digest() % u64::from(GRAY_BUCKETS)) as u32
}

/// round(percent * 100), clamped to 0..=10000; NaN counts as 0.
pub fn gray_threshold(percent: f64) -> u32 {
    let t = (percent * 100.0).round();
    if t.is_nan() || t <= 0.0 {
        0
    } else if t >= f64::from(GRAY_BUCKETS) {
        GRAY_BUCKETS
    } else {
        t as u32
    }
}

/// Is this user in the gray group at `percent`?
pub fn in_gray(salt: &str, value: &str, percent: f64) -> bool {
    gray_bucket(salt, value) < gray_threshold(percent)
}

/// Stage 2: tester override, then the first gray rule that matches. Core APIs only; requests
/// forwarded by a peer are never regrayed.
pub(crate) fn step<'p>(env: &Env<'p, '_>, mut pending: Pending<'p>) -> Step<'p> {
    if pending.class != ApiKind::Core || pending.reason == Reason::Forwarded {
        return Step::Go(pending);
    }
    let p = env.p;
    let token = env.req().header(&env.ingress.tester_header);
    let tester = token.and_then(|t| verify_tester_token(&env.ingress.secret, t, env.state.now_ms));
    if let Some(&unit) = tester.and_then(|name| p.unit_index.get(name)) {
        pending.unit = unit;
        pending.reason = Reason::Tester;
        return Step::Go(pending);
    }
    for g in &p.gray {
        let api_ok = match &pending.api {
            Some(a) => g.apis.is_empty() || g.apis.contains_key(a.as_ref()),
            None => g.apis.is_empty(),
        };
        if !api_ok {
            continue;
        }
        if let Some((key, values)) = &g.when {
            match env.read_key(*key) {
                KeyRead::NeedBody => return Step::Done(Decision::NeedBody),
                KeyRead::Value(v) if values.contains_key(v.as_ref()) => {}
                _ => continue,
            }
        }
        // First matching rule decides; find the user's sticky value.
        let value = match env.read_key(g.sticky) {
            KeyRead::NeedBody => return Step::Done(Decision::NeedBody),
            KeyRead::Value(v) => Some(v),
            KeyRead::Missing => sticky_from_cookie(env, g, &mut pending).map(Cow::Owned),
        };
        let Some(value) = value else {
            return Step::Go(pending);
        };
        let value = value.as_ref();
        if g.deny.contains_key(value) {
            return Step::Go(pending);
        }
        let reason = if g.allow.contains_key(value) {
            Reason::GrayAllow
        } else if in_gray(&g.salt, value, g.percent) {
            Reason::Gray
        } else {
            return Step::Go(pending);
        };
        pending.unit = g.target;
        pending.reason = reason;
        return Step::Go(pending);
    }
    Step::Go(pending)
}

/// The assigned-id cookie, or the host's fresh id (then set as a cookie on the response).
fn sticky_from_cookie(env: &Env, g: &CGray, pending: &mut Pending) -> Option<String> {
    let cookie = g.assign_cookie.as_deref()?;
    if let Some(v) = env
        .req()
        .cookie(cookie)
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        return Some(v.to_string());
    }
    let id = env.state.assigned_id.as_deref()?.trim();
    // Only ids that are safe inside a Set-Cookie value.
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return None;
    }
    pending.response_headers.push((
        "set-cookie".into(),
        format!("{cookie}={id}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax"),
    ));
    Some(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(gray_threshold(0.0), 0);
        assert_eq!(gray_threshold(0.004), 0);
        assert_eq!(gray_threshold(0.005), 1);
        assert_eq!(gray_threshold(12.34), 1234);
        assert_eq!(gray_threshold(100.0), 10_000);
        assert_eq!(gray_threshold(250.0), 10_000);
        assert_eq!(gray_threshold(-3.0), 0);
        assert_eq!(gray_threshold(f64::NAN), 0);
        assert_eq!(gray_threshold(f64::INFINITY), 10_000);
    }

    #[test]
    fn bucket_is_stable_and_spread() {
        // Pinned: the same on every host and architecture (xxh64, seed 0).
        let direct = xxhash_rust::xxh64::xxh64(b"city-gray:u42", 0) % 10_000;
        assert_eq!(u64::from(gray_bucket("city-gray", "u42")), direct);
        assert!(!in_gray("s", "anyone", 0.0));
        assert!(in_gray("s", "anyone", 100.0));
        let inside = (0..10_000)
            .filter(|i| in_gray("s", &format!("user{i}"), 10.0))
            .count();
        assert!((800..1200).contains(&inside), "about 10%: {inside}");
    }
}
