//! Version, units, clouds, the center role and units nothing routes to.

use super::context::Check;
use crate::model::{ApiKind, Role};
use crate::report::ptr;

pub(crate) fn check(c: &mut Check) {
    let p = c.p;
    c.name("/version", "version", &p.version);
    if p.units.is_empty() {
        c.error("/units", "expected at least one unit");
    }
    for (i, u) in p.units.iter().enumerate() {
        c.name(&format!("/units/{i}/name"), "unit name", &u.name);
        c.name(&format!("/units/{i}/cloud"), "cloud name", &u.cloud);
        if u.upstream.trim().is_empty() || u.upstream.contains(char::is_whitespace) {
            c.error(
                format!("/units/{i}/upstream"),
                "expected a non-empty upstream (cluster) name without spaces",
            );
        }
    }
    c.unique(
        "unit",
        p.units
            .iter()
            .enumerate()
            .map(|(i, u)| (format!("/units/{i}/name"), u.name.as_str())),
    );
    let centers: Vec<usize> = (0..p.units.len())
        .filter(|&i| p.units.get(i).is_some_and(|u| u.role == Role::Center))
        .collect();
    for &i in centers.iter().skip(1) {
        let first = centers.first().copied().unwrap_or(0);
        c.error(
            format!("/units/{i}/role"),
            format!(
                "more than one center unit (the first is /units/{first}); expected exactly one"
            ),
        );
    }
    if let Some(&i) = centers.first() {
        if let Some(u) = p.units.get(i) {
            c.targets.entry(u.name.clone()).or_insert(0);
        }
    } else {
        needs_center(c);
    }
}

/// Global and shared APIs route to the center unit, so one must exist.
fn needs_center(c: &mut Check) {
    let p = c.p;
    let mut users: Vec<(String, ApiKind)> = p
        .apis
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("/apis/{i}/class"), a.class))
        .collect();
    users.push(("/default_api/class".to_string(), p.default_api.class));
    for (path, kind) in users {
        if kind != ApiKind::Core {
            let what = if kind == ApiKind::Global {
                "global"
            } else {
                "shared"
            };
            c.error(
                path,
                format!("a {what} API routes to the center unit, but no unit has role \"center\"; expected exactly one"),
            );
        }
    }
}

/// Warnings for units that no rule, gray rule, failover or center role sends traffic to.
pub(crate) fn unreferenced(c: &mut Check) {
    for (i, u) in c.p.units.iter().enumerate() {
        if !c.targets.contains_key(&u.name) {
            c.warn(
                ptr("/units", i),
                format!(
                    "unit \"{}\" is never a routing target (only as a local unit for missing keys and shared reads)",
                    u.name
                ),
            );
        }
    }
}
