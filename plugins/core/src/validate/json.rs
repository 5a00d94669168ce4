//! A lazy view of JSON text that serde_json has already checked: a value is its slice of the
//! text, and arrays and objects are walked in place. Loading a policy builds no JSON tree, so
//! a list of 100,000 values costs nothing until it is copied into its compact table.
//! Every step is bounds-checked: text that is not valid JSON reads as nothing, never a panic.
//! Numbers and escaped strings are decoded by serde_json, one small value at a time.

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
        let token = token.replace("~1", "/").replace("~0", "~");
        let next = match at.kind() {
            Kind::Object => at
                .members()
                .filter(|(k, _)| *k == token)
                .last()
                .map(|m| m.1),
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

/// One JSON value: its text, without surrounding whitespace.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Json<'a>(&'a str);

/// The kind of a value, from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
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
fn value_end(b: &[u8], i: usize) -> usize {
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
fn string_end(b: &[u8], i: usize) -> usize {
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

    /// A small value (a number, an escaped string) as serde_json reads it: the modules carry
    /// its parser anyway, and it decodes numbers and escapes exactly as before.
    fn value(self) -> Option<serde_json::Value> {
        serde_json::from_str(self.0).ok()
    }

    /// The number, read as serde_json reads it (integer or float).
    pub fn number(self) -> Option<serde_json::Number> {
        match (self.kind(), self.value()) {
            (Kind::Number, Some(serde_json::Value::Number(n))) => Some(n),
            _ => None,
        }
    }

    /// The string, unescaped (borrowed when it has no escapes).
    pub fn str(self) -> Option<Cow<'a, str>> {
        if self.kind() != Kind::String {
            return None;
        }
        let raw = self.0.get(1..self.0.len().saturating_sub(1))?;
        if !raw.contains('\\') {
            return Some(Cow::Borrowed(raw));
        }
        match self.value() {
            Some(serde_json::Value::String(s)) => Some(Cow::Owned(s)),
            _ => None,
        }
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

/// Array elements, read one at a time.
pub(crate) struct Items<'a> {
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
pub(crate) struct Members<'a> {
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
