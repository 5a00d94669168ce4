//! Policy validation: parse (unknown fields, types), then semantic checks, all errors at once.

mod apis;
mod context;
mod float_text;
mod gray;
mod isolation;
mod parse;
mod read;
mod rules;
mod units;

use crate::compile::CompiledPolicy;
use crate::model::Policy;
use crate::report::{Loaded, Report};
use serde_json::Value;

/// Parse + validate (reporting ALL errors) + compile.
pub fn load(json: &str) -> Result<Loaded, Report> {
    match serde_json::from_str::<Value>(json) {
        Ok(v) => load_value(&v),
        Err(e) => {
            let mut r = Report::default();
            r.error("", format!("not JSON: {e}"));
            Err(r)
        }
    }
}

/// Like `load`, for a document that is already a JSON value (e.g. inside plugin config).
pub fn load_value(v: &Value) -> Result<Loaded, Report> {
    let mut r = Report::default();
    let Some(policy) = parse::parse_policy(v, &mut r) else {
        return Err(r);
    };
    let checked = validate_policy(&policy);
    r.errors.extend(checked.errors);
    r.warnings.extend(checked.warnings);
    if !r.errors.is_empty() {
        return Err(r);
    }
    match CompiledPolicy::compile(policy) {
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

/// Semantic checks of a typed policy (references, ranges, cycles, names...).
/// Usable on policies that did not come from JSON (AppActive import, tools).
pub fn validate_policy(p: &Policy) -> Report {
    let mut c = context::Check::new(p);
    units::check(&mut c);
    rules::check_keys(&mut c);
    rules::check_rules(&mut c);
    apis::check(&mut c);
    gray::check(&mut c);
    isolation::check(&mut c);
    units::unreferenced(&mut c);
    c.r
}
