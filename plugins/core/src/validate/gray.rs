//! Gray rules: references, percent, cookie names.

use super::context::Check;
use super::float_text::float_text;
use crate::model::ApiKind;
use crate::report::ptr;

/// A cookie name token: no separators, spaces or controls.
pub(crate) fn cookie_name_ok(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

pub(crate) fn check(c: &mut Check) {
    let p = c.p;
    c.unique(
        "gray rule",
        p.gray
            .iter()
            .enumerate()
            .map(|(i, g)| (format!("/gray/{i}/name"), g.name.as_str())),
    );
    for (i, g) in p.gray.iter().enumerate() {
        let base = ptr("/gray", i);
        c.name(&ptr(&base, "name"), "gray rule name", &g.name);
        for (ai, a) in g.apis.iter().enumerate() {
            let path = ptr(&ptr(&base, "apis"), ai);
            if let Some(kind) = c.api(&path, a) {
                if kind != ApiKind::Core {
                    c.error(
                        path,
                        format!("API \"{a}\" is not core: gray release applies to core APIs only"),
                    );
                }
            }
        }
        if let Some(w) = &g.when {
            c.key(&format!("{base}/when/key"), &w.key);
            if w.values.is_empty() {
                c.warn(
                    format!("{base}/when/values"),
                    "empty list: the rule never applies",
                );
            }
        }
        c.key(&ptr(&base, "sticky_key"), &g.sticky_key);
        c.target(&ptr(&base, "target"), &g.target);
        let pct = g.percent;
        if !pct.is_finite() || !(0.0..=100.0).contains(&pct) {
            c.error(
                ptr(&base, "percent"),
                format!(
                    "percent {}: expected a number from 0 to 100",
                    float_text(pct)
                ),
            );
        } else if pct == 0.0 {
            c.warn(
                ptr(&base, "percent"),
                "0%: only the allow list goes to the target",
            );
        } else if pct == 100.0 {
            c.warn(
                ptr(&base, "percent"),
                "100%: every matching user goes to the target (except the deny list)",
            );
        }
        if let Some(cookie) = &g.assign_cookie {
            if !cookie_name_ok(cookie) {
                c.error(
                    ptr(&base, "assign_cookie"),
                    format!("invalid cookie name \"{cookie}\""),
                );
            }
        }
        for (vi, v) in g.allow.iter().enumerate() {
            if g.deny.contains(v) {
                c.warn(
                    ptr(&ptr(&base, "allow"), vi),
                    format!("\"{v}\" is also denied; deny wins"),
                );
            }
        }
    }
}
