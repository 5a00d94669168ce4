//! Host-neutral view of one request, built by the plugin glue or by tests.

use std::borrow::Cow;

/// The request body as far as the host has delivered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Headers only so far; a body may follow. `decide` answers `NeedBody` if it needs one.
    NotRead,
    /// The request has no body.
    Absent,
    /// The whole body (up to the configured limit).
    Bytes(Vec<u8>),
    /// The body exceeded the limit: body keys count as missing.
    TooLarge,
}

/// Method, path, headers, query, cookies and body of one request. Method, path and headers
/// borrow from the host's header map when the glue builds the view (no copy per request);
/// `RequestView::new` owns them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestView<'a> {
    pub method: Cow<'a, str>,
    /// Path without the query string.
    pub path: Cow<'a, str>,
    /// Percent-decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Header names are lower-case. Pseudo-headers (":path") may be present and are ignored.
    pub headers: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// Parsed from every `cookie` header, in order.
    pub cookies: Vec<(String, String)>,
    pub body: Body,
}

impl RequestView<'static> {
    /// `raw_path` may include "?query" (and a "#fragment", dropped). Header names may have any
    /// case (they are lower-cased). Parses the query (percent-decoded) and cookies. Never panics.
    pub fn new(method: &str, raw_path: &str, headers: Vec<(String, String)>) -> Self {
        let headers = headers
            .into_iter()
            .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
            .collect();
        let (method, raw_path) = (method.to_string(), raw_path.to_string());
        RequestView::from_parts(Cow::Owned(method), Cow::Owned(raw_path), headers)
    }
}

/// Equal in any ASCII case. Spelled out because it runs on every request, for every header
/// against every name looked for: `eq_ignore_ascii_case` at opt-level z is a call per pair
/// and per byte.
pub fn eq_ascii_case(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(&x, &y)| x == y || (x ^ y == 0x20 && (x | 0x20).wrapping_sub(b'a') < 26))
}

impl<'a> RequestView<'a> {
    /// As `new`, keeping what is borrowed borrowed (the glue's view of the host's header
    /// map); a header name that is not lower-case is copied.
    pub fn from_parts(
        method: Cow<'a, str>,
        raw_path: Cow<'a, str>,
        mut headers: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    ) -> Self {
        // Byte searches and in-place lower-casing: this runs on every request in the
        // modules, where `str` pattern splitting and a copy per name cost thousands of
        // wasm instructions.
        let raw = before(&raw_path, b'#');
        let (end, query) = match raw.as_bytes().iter().position(|&b| b == b'?') {
            Some(i) => (i, parse_query(raw.get(i + 1..).unwrap_or(""))),
            None => (raw.len(), Vec::new()),
        };
        let path = match raw_path {
            Cow::Borrowed(r) => Cow::Borrowed(r.get(..end).unwrap_or(r)),
            Cow::Owned(mut r) => {
                r.truncate(end);
                Cow::Owned(r)
            }
        };
        for (k, _) in &mut headers {
            if k.bytes().any(|b| b.is_ascii_uppercase()) {
                k.to_mut().make_ascii_lowercase();
            }
        }
        let mut cookies = Vec::new();
        for (_, v) in headers.iter().filter(|(k, _)| k == "cookie") {
            cookies.append(&mut parse_cookies(v));
        }
        RequestView {
            method,
            path,
            query,
            headers,
            cookies,
            body: Body::NotRead,
        }
    }

    pub fn with_body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| eq_ascii_case(k.as_bytes(), name.as_bytes()))
            .map(|(_, v)| v.as_ref())
    }

    /// First query parameter with this name.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// First cookie with this name, compared case-insensitively as AppActive does (so an
    /// imported policy reads `R_ID=` where AppActive's gateway reads `r_id`).
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| eq_ascii_case(k.as_bytes(), name.as_bytes()))
            .map(|(_, v)| v.as_str())
    }

    /// Zero-based non-empty path segment, percent-decoded.
    pub fn path_segment(&self, index: usize) -> Option<String> {
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .nth(index)
            .map(|s| percent_decode(s, false))
    }
}

/// `s` up to the first `byte` (an ASCII byte, so a char boundary), or all of it.
fn before(s: &str, byte: u8) -> &str {
    match s.as_bytes().iter().position(|&b| b == byte) {
        Some(i) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

/// "a=1&b=x%20y" -> [("a","1"),("b","x y")]. '+' means space in a query.
fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// "a=1; b=\"2\"" -> [("a","1"),("b","2")]. Pairs without '=' are skipped.
fn parse_cookies(v: &str) -> Vec<(String, String)> {
    v.split(';')
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let k = k.trim();
            if k.is_empty() {
                return None;
            }
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or(v);
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Decode %XX escapes (invalid ones are kept as they are); invalid UTF-8 becomes U+FFFD.
pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> String {
    if !(s.contains('%') || plus_is_space && s.contains('+')) {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|c| hex(*c));
            let lo = bytes.get(i + 2).and_then(|c| hex(*c));
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push(hi * 16 + lo);
                i += 3;
                continue;
            }
        }
        out.push(if plus_is_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn parses_query_cookies_and_headers() {
        let r = RequestView::new(
            "GET",
            "/api/orders/42?city_id=%31%30&x=a+b&bad=%zz#frag",
            vec![
                h("X-City-Id", "7"),
                h("Cookie", "ug_uid=u1; city=\"3\""),
                h("cookie", "z=9"),
            ],
        );
        assert_eq!(r.path, "/api/orders/42");
        assert_eq!(r.query_param("city_id"), Some("10"));
        assert_eq!(r.query_param("x"), Some("a b"));
        assert_eq!(r.query_param("bad"), Some("%zz"));
        assert_eq!(r.header("x-city-id"), Some("7"));
        assert_eq!(r.header("X-CITY-ID"), Some("7"));
        assert_eq!(r.cookie("ug_uid"), Some("u1"));
        assert_eq!(r.cookie("city"), Some("3"));
        assert_eq!(r.cookie("z"), Some("9"));
        assert_eq!(r.path_segment(2).as_deref(), Some("42"));
        assert_eq!(r.path_segment(3), None);
        assert_eq!(r.body, Body::NotRead);
    }

    #[test]
    fn percent_decoding_edge_cases() {
        assert_eq!(percent_decode("%", false), "%");
        assert_eq!(percent_decode("a%4", false), "a%4");
        assert_eq!(percent_decode("%ff", false), "\u{fffd}");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("%E5%8C%97", false), "北");
    }
}
