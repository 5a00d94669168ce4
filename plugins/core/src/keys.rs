//! Shard key extraction (sources in order) and transforms (number, modulo, hash).

use crate::model::{KeySource, ShardKey, Transform};
use crate::request::{Body, RequestView};
use crate::validate::json::Json;
use std::borrow::Cow;
use std::cell::OnceCell;
use xxhash_rust::xxh64::xxh64;

/// What a raw key value becomes after its transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyValue {
    /// Identity transform: only the raw string matters.
    Text,
    /// Number, modulo or hash result.
    Number(u64),
    /// Not a non-negative integer where one is required.
    Malformed,
}

/// Apply a transform to a raw (already trimmed) key value.
/// Hash is xxh64 with seed 0 over the UTF-8 bytes, modulo N.
pub fn transform_value(t: &Transform, raw: &str) -> KeyValue {
    let number = || -> Option<u64> {
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        raw.parse().ok()
    };
    match t {
        Transform::Identity => KeyValue::Text,
        Transform::Number => number().map_or(KeyValue::Malformed, KeyValue::Number),
        Transform::Modulo(n) => match number().and_then(|x| x.checked_rem(*n)) {
            Some(v) => KeyValue::Number(v),
            None => KeyValue::Malformed,
        },
        Transform::Hash(n) => match xxh64(raw.as_bytes(), 0).checked_rem(*n) {
            Some(v) => KeyValue::Number(v),
            None => KeyValue::Malformed,
        },
    }
}

/// Result of reading a key from a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyRead<'a> {
    /// Trimmed, non-empty raw value (borrowed from the request where it can be).
    Value(Cow<'a, str>),
    Missing,
    /// A body source is next and the body has not been read yet.
    NeedBody,
}

/// The request plus its JSON body, parsed at most once per decision.
pub(crate) struct Extractor<'a> {
    pub req: &'a RequestView<'a>,
    json: OnceCell<Option<Json<'a>>>,
}

impl<'a> Extractor<'a> {
    pub fn new(req: &'a RequestView<'a>) -> Self {
        Extractor {
            req,
            json: OnceCell::new(),
        }
    }

    fn json(&self) -> Option<Json<'a>> {
        *self.json.get_or_init(|| match &self.req.body {
            Body::Bytes(b) => crate::body_json::parse(b),
            _ => None,
        })
    }

    /// First source that yields a non-empty value.
    pub fn read(&self, key: &ShardKey) -> KeyRead<'a> {
        self.read_from(key).0
    }

    /// Like `read`, with the index in `key.sources` of the source that gave the value
    /// (for tools that explain a decision).
    pub fn read_from(&self, key: &ShardKey) -> (KeyRead<'a>, Option<usize>) {
        for (i, src) in key.sources.iter().enumerate() {
            // Borrowed where the request holds the text: the value is read in place.
            let v: Option<Cow<'a, str>> = match src {
                // A header's surrounding spaces and tabs are not part of its value (RFC 9110
                // §5.5), whatever the host left of them; other sources keep theirs.
                KeySource::Header(h) => self.req.header(h).map(|v| Cow::Borrowed(trim_blanks(v))),
                KeySource::Query(q) => self.req.query_param(q).map(Cow::Borrowed),
                KeySource::Cookie(c) => self.req.cookie(c).map(Cow::Borrowed),
                KeySource::PathSegment(i) => self.req.path_segment(*i).map(Cow::Owned),
                KeySource::Body(ptr) => {
                    if self.req.body == Body::NotRead {
                        return (KeyRead::NeedBody, Some(i));
                    }
                    self.json().and_then(|j| crate::body_json::key(j, ptr))
                }
            };
            if let Some(v) = v.filter(|v| !trim(v).is_empty()) {
                return (KeyRead::Value(compare_form(&key.transform, v)), Some(i));
            }
        }
        (KeyRead::Missing, None)
    }
}

/// `s` without leading and trailing spaces and tabs (`trim_matches([' ', '\t'])`, by bytes:
/// the char-pattern version is several times slower, on every request).
fn trim_blanks(s: &str) -> &str {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let bytes = s.as_bytes();
    let start = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or("")
}

/// `s.trim()`, skipped when `s` starts and ends with a printable ASCII byte, as keys do: the
/// Unicode whitespace search costs hundreds of wasm instructions on every request.
fn trim(s: &str) -> &str {
    let printable = |b: Option<&u8>| b.is_some_and(u8::is_ascii_graphic);
    match printable(s.as_bytes().first()) && printable(s.as_bytes().last()) {
        true => s,
        false => s.trim(),
    }
}

/// Whether the transform reads the key as a number.
pub(crate) fn is_numeric(t: &Transform) -> bool {
    matches!(t, Transform::Number | Transform::Modulo(_))
}

/// A number's canonical text: the digits without a leading `+` or zeros (`+0042` is `42`,
/// `000` is `0`). None when `s` is not digits, with at most a leading `+`.
pub(crate) fn canonical_number(s: &str) -> Option<&str> {
    // By bytes: the `char` pattern searches cost hundreds of wasm instructions a request.
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Keep the last digit of an all-zero number: `000` is `0`.
    let zeros = digits.bytes().take_while(|&b| b == b'0').count();
    digits.get(zeros.min(digits.len() - 1)..)
}

/// A request's key value as it is compared with lists, gray `when` values and windows.
/// Number keys: the canonical number, so every spelling of a number matches; anything else
/// stays as sent, spaces included (AppActive refuses `2500 `, as from `2500%20`), so it reads
/// as malformed. Other keys: the trimmed value.
fn compare_form<'a>(t: &Transform, raw: Cow<'a, str>) -> Cow<'a, str> {
    match raw {
        Cow::Borrowed(s) => Cow::Borrowed(form(t, s)),
        // A path segment or a body value: copied once more, as before.
        Cow::Owned(s) => Cow::Owned(form(t, &s).to_string()),
    }
}

fn form<'s>(t: &Transform, s: &'s str) -> &'s str {
    match is_numeric(t) {
        true => canonical_number(s).unwrap_or(s),
        false => trim(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(sources: Vec<KeySource>) -> ShardKey {
        ShardKey {
            name: "k".into(),
            sources,
            transform: Transform::Identity,
        }
    }

    #[test]
    fn transforms() {
        assert_eq!(transform_value(&Transform::Identity, "x"), KeyValue::Text);
        assert_eq!(
            transform_value(&Transform::Number, "0042"),
            KeyValue::Number(42)
        );
        assert_eq!(
            transform_value(&Transform::Number, "-1"),
            KeyValue::Malformed
        );
        assert_eq!(
            transform_value(&Transform::Number, "+1"),
            KeyValue::Malformed
        );
        assert_eq!(
            transform_value(&Transform::Number, "1.5"),
            KeyValue::Malformed
        );
        assert_eq!(
            transform_value(&Transform::Number, "18446744073709551616"),
            KeyValue::Malformed
        );
        assert_eq!(
            transform_value(&Transform::Modulo(10000), "123456"),
            KeyValue::Number(3456)
        );
        assert_eq!(
            transform_value(&Transform::Modulo(0), "5"),
            KeyValue::Malformed
        );
        // xxh64("", seed 0) = 0xEF46DB3751D8E999 (the reference test vector).
        assert_eq!(
            transform_value(&Transform::Hash(1_000_000), ""),
            KeyValue::Number(0xEF46_DB37_51D8_E999 % 1_000_000)
        );
        assert_eq!(
            transform_value(&Transform::Hash(0), "a"),
            KeyValue::Malformed
        );
    }

    #[test]
    fn sources_in_order() {
        let k = key(vec![
            KeySource::Header("x-city-id".into()),
            KeySource::Query("city_id".into()),
            KeySource::Cookie("city".into()),
            KeySource::PathSegment(2),
            KeySource::Body("/order/city".into()),
        ]);
        let h = |k: &str, v: &str| (k.to_string(), v.to_string());
        let r = RequestView::new("GET", "/a?city_id=2", vec![h("x-city-id", " 1 ")]);
        assert_eq!(Extractor::new(&r).read(&k), KeyRead::Value("1".into()));
        let r = RequestView::new("GET", "/a?city_id=2", vec![h("x-city-id", "  ")]);
        assert_eq!(Extractor::new(&r).read(&k), KeyRead::Value("2".into()));
        let r = RequestView::new("GET", "/a", vec![h("cookie", "city=3")]);
        assert_eq!(Extractor::new(&r).read(&k), KeyRead::Value("3".into()));
        let r = RequestView::new("GET", "/a/b/4", vec![]);
        assert_eq!(Extractor::new(&r).read(&k), KeyRead::Value("4".into()));
        let r = RequestView::new("POST", "/a", vec![]);
        assert_eq!(Extractor::new(&r).read(&k), KeyRead::NeedBody);
        let body = |b: &str| r.clone().with_body(Body::Bytes(b.as_bytes().to_vec()));
        assert_eq!(
            Extractor::new(&body(r#"{"order":{"city":5}}"#)).read(&k),
            KeyRead::Value("5".into())
        );
        assert_eq!(
            Extractor::new(&body(r#"{"order":{"city":"6"}}"#)).read(&k),
            KeyRead::Value("6".into())
        );
        assert_eq!(
            Extractor::new(&body(r#"{"order":{"city":true}}"#)).read(&k),
            KeyRead::Missing
        );
        assert_eq!(Extractor::new(&body("not json")).read(&k), KeyRead::Missing);
        let big = r.clone().with_body(Body::TooLarge);
        assert_eq!(Extractor::new(&big).read(&k), KeyRead::Missing);
        let none = r.with_body(Body::Absent);
        assert_eq!(Extractor::new(&none).read(&k), KeyRead::Missing);
    }

    #[test]
    fn key_values_are_borrowed_trimmed_and_canonical() {
        // `trim` only skips the search when both ends are printable ASCII: the same as
        // `str::trim` for every value.
        for s in [
            "42",
            " 42 ",
            "\u{a0}42\u{a0}",
            "\u{2003}x",
            "x\t",
            "",
            " ",
            "a b",
            "\u{3000}",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
        let canonical = [
            ("42", Some("42")),
            ("+0042", Some("42")),
            ("000", Some("0")),
            ("0", Some("0")),
            ("+", None),
            ("", None),
            ("4 2", None),
            ("-1", None),
        ];
        for (s, want) in canonical {
            assert_eq!(canonical_number(s), want, "{s:?}");
        }
        // A header's value is read in place, not copied.
        let mut k = key(vec![KeySource::Header("x-city-id".into())]);
        k.transform = Transform::Number;
        let r = RequestView::new("GET", "/", vec![("x-city-id".into(), " 007 ".into())]);
        let read = Extractor::new(&r).read(&k);
        assert!(
            matches!(read, KeyRead::Value(Cow::Borrowed("7"))),
            "{read:?}"
        );
    }
}
