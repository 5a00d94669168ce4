//! Reading typed values out of a JSON `Value`, by hand: every problem becomes an error at its
//! JSON pointer, worded as serde words it ("invalid type: integer `7`, expected a string").
//! Hand-written instead of serde derive: the derived code, instantiated for a path-tracking
//! deserializer, was most of the size of the proxy-wasm modules.

use crate::report::{ptr, ptr_token, Report};
use serde_json::{Map, Value};

/// serde's description of a value it did not expect.
pub(crate) fn unexpected(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) if n.is_f64() => format!("floating point `{n}`"),
        Value::Number(n) => format!("integer `{n}`"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "sequence".to_string(),
        Value::Object(_) => "map".to_string(),
    }
}

/// "invalid type: ..., expected ..." at `path`; always None.
pub(crate) fn invalid_type<T>(v: &Value, path: &str, expected: &str, r: &mut Report) -> Option<T> {
    type_error(v, path, expected, r);
    None
}

#[inline(never)]
fn type_error(v: &Value, path: &str, expected: &str, r: &mut Report) {
    r.error(
        path,
        format!("invalid type: {}, expected {expected}", unexpected(v)),
    );
}

pub(crate) fn string(v: &Value, path: &str, r: &mut Report) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        _ => invalid_type(v, path, "a string", r),
    }
}

pub(crate) fn boolean(v: &Value, path: &str, r: &mut Report) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => invalid_type(v, path, "a boolean", r),
    }
}

pub(crate) fn float(v: &Value, path: &str, r: &mut Report) -> Option<f64> {
    match v.as_f64() {
        Some(f) => Some(f),
        None => invalid_type(v, path, "f64", r),
    }
}

/// An unsigned integer up to `max`; `name` is the Rust type serde would name ("u32").
pub(crate) fn unsigned(v: &Value, path: &str, max: u64, name: &str, r: &mut Report) -> Option<u64> {
    match v {
        Value::Number(n) if !n.is_f64() => match n.as_u64().filter(|&x| x <= max) {
            Some(x) => Some(x),
            None => {
                r.error(
                    path,
                    format!("invalid value: integer `{n}`, expected {name}"),
                );
                None
            }
        },
        _ => invalid_type(v, path, name, r),
    }
}

pub(crate) fn u64_at(v: &Value, path: &str, r: &mut Report) -> Option<u64> {
    unsigned(v, path, u64::MAX, "u64", r)
}

pub(crate) fn u32_at(v: &Value, path: &str, r: &mut Report) -> Option<u32> {
    unsigned(v, path, u32::MAX.into(), "u32", r).and_then(|x| u32::try_from(x).ok())
}

pub(crate) fn usize_at(v: &Value, path: &str, r: &mut Report) -> Option<usize> {
    let max = u64::try_from(usize::MAX).unwrap_or(u64::MAX);
    unsigned(v, path, max, "usize", r).and_then(|x| usize::try_from(x).ok())
}

/// An array read element by element: every bad element is reported.
pub(crate) fn seq<T>(
    v: &Value,
    path: &str,
    r: &mut Report,
    item: fn(&Value, &str, &mut Report) -> Option<T>,
) -> Option<Vec<T>> {
    let Value::Array(items) = v else {
        return invalid_type(v, path, "a sequence", r);
    };
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, x) in items.iter().enumerate() {
        match item(x, &ptr(path, i), r) {
            Some(t) => out.push(t),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

pub(crate) fn strings(v: &Value, path: &str, r: &mut Report) -> Option<Vec<String>> {
    seq(v, path, r, string)
}

/// serde's list of expected variants: "`a` or `b`", "one of `a`, `b`, `c`".
fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [a] => a.clone(),
        [a, b] => format!("{a} or {b}"),
        _ => format!("one of {}", quoted.join(", ")),
    }
}

pub(crate) fn unknown_variant(name: &str, variants: &[&str], path: &str, r: &mut Report) {
    r.error(
        path,
        format!("unknown variant `{name}`, expected {}", one_of(variants)),
    );
}

/// An externally tagged enum: `"name"` or `{"name": payload}`. Returns the variant's index and
/// its payload (None for the string form).
pub(crate) fn variant<'v>(
    v: &'v Value,
    path: &str,
    variants: &[&str],
    r: &mut Report,
) -> Option<(usize, Option<&'v Value>)> {
    let (name, payload) = match v {
        Value::String(s) => (s.as_str(), None),
        Value::Object(m) if m.len() == 1 => match m.iter().next() {
            Some((k, x)) => (k.as_str(), Some(x)),
            None => return None,
        },
        Value::Object(_) => {
            r.error(path, "invalid value: map, expected map with a single key");
            return None;
        }
        _ => return invalid_type(v, path, "string or map", r),
    };
    match variants.iter().position(|n| *n == name) {
        Some(i) => Some((i, payload)),
        None => {
            unknown_variant(name, variants, path, r);
            None
        }
    }
}

/// A variant without data: `"name"` or `{"name": null}`.
pub(crate) fn unit_variant(
    v: &Value,
    path: &str,
    variants: &[&str],
    r: &mut Report,
) -> Option<usize> {
    let (i, data) = variant(v, path, variants, r)?;
    match data.filter(|x| !x.is_null()) {
        None => Some(i),
        Some(x) => {
            let at = ptr(path, variants.get(i).copied().unwrap_or_default());
            invalid_type(x, &at, "unit", r)
        }
    }
}

/// The payload of a variant that carries data; the string form has none.
pub(crate) fn payload<'v>(
    payload: Option<&'v Value>,
    path: &str,
    name: &str,
    r: &mut Report,
) -> Option<(&'v Value, String)> {
    let at = ptr(path, name);
    match payload {
        Some(x) => Some((x, at)),
        None => {
            r.error(at, "invalid type: unit variant, expected newtype variant");
            None
        }
    }
}

/// A JSON object read as a struct: unknown fields and missing required fields are reported
/// when it is opened; fields are then read one by one (a missing one reads as None).
pub(crate) struct Obj<'v> {
    pub map: &'v Map<String, Value>,
    pub path: String,
}

impl<'v> Obj<'v> {
    /// `what` is serde's name for the struct ("struct Unit"); `fields` lists every field in
    /// declaration order, `required` those without a default.
    #[inline(never)]
    pub fn open(
        v: &'v Value,
        path: &str,
        what: &str,
        fields: &[&str],
        required: &[&str],
        r: &mut Report,
    ) -> Option<Obj<'v>> {
        let Value::Object(map) = v else {
            return invalid_type(v, path, what, r);
        };
        for k in map.keys() {
            if !fields.contains(&k.as_str()) {
                r.error(
                    ptr(path, k),
                    format!(
                        "unknown field \"{}\"; expected one of: {}",
                        ptr_token(k),
                        fields.join(", ")
                    ),
                );
            }
        }
        for f in required {
            if !map.contains_key(*f) {
                r.error(path, format!("missing field `{f}`"));
            }
        }
        Some(Obj {
            map,
            path: path.to_string(),
        })
    }

    /// A required field (its absence was reported by `open`).
    pub fn req<T>(
        &self,
        name: &str,
        r: &mut Report,
        read: fn(&Value, &str, &mut Report) -> Option<T>,
    ) -> Option<T> {
        let v = self.map.get(name)?;
        read(v, &ptr(&self.path, name), r)
    }

    /// An optional field: absent or null is None.
    pub fn opt<T>(
        &self,
        name: &str,
        r: &mut Report,
        read: fn(&Value, &str, &mut Report) -> Option<T>,
    ) -> Option<Option<T>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(v) => read(v, &ptr(&self.path, name), r).map(Some),
        }
    }

    /// A field with a default: absent is `T::default()`.
    pub fn or_default<T: Default>(
        &self,
        name: &str,
        r: &mut Report,
        read: fn(&Value, &str, &mut Report) -> Option<T>,
    ) -> Option<T> {
        match self.map.get(name) {
            None => Some(T::default()),
            Some(v) => read(v, &ptr(&self.path, name), r),
        }
    }
}
