//! Isolation: down units, failover (no cycles), API switches, write-forbidden windows, breaker.

use super::context::Check;
use super::float_text::float_text;
use super::rules::domain;
use crate::model::UnreadableKey;
use crate::ranges::parse_span;
use crate::report::ptr;
use crate::time::parse_rfc3339_utc;

pub(crate) fn check(c: &mut Check) {
    let iso = &c.p.isolation;
    for (i, u) in iso.down_units.iter().enumerate() {
        c.unit(&ptr("/isolation/down_units", i), u);
    }
    if !c.p.units.is_empty() && c.p.units.iter().all(|u| iso.down_units.contains(&u.name)) {
        c.warn(
            "/isolation/down_units",
            "every unit is down: requests follow fail_mode",
        );
    }
    failover(c);
    for (si, s) in iso.api_switches.iter().enumerate() {
        let base = ptr("/isolation/api_switches", si);
        c.api(&ptr(&base, "api"), &s.api);
        for (ui, u) in s.down_units.iter().enumerate() {
            c.unit(&ptr(&ptr(&base, "down_units"), ui), u);
        }
    }
    write_forbidden(c);
    breaker(c);
}

fn failover(c: &mut Check) {
    let map = &c.p.isolation.failover;
    for (from, to) in map {
        let path = ptr("/isolation/failover", from);
        c.unit(&path, from);
        c.target(&path, to);
    }
    // Each cycle is reported once, at its smallest unit name (BTreeMap order).
    let mut reported: Vec<&str> = Vec::new();
    for start in map.keys() {
        let mut chain: Vec<&str> = vec![start];
        let mut cur = start.as_str();
        while let Some(next) = map.get(cur) {
            if let Some(pos) = chain.iter().position(|u| *u == next) {
                let cycle = chain.get(pos..).unwrap_or_default();
                let first = cycle.iter().min().copied().unwrap_or(start);
                if !reported.contains(&first) && first == start {
                    reported.push(first);
                    let mut shown: Vec<&str> = cycle.to_vec();
                    shown.push(next);
                    c.error(
                        ptr("/isolation/failover", start),
                        format!("failover cycle {}: expected a chain that ends at a unit without failover", super::joined(&shown, " -> ")),
                    );
                }
                break;
            }
            chain.push(next);
            cur = next;
        }
    }
}

fn write_forbidden(c: &mut Check) {
    let p = c.p;
    c.unique(
        "write_forbidden window",
        p.isolation
            .write_forbidden
            .iter()
            .enumerate()
            .map(|(i, w)| {
                (
                    format!("/isolation/write_forbidden/{i}/name"),
                    w.name.as_str(),
                )
            }),
    );
    for (wi, w) in p.isolation.write_forbidden.iter().enumerate() {
        let base = ptr("/isolation/write_forbidden", wi);
        c.name(&ptr(&base, "name"), "window name", &w.name);
        for (ui, u) in w.units.iter().enumerate() {
            c.unit(&ptr(&ptr(&base, "units"), ui), u);
        }
        for (ai, a) in w.apis.iter().enumerate() {
            c.api(&ptr(&ptr(&base, "apis"), ai), a);
        }
        c.methods(&ptr(&base, "methods"), &w.methods);
        let key = match &w.key {
            Some(k) => c.key(&ptr(&base, "key"), k),
            None => {
                if !w.ranges.is_empty() || !w.values.is_empty() {
                    c.error(
                        ptr(&base, "key"),
                        "ranges and values need a key: expected \"key\"",
                    );
                }
                if w.unreadable_key == UnreadableKey::Allow {
                    c.warn(
                        ptr(&base, "unreadable_key"),
                        "has no effect without \"key\": the window forbids every write it covers",
                    );
                }
                None
            }
        };
        if let Some(k) = key {
            if domain(&k.transform).is_none() && !w.ranges.is_empty() {
                c.error(
                    ptr(&base, "ranges"),
                    format!("ranges need a numeric key (transform number, modulo or hash); key \"{}\" is identity", k.name),
                );
            }
        }
        for (si, s) in w.ranges.iter().enumerate() {
            if let Err(e) = parse_span(s) {
                c.error(ptr(&ptr(&base, "ranges"), si), e);
            }
        }
        if let Some(until) = &w.until {
            if let Err(e) = parse_rfc3339_utc(until) {
                c.error(ptr(&base, "until"), e);
            }
        }
        if w.retry_after_s == Some(0) {
            c.error(ptr(&base, "retry_after_s"), "expected at least 1 second");
        }
    }
}

fn breaker(c: &mut Check) {
    let Some(b) = &c.p.isolation.breaker else {
        return;
    };
    let base = "/isolation/breaker";
    if b.window_ms == 0 {
        c.error(ptr(base, "window_ms"), "expected at least 1 ms");
    }
    if b.open_ms == 0 {
        c.error(ptr(base, "open_ms"), "expected at least 1 ms");
    }
    if b.min_requests == 0 {
        c.error(ptr(base, "min_requests"), "expected at least 1");
    }
    if b.half_open_probes == 0 {
        c.error(ptr(base, "half_open_probes"), "expected at least 1");
    }
    if b.consecutive_errors == Some(0) {
        c.error(ptr(base, "consecutive_errors"), "expected at least 1");
    }
    let e = b.error_percent;
    if !e.is_finite() || e <= 0.0 || e > 100.0 {
        c.error(
            ptr(base, "error_percent"),
            format!(
                "error_percent {}: expected more than 0 and at most 100",
                float_text(e)
            ),
        );
    }
}
