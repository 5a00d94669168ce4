//! A lazy view of JSON text that serde_json has already checked: a value is its slice of the
//! text, and arrays and objects are walked in place. Loading a policy builds no JSON tree, so
//! a list of 100,000 values costs nothing until it is copied into its compact table.
//! Every step is bounds-checked: text that is not valid JSON reads as nothing, never a panic.
//! Numbers and escaped strings decode exactly as serde_json's `Value` parser decodes them.
//! The modules read everything with it (policy, the rest of the plugin configuration, body
//! keys, Apollo answers), so they carry no `Value` parser (about 10 KB of wasm).

use std::borrow::Cow;
use std::ops::Range;

/// Where, in `text` (a JSON object checked by serde_json), the value of its member `name`
/// lies; the last one if the name repeats, as serde_json reads it. Lets a caller cut a big
/// member out of the text before parsing the rest into a tree.
pub fn member_range(text: &str, name: &str) -> Option<Range<usize>> {
    let value = Json::new(text)
        .members()
        .filter(|(k, _)| k == name)
        .last()?
        .1;
    let start = (value.0.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    Some(start..start + value.0.len())
}

/// Where, in `text`, the value a JSON pointer (RFC 6901) names lies: byte offsets of the
/// deepest value on the pointer's path that exists (the whole document for ""), so a finding
/// about a missing member points at the object that lacks it. For editors and tools.
pub fn pointer_range(text: &str, pointer: &str) -> Option<Range<usize>> {
    let mut at = Json::new(text);
    for token in pointer.split('/').skip(1) {
        let token = pointer_token(token);
        let next = match at.kind() {
            Kind::Object => at.get(&token),
            Kind::Array => token.parse().ok().and_then(|i: usize| at.items().nth(i)),
            _ => None,
        };
        match next {
            Some(v) => at = v,
            None => break,
        }
    }
    let start = (at.0.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    Some(start..start + at.0.len())
}

/// `text` read as serde_json reads it into a `Value`, without building one: serde_json checks
/// the syntax without allocating, then `value_error` refuses what only its `Value` parser
/// refuses. The error is worded as serde_json words it.
pub fn checked(text: &str) -> Result<Json<'_>, String> {
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err(e.to_string());
    }
    match crate::validate::json_strict::value_error(text) {
        Some(e) => Err(e),
        None => Ok(Json::new(text)),
    }
}

/// A JSON pointer token decoded: `~1` is `/` and `~0` is `~` (as two `str::replace` in that
/// order read it); borrowed when it has no `~`.
pub(crate) fn pointer_token(token: &str) -> Cow<'_, str> {
    if !token.contains('~') {
        return Cow::Borrowed(token);
    }
    let mut out = String::with_capacity(token.len());
    let mut tilde = false;
    for c in token.chars() {
        if std::mem::take(&mut tilde) {
            match c {
                '1' => out.push('/'),
                '0' => out.push('~'),
                _ => out.push('~'),
            }
            if matches!(c, '0' | '1') {
                continue;
            }
        }
        match c {
            '~' => tilde = true,
            c => out.push(c),
        }
    }
    if tilde {
        out.push('~');
    }
    Cow::Owned(out)
}

/// One JSON value: its text, without surrounding whitespace.
#[derive(Clone, Copy, Debug)]
pub struct Json<'a>(&'a str);

/// The kind of a value, from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool(bool),
    Number,
    String,
    Array,
    Object,
}

fn ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Index of the first non-whitespace byte at or after `i`.
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| ws(c)) {
        i += 1;
    }
    i
}

/// End (exclusive) of the value that starts at `i`.
pub(super) fn value_end(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => string_end(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while let Some(&c) = b.get(j) {
                match c {
                    b'"' => {
                        j = string_end(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            j
        }
        _ => {
            let mut j = i;
            while b.get(j).is_some_and(|&c| !ws(c) && !b",]}:".contains(&c)) {
                j += 1;
            }
            j
        }
    }
}

/// End (exclusive, after the closing quote) of the string that starts at `i`.
pub(super) fn string_end(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while let Some(&c) = b.get(j) {
        match c {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

impl<'a> Json<'a> {
    pub fn new(text: &'a str) -> Json<'a> {
        Json(text.trim_ascii())
    }

    /// The value's own text.
    pub fn text(self) -> &'a str {
        self.0
    }

    pub fn kind(self) -> Kind {
        match self.0.as_bytes().first() {
            Some(b'"') => Kind::String,
            Some(b'[') => Kind::Array,
            Some(b'{') => Kind::Object,
            Some(b't') => Kind::Bool(true),
            Some(b'f') => Kind::Bool(false),
            Some(b'n') | None => Kind::Null,
            Some(_) => Kind::Number,
        }
    }

    pub fn is_null(self) -> bool {
        self.kind() == Kind::Null
    }

    /// The number, as serde_json reads it: an integer when it is one that fits (`u64`, or
    /// `i64` below zero), else the `f64` serde_json parses (`-0` is the float `-0.0`).
    pub fn number(self) -> Option<serde_json::Number> {
        if self.kind() != Kind::Number {
            return None;
        }
        let t = self.0;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        // (`u64` parsing only: each integer type's `parse` is its own copy in the modules.)
        match t.strip_prefix('-') {
            Some(d) if digits(d) => {
                if let Ok(n @ 1..=0x8000_0000_0000_0000) = d.parse::<u64>() {
                    return Some(0i64.wrapping_sub_unsigned(n).into());
                }
            }
            None if digits(t) => {
                if let Ok(n) = t.parse::<u64>() {
                    return Some(n.into());
                }
            }
            _ => {}
        }
        serde_json::Number::from_f64(super::json_number::f64_of(t)?)
    }

    /// The string, unescaped (borrowed when it has no escapes); None for a lone UTF-16
    /// surrogate, which serde_json refuses too.
    pub fn str(self) -> Option<Cow<'a, str>> {
        if self.kind() != Kind::String {
            return None;
        }
        let raw = self.0.get(1..self.0.len().saturating_sub(1))?;
        if !raw.contains('\\') {
            return Some(Cow::Borrowed(raw));
        }
        unescape(raw).map(Cow::Owned)
    }

    /// The member `name` of an object: the last one if it repeats, as serde_json keeps it.
    pub fn get(self, name: &str) -> Option<Json<'a>> {
        self.members()
            .filter(|(k, _)| k == name)
            .last()
            .map(|m| m.1)
    }

    /// An object's members as serde_json's map holds them: sorted by name, the last of
    /// duplicates (nothing for other kinds).
    pub fn map(self) -> Vec<(Cow<'a, str>, Json<'a>)> {
        let mut out: Vec<(Cow<str>, Json)> = Vec::new();
        // Insertion sort (objects are small); a later duplicate replaces the earlier one.
        for (k, x) in self.members() {
            let at = out.partition_point(|(have, _)| *have < k);
            match out.get_mut(at) {
                Some(slot) if slot.0 == k => slot.1 = x,
                _ => out.insert(at, (k, x)),
            }
        }
        out
    }

    /// Elements of an array (nothing for other kinds).
    pub fn items(self) -> Items<'a> {
        let pos = if self.kind() == Kind::Array {
            1
        } else {
            self.0.len()
        };
        Items { text: self.0, pos }
    }

    /// Members of an object in document order (nothing for other kinds).
    pub fn members(self) -> Members<'a> {
        let pos = if self.kind() == Kind::Object {
            1
        } else {
            self.0.len()
        };
        Members {
            items: Items { text: self.0, pos },
        }
    }
}

/// A JSON string's content without its quotes, escapes decoded; None for an unknown escape
/// or a lone UTF-16 surrogate.
fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let decoded = match chars.next()? {
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let high = hex4(&mut chars)?;
                if (0xD800..0xDC00).contains(&high) {
                    // A leading surrogate: a trailing one must follow, as `\\uDC00`..`\\uDFFF`.
                    if chars.next()? != '\\' || chars.next()? != 'u' {
                        return None;
                    }
                    let low = hex4(&mut chars)?
                        .checked_sub(0xDC00)
                        .filter(|l| *l < 0x400)?;
                    char::from_u32(0x10000 + ((high - 0xD800) << 10) + low)?
                } else {
                    // None for a trailing surrogate alone.
                    char::from_u32(high)?
                }
            }
            c @ ('"' | '\\' | '/') => c,
            _ => return None,
        };
        out.push(decoded);
    }
    Some(out)
}

/// Four hex digits.
fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut n = 0;
    for _ in 0..4 {
        n = n * 16 + chars.next()?.to_digit(16)?;
    }
    Some(n)
}

/// Array elements, read one at a time.
pub struct Items<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Items<'a> {
    /// The next value, and the byte after it (`,` `:` `]` `}`), which is consumed.
    fn next_value(&mut self) -> Option<(Json<'a>, u8)> {
        let b = self.text.as_bytes();
        let start = skip_ws(b, self.pos);
        match b.get(start) {
            None | Some(b']' | b'}') => {
                self.pos = b.len();
                return None;
            }
            _ => {}
        }
        let end = value_end(b, start);
        let after = skip_ws(b, end);
        self.pos = after + 1;
        let value = Json(self.text.get(start..end)?);
        Some((value, b.get(after).copied().unwrap_or(b']')))
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Json<'a>;

    fn next(&mut self) -> Option<Json<'a>> {
        self.next_value().map(|(v, _)| v)
    }
}

/// Object members: (unescaped key, value).
pub struct Members<'a> {
    items: Items<'a>,
}

impl<'a> Iterator for Members<'a> {
    type Item = (Cow<'a, str>, Json<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let (key, sep) = self.items.next_value()?;
        if sep != b':' {
            return None;
        }
        let (value, _) = self.items.next_value()?;
        // A key serde_json cannot decode (a lone surrogate) stays as written.
        let key = key.str().unwrap_or(Cow::Borrowed(key.text()));
        Some((key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_tokens_decode_like_two_replaces() {
        for t in [
            "", "a", "~0", "~1", "~01", "~10", "~~1", "~~01", "~", "a~", "~2", "é~1é~0",
        ] {
            let want = t.replace("~1", "/").replace("~0", "~");
            assert_eq!(pointer_token(t), want, "{t}");
        }
    }

    #[test]
    fn pointer_range_finds_the_deepest_value_that_exists() {
        let text = r#"{"a": [1, {"b/c": "x"}], "d": 2}"#;
        let at = |p: &str| pointer_range(text, p).map(|r| &text[r]);
        assert_eq!(at(""), Some(text));
        assert_eq!(at("/a/1/b~1c"), Some(r#""x""#));
        assert_eq!(at("/d"), Some("2"));
        assert_eq!(at("/a/1/missing"), Some(r#"{"b/c": "x"}"#));
        assert_eq!(at("/a/7"), at("/a"));
        assert_eq!(pointer_range("not json", "/a"), Some(0..8));
    }

    #[test]
    fn walks_values_in_place() {
        let j = Json::new(r#" {"a": [1, "x\"y", {"b": []}, null], "c\u0041": true} "#);
        assert_eq!(j.kind(), Kind::Object);
        let m: Vec<_> = j.members().collect();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].0, "a");
        assert_eq!(m[1].0, "cA");
        assert_eq!(m[1].1.kind(), Kind::Bool(true));
        let items: Vec<_> = m[0].1.items().collect();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].number().unwrap().as_u64(), Some(1));
        assert_eq!(items[1].str().unwrap(), "x\"y");
        assert_eq!(items[2].text(), r#"{"b": []}"#);
        assert!(items[3].is_null());
        assert_eq!(Json::new("[]").items().count(), 0);
        assert_eq!(Json::new("{}").members().count(), 0);
    }

    #[test]
    fn finds_a_member() {
        let text = r#"{"a": 1, "p": {"x": [1]}, "b": 2, "p" : [3] }"#;
        assert_eq!(member_range(text, "p").map(|r| &text[r]), Some("[3]"));
        assert_eq!(member_range(text, "a").map(|r| &text[r]), Some("1"));
        assert_eq!(member_range(text, "zz"), None);
        assert_eq!(member_range("[1]", "a"), None);
    }

    #[test]
    fn unescapes_like_serde_json() {
        for s in [
            r#""a\\b\/c\n\t\u00e9\ud83d\ude00""#,
            r#""plain""#,
            r#""\"""#,
        ] {
            let want: String = serde_json::from_str(s).unwrap();
            assert_eq!(Json::new(s).str().unwrap(), want);
        }
        assert_eq!(Json::new(r#""\ud800x""#).str(), None);
    }

    #[test]
    fn broken_text_reads_as_nothing() {
        for s in [
            "[1,", "{\"a\"", "{\"a\":", "\"abc", "[\"a\\", "{1:2}", "", "]",
        ] {
            let j = Json::new(s);
            let _ = j.items().count();
            let _ = j.members().count();
            let _ = j.str();
        }
    }
}
