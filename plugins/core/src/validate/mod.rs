//! Policy validation: parse (unknown fields, types), then semantic checks, all errors at once.

mod apis;
mod context;
mod float_text;
mod gray;
mod isolation;
pub(crate) mod json;
mod json_number;
mod json_strict;
mod parse;
mod read;
mod rules;
mod units;

use crate::compile::{CompiledPolicy, PreparedRule};
use crate::model::Policy;
use crate::report::{Loaded, Report};
use crate::tables::RuleLists;
use json::Json;
use serde::de::IgnoredAny;
use serde_json::Value;

/// Parse + validate (reporting ALL errors) + compile, straight from the JSON text: no JSON
/// tree is built, and the big lists go to compact tables (see `tables`).
pub fn load(json: &str) -> Result<Loaded, Report> {
    // serde_json checks the syntax (and words the error) without allocating anything.
    if let Err(e) = serde_json::from_str::<IgnoredAny>(json) {
        let mut r = Report::default();
        r.error("", format!("not JSON: {e}"));
        return Err(r);
    }
    let mut r = Report::default();
    let Some((policy, lists)) = parse::parse_policy(Json::new(json), &mut r) else {
        return Err(r);
    };
    let (checked, prepared) = check(&policy, lists);
    r.errors.extend(checked.errors);
    r.warnings.extend(checked.warnings);
    if !r.errors.is_empty() {
        return Err(r);
    }
    match CompiledPolicy::compile(policy, prepared) {
        Ok(policy) => Ok(Loaded {
            policy,
            warnings: r.warnings,
        }),
        Err(c) => {
            r.errors.extend(c.errors);
            Err(r)
        }
    }
}

/// Like `load`, for a document that is already a JSON value.
pub fn load_value(v: &Value) -> Result<Loaded, Report> {
    load(&v.to_string())
}

/// `items` separated by `sep`, for messages: `[T]::join` instantiated a copy per element type
/// and carried more than this loop.
pub(crate) fn joined<S: AsRef<str>>(items: &[S], sep: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(item.as_ref());
    }
    out
}

/// Semantic checks of a typed policy (references, ranges, cycles, names...).
/// Usable on policies that did not come from JSON (AppActive import, tools).
pub fn validate_policy(p: &Policy) -> Report {
    check(p, p.rules.iter().map(RuleLists::of).collect()).0
}

/// The checks, reading the rules' lists from `lists`; also returns the tables they built.
fn check(p: &Policy, lists: Vec<RuleLists>) -> (Report, Vec<PreparedRule>) {
    let mut c = context::Check::new(p, lists);
    units::check(&mut c);
    rules::check_keys(&mut c);
    rules::check_rules(&mut c);
    apis::check(&mut c);
    gray::check(&mut c);
    isolation::check(&mut c);
    units::unreferenced(&mut c);
    (c.r, c.rules)
}
