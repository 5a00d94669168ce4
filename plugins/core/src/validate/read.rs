//! Reading typed values out of JSON text, by hand: every problem becomes an error at its
//! JSON pointer, worded as serde words it ("invalid type: integer `7`, expected a string").
//! Hand-written instead of serde derive: the derived code, instantiated for a path-tracking
//! deserializer, was most of the size of the proxy-wasm modules.

use super::joined;
use super::json::{Json, Kind};
use crate::report::{ptr, ptr_token, Report};
use std::borrow::Cow;

/// serde's description of a value it did not expect.
pub(crate) fn unexpected(v: Json) -> String {
    match v.kind() {
        Kind::Null => "null".to_string(),
        Kind::Bool(b) => format!("boolean `{b}`"),
        Kind::Number => match v.number() {
            Some(n) if n.is_f64() => format!("floating point `{n}`"),
            Some(n) => format!("integer `{n}`"),
            None => format!("number `{}`", v.text()),
        },
        Kind::String => format!("string {:?}", v.str().unwrap_or_default()),
        Kind::Array => "sequence".to_string(),
        Kind::Object => "map".to_string(),
    }
}

/// "invalid type: ..., expected ..." at `path`; always None.
pub(crate) fn invalid_type<T>(v: Json, path: &str, expected: &str, r: &mut Report) -> Option<T> {
    type_error(v, path, expected, r);
    None
}

#[inline(never)]
fn type_error(v: Json, path: &str, expected: &str, r: &mut Report) {
    r.error(
        path,
        format!("invalid type: {}, expected {expected}", unexpected(v)),
    );
}

pub(crate) fn string(v: Json, path: &str, r: &mut Report) -> Option<String> {
    str_at(v, path, r).map(Cow::into_owned)
}

/// A string without copying it when it has no escapes.
pub(crate) fn str_at<'a>(v: Json<'a>, path: &str, r: &mut Report) -> Option<Cow<'a, str>> {
    match v.str() {
        Some(s) => Some(s),
        None => invalid_type(v, path, "a string", r),
    }
}

pub(crate) fn boolean(v: Json, path: &str, r: &mut Report) -> Option<bool> {
    match v.kind() {
        Kind::Bool(b) => Some(b),
        _ => invalid_type(v, path, "a boolean", r),
    }
}

pub(crate) fn float(v: Json, path: &str, r: &mut Report) -> Option<f64> {
    match v.number().and_then(|n| n.as_f64()) {
        Some(f) => Some(f),
        None => invalid_type(v, path, "f64", r),
    }
}

/// An unsigned integer up to `max`; `name` is the Rust type serde would name ("u32").
pub(crate) fn unsigned(v: Json, path: &str, max: u64, name: &str, r: &mut Report) -> Option<u64> {
    match v.number() {
        Some(n) if !n.is_f64() => match n.as_u64().filter(|&x| x <= max) {
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

pub(crate) fn u64_at(v: Json, path: &str, r: &mut Report) -> Option<u64> {
    unsigned(v, path, u64::MAX, "u64", r)
}

pub(crate) fn u32_at(v: Json, path: &str, r: &mut Report) -> Option<u32> {
    unsigned(v, path, u32::MAX.into(), "u32", r).and_then(|x| u32::try_from(x).ok())
}

pub(crate) fn usize_at(v: Json, path: &str, r: &mut Report) -> Option<usize> {
    let max = u64::try_from(usize::MAX).unwrap_or(u64::MAX);
    unsigned(v, path, max, "usize", r).and_then(|x| usize::try_from(x).ok())
}

/// An array read element by element: every bad element is reported.
pub(crate) fn seq<T>(
    v: Json,
    path: &str,
    r: &mut Report,
    item: fn(Json, &str, &mut Report) -> Option<T>,
) -> Option<Vec<T>> {
    if v.kind() != Kind::Array {
        return invalid_type(v, path, "a sequence", r);
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (i, x) in v.items().enumerate() {
        match item(x, &ptr(path, i), r) {
            Some(t) => out.push(t),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

pub(crate) fn strings(v: Json, path: &str, r: &mut Report) -> Option<Vec<String>> {
    seq(v, path, r, string)
}

/// serde's list of expected variants: "`a` or `b`", "one of `a`, `b`, `c`".
fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [a] => a.clone(),
        [a, b] => format!("{a} or {b}"),
        _ => format!("one of {}", joined(&quoted, ", ")),
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
    v: Json<'v>,
    path: &str,
    variants: &[&str],
    r: &mut Report,
) -> Option<(usize, Option<Json<'v>>)> {
    let (name, payload) = match v.kind() {
        Kind::String => (v.str().unwrap_or_default(), None),
        Kind::Object => match members(v).as_slice() {
            [(k, x)] => (k.clone(), Some(*x)),
            _ => {
                r.error(path, "invalid value: map, expected map with a single key");
                return None;
            }
        },
        _ => return invalid_type(v, path, "string or map", r),
    };
    let name = name.as_ref();
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
    v: Json,
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
    payload: Option<Json<'v>>,
    path: &str,
    name: &str,
    r: &mut Report,
) -> Option<(Json<'v>, String)> {
    let at = ptr(path, name);
    match payload {
        Some(x) => Some((x, at)),
        None => {
            r.error(at, "invalid type: unit variant, expected newtype variant");
            None
        }
    }
}

/// An object's members as serde_json's map holds them: sorted by key, the last of duplicates.
pub(crate) fn members(v: Json<'_>) -> Vec<(Cow<'_, str>, Json<'_>)> {
    v.map()
}

/// The members of an object read as a struct: like `members`, and a repeated field is an
/// error, as serde makes it (taking the last one would hide an operator's slip).
pub(crate) fn struct_members<'v>(
    v: Json<'v>,
    path: &str,
    r: &mut Report,
) -> Vec<(Cow<'v, str>, Json<'v>)> {
    let mut seen: Vec<Cow<str>> = Vec::new();
    for (k, _) in v.members() {
        if seen.contains(&k) {
            r.error(ptr(path, &k), format!("duplicate field `{k}`"));
        } else {
            seen.push(k);
        }
    }
    members(v)
}

/// The member `name` of sorted `members`.
pub(crate) fn member<'v>(members: &[(Cow<'v, str>, Json<'v>)], name: &str) -> Option<Json<'v>> {
    members.iter().find(|(k, _)| k == name).map(|(_, x)| *x)
}

/// A JSON object read as a struct: unknown fields and missing required fields are reported
/// when it is opened; fields are then read one by one (a missing one reads as None).
pub(crate) struct Obj<'v> {
    pub map: Vec<(Cow<'v, str>, Json<'v>)>,
    pub path: String,
}

impl<'v> Obj<'v> {
    /// `what` is serde's name for the struct ("struct Unit"); `fields` lists every field in
    /// declaration order, `required` those without a default.
    #[inline(never)]
    pub fn open(
        v: Json<'v>,
        path: &str,
        what: &str,
        fields: &[&str],
        required: &[&str],
        r: &mut Report,
    ) -> Option<Obj<'v>> {
        if v.kind() != Kind::Object {
            return invalid_type(v, path, what, r);
        }
        let map = struct_members(v, path, r);
        for (k, _) in &map {
            if !fields.contains(&k.as_ref()) {
                r.error(
                    ptr(path, k),
                    format!(
                        "unknown field \"{}\"; expected one of: {}",
                        ptr_token(k),
                        joined(fields, ", ")
                    ),
                );
            }
        }
        for f in required {
            if member(&map, f).is_none() {
                r.error(path, format!("missing field `{f}`"));
            }
        }
        Some(Obj {
            map,
            path: path.to_string(),
        })
    }

    /// The member `name`, if present.
    pub fn get(&self, name: &str) -> Option<Json<'v>> {
        member(&self.map, name)
    }

    /// A required field (its absence was reported by `open`).
    pub fn req<T>(
        &self,
        name: &str,
        r: &mut Report,
        read: fn(Json, &str, &mut Report) -> Option<T>,
    ) -> Option<T> {
        let v = self.get(name)?;
        read(v, &ptr(&self.path, name), r)
    }

    /// An optional field: absent or null is None.
    pub fn opt<T>(
        &self,
        name: &str,
        r: &mut Report,
        read: fn(Json, &str, &mut Report) -> Option<T>,
    ) -> Option<Option<T>> {
        match self.get(name) {
            Some(v) if !v.is_null() => read(v, &ptr(&self.path, name), r).map(Some),
            _ => Some(None),
        }
    }

    /// A field with a default: absent is `T::default()`.
    pub fn or_default<T: Default>(
        &self,
        name: &str,
        r: &mut Report,
        read: fn(Json, &str, &mut Report) -> Option<T>,
    ) -> Option<T> {
        match self.get(name) {
            None => Some(T::default()),
            Some(v) => read(v, &ptr(&self.path, name), r),
        }
    }
}
