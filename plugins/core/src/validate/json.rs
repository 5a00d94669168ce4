//! A lazy view of JSON text that serde_json has already checked: a value is its slice of the
//! text, and arrays and objects are walked in place. Loading a policy builds no JSON tree, so
//! a list of 100,000 values costs nothing until it is copied into its compact table.
//! Every step is bounds-checked: text that is not valid JSON reads as nothing, never a panic.

use std::borrow::Cow;

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
        Json(text.trim_matches(|c: char| c.is_ascii() && ws(c as u8)))
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

    /// The number, read as serde_json reads it (integer or float).
    pub fn number(self) -> Option<serde_json::Number> {
        match self.kind() {
            Kind::Number => self.0.parse().ok(),
            _ => None,
        }
    }

    /// The string, unescaped (borrowed when it has no escapes).
    pub fn str(self) -> Option<Cow<'a, str>> {
        match self.kind() {
            Kind::String => Some(unescape(self.0.get(1..self.0.len().saturating_sub(1))?)),
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
        Some((key.str()?, value))
    }
}

/// JSON string escapes, decoded as serde_json decodes them; a lone surrogate becomes U+FFFD.
fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let decoded = match chars.next() {
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => {
                let hi = hex4(&mut chars);
                match hi {
                    Some(h @ 0xD800..=0xDBFF) => {
                        let mut ahead = chars.clone();
                        let lo = match (ahead.next(), ahead.next()) {
                            (Some('\\'), Some('u')) => hex4(&mut ahead),
                            _ => None,
                        };
                        match lo {
                            Some(l @ 0xDC00..=0xDFFF) => {
                                chars = ahead;
                                let code = 0x10000 + ((h - 0xD800) << 10) + (l - 0xDC00);
                                char::from_u32(code).unwrap_or('\u{fffd}')
                            }
                            _ => '\u{fffd}',
                        }
                    }
                    Some(code) => char::from_u32(code).unwrap_or('\u{fffd}'),
                    None => '\u{fffd}',
                }
            }
            Some(other) => other,
            None => break,
        };
        out.push(decoded);
    }
    Cow::Owned(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut n = 0;
    for _ in 0..4 {
        n = n * 16 + chars.next()?.to_digit(16)?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn unescapes_like_serde_json() {
        for s in [
            r#""a\\b\/c\n\t\u00e9\ud83d\ude00""#,
            r#""plain""#,
            r#""\"""#,
        ] {
            let want: String = serde_json::from_str(s).unwrap();
            assert_eq!(Json::new(s).str().unwrap(), want);
        }
        assert_eq!(Json::new(r#""\ud800x""#).str().unwrap(), "\u{fffd}x");
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
