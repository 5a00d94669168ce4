//! Typed parsing of the policy document that reports every unknown field and every type error,
//! each with its JSON pointer. Arrays are parsed element by element, so one bad element does not
//! hide the errors of the next.

use crate::model::*;
use crate::report::{ptr, Report};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Top-level fields of policy v1, in document order.
pub(crate) const POLICY_FIELDS: &[&str] = &[
    "version",
    "units",
    "keys",
    "rules",
    "apis",
    "default_api",
    "gray",
    "isolation",
    "missing_key",
];

fn ignored_pointer(path: &serde_ignored::Path) -> String {
    use serde_ignored::Path as P;
    match path {
        P::Root => String::new(),
        P::Seq { parent, index } => ptr(&ignored_pointer(parent), index),
        P::Map { parent, key } => ptr(&ignored_pointer(parent), key),
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            ignored_pointer(parent)
        }
    }
}

fn error_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment as S;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            S::Seq { index } => out = ptr(&out, index),
            S::Map { key } => out = ptr(&out, key),
            S::Enum { variant } => out = ptr(&out, variant),
            S::Unknown => {}
        }
    }
    out
}

/// Deserialize one value; unknown fields and type errors become errors under `base`.
pub(crate) fn typed<T: DeserializeOwned>(v: &Value, base: &str, r: &mut Report) -> Option<T> {
    let mut unknown: Vec<String> = Vec::new();
    let result = {
        let mut record = |path: serde_ignored::Path| unknown.push(ignored_pointer(&path));
        let de = serde_ignored::Deserializer::new(v, &mut record);
        serde_path_to_error::deserialize::<_, T>(de)
    };
    match result {
        Ok(t) => {
            for u in unknown {
                let path = format!("{base}{u}");
                let field = u.rsplit('/').next().unwrap_or("").to_string();
                let expected = super::fields::expected_at(&path);
                r.error(path, format!("unknown field \"{field}\"{expected}"));
            }
            Some(t)
        }
        Err(e) => {
            let path = format!("{base}{}", error_pointer(e.path()));
            r.error(path, e.into_inner().to_string());
            None
        }
    }
}

/// An array parsed element by element; None if it or any element is malformed.
fn list<T: DeserializeOwned>(
    obj: &Map<String, Value>,
    field: &str,
    required: bool,
    r: &mut Report,
) -> Option<Vec<T>> {
    let base = format!("/{field}");
    match obj.get(field) {
        None if required => {
            r.error(base, "missing required field: expected an array");
            None
        }
        None => Some(Vec::new()),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            let mut ok = true;
            for (i, item) in items.iter().enumerate() {
                match typed::<T>(item, &format!("{base}/{i}"), r) {
                    Some(t) => out.push(t),
                    None => ok = false,
                }
            }
            ok.then_some(out)
        }
        Some(other) => {
            r.error(
                base,
                format!("invalid type: {}, expected an array", kind(other)),
            );
            None
        }
    }
}

fn one<T: DeserializeOwned>(
    obj: &Map<String, Value>,
    field: &str,
    expected: &str,
    r: &mut Report,
) -> Option<T> {
    let base = format!("/{field}");
    match obj.get(field) {
        None => {
            r.error(base, format!("missing required field: expected {expected}"));
            None
        }
        Some(v) => typed(v, &base, r),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The typed policy, or None when any structural error was reported.
pub(crate) fn parse_policy(v: &Value, r: &mut Report) -> Option<Policy> {
    let Value::Object(obj) = v else {
        r.error(
            "",
            format!("invalid type: {}, expected a policy v1 object", kind(v)),
        );
        return None;
    };
    for k in obj.keys() {
        if !POLICY_FIELDS.contains(&k.as_str()) {
            r.error(
                ptr("", k),
                format!(
                    "unknown field \"{k}\"; expected one of: {}",
                    POLICY_FIELDS.join(", ")
                ),
            );
        }
    }
    let version = one::<String>(obj, "version", "a version string", r);
    let units = list::<Unit>(obj, "units", true, r);
    let keys = list::<ShardKey>(obj, "keys", false, r);
    let rules = list::<MappingRule>(obj, "rules", false, r);
    let apis = list::<ApiClass>(obj, "apis", false, r);
    let default_api = one::<DefaultApi>(
        obj,
        "default_api",
        "an object like {\"class\":\"core\",\"rule\":\"...\"}",
        r,
    );
    let gray = list::<GrayRule>(obj, "gray", false, r);
    let isolation = match obj.get("isolation") {
        None => Some(Isolation::default()),
        Some(v) => typed::<Isolation>(v, "/isolation", r),
    };
    let missing_key = one::<MissingKey>(
        obj,
        "missing_key",
        "{\"action\":\"local\"}, {\"action\":\"default\"} or {\"action\":\"reject\",\"status\":400}",
        r,
    );
    Some(Policy {
        version: version?,
        units: units?,
        keys: keys?,
        rules: rules?,
        apis: apis?,
        default_api: default_api?,
        gray: gray?,
        isolation: isolation?,
        missing_key: missing_key?,
    })
}
