//! Building the core's `RequestView` from what the host delivered.

use crate::config::Settings;
use std::borrow::Cow;
use unitgate_core::{eq_ascii_case, CompiledPolicy, Ingress, RequestView, INTERNAL_PREFIX};

/// The `(name, value)` pairs of a serialized proxy-wasm header map: a u32 LE count, a (u32
/// name length, u32 value length) pair per header, then each name and each value followed by
/// NUL. Borrowed from the map, nothing copied; a truncated map yields the pairs that fit.
pub fn pairs(map: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let count = match *map {
        [a, b, c, d, ..] => u32::from_le_bytes([a, b, c, d]) as usize,
        _ => 0,
    };
    let lengths = map.get(4..).unwrap_or_default();
    let lengths = lengths.get(..count.saturating_mul(8)).unwrap_or_default();
    let mut data = map.get(4 + lengths.len()..).unwrap_or_default();
    lengths.chunks_exact(8).map_while(move |sizes| {
        let [a, b, c, d, e, f, g, h] = *sizes else {
            return None;
        };
        let name_len = u32::from_le_bytes([a, b, c, d]) as usize;
        let value_len = u32::from_le_bytes([e, f, g, h]) as usize;
        let (name, rest) = data.split_at_checked(name_len)?;
        let (value, rest) = rest.get(1..)?.split_at_checked(value_len)?;
        data = rest.get(1..).unwrap_or_default();
        Some((name, value))
    })
}

/// The request headers a decision of this module can read (see `view`): the internal
/// `x-unitgate-*` ones, and the names listed here.
pub struct ReadHeaders {
    names: Vec<String>,
    /// Bit `n` is set when a name is `n` bytes long (63: 63 or more), so most headers are
    /// passed over without a comparison.
    lengths: u64,
}

impl ReadHeaders {
    /// The policy's key headers (and `cookie` if it reads cookies), the tester and cluster
    /// headers, the body framing headers, and `x-request-id` when ids are assigned.
    pub fn new(
        policy: &CompiledPolicy,
        ingress: &Ingress,
        settings: &Settings,
        assigns_ids: bool,
    ) -> ReadHeaders {
        let mut names = policy.read_headers();
        names.push(ingress.tester_header.to_ascii_lowercase());
        names.push(settings.cluster_header.to_ascii_lowercase());
        names.extend(["content-length", "transfer-encoding"].map(String::from));
        if assigns_ids {
            names.push("x-request-id".to_string());
        }
        ReadHeaders::of(names)
    }

    fn of(names: Vec<String>) -> ReadHeaders {
        let lengths = names
            .iter()
            .fold(0, |bits, n| bits | length_bit(n.as_bytes()));
        ReadHeaders { names, lengths }
    }

    /// Whether a header named `name` (any case) goes into the view.
    pub fn keeps(&self, name: &[u8]) -> bool {
        let internal = name
            .get(..INTERNAL_PREFIX.len())
            .is_some_and(|p| eq_ascii_case(p, INTERNAL_PREFIX.as_bytes()));
        let listed = self.lengths & length_bit(name) != 0
            && self.names.iter().any(|n| eq_ascii_case(n.as_bytes(), name));
        internal || listed
    }
}

fn length_bit(name: &[u8]) -> u64 {
    1 << name.len().min(63)
}

/// Request view from the host's serialized header map: method and path from the
/// pseudo-headers, and only the headers `read` keeps. A request carries many headers that no
/// decision reads; names are compared as bytes, and only what is kept is checked for UTF-8.
/// Nothing is copied: the view borrows from the map.
pub fn view<'a>(map: &'a [u8], read: &ReadHeaders) -> RequestView<'a> {
    let (mut method, mut path) = (None, None);
    let mut headers = Vec::new();
    for (name, value) in pairs(map) {
        if method.is_none() && eq_ascii_case(name, b":method") {
            method = Some(text(value));
        } else if path.is_none() && eq_ascii_case(name, b":path") {
            path = Some(text(value));
        }
        if read.keeps(name) {
            headers.push((text(name), text(value)));
        }
    }
    let method = method.unwrap_or(Cow::Borrowed("GET"));
    RequestView::from_parts(method, path.unwrap_or(Cow::Borrowed("/")), headers)
}

/// The bytes as text: borrowed when they are UTF-8, as headers almost always are (the lossy
/// conversion costs hundreds of wasm instructions even on ASCII).
fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// What the request-header callback can tell about a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyHint {
    /// `end_of_stream`, or `content-length: 0`.
    Absent,
    /// A non-zero `content-length` or `transfer-encoding: chunked`.
    Follows,
    /// `end_of_stream` is false and no framing header says anything. On Envoy a body
    /// follows (Envoy sets `end_of_stream` for body-less requests and strips
    /// `transfer-encoding`); on ngx_wasm_module (`end_of_stream` always false) there is none.
    Unknown,
}

pub fn body_hint(req: &RequestView, end_of_stream: bool) -> BodyHint {
    if end_of_stream {
        return BodyHint::Absent;
    }
    let chunked = req
        .header("transfer-encoding")
        // A byte window, not `str::contains`: the substring searcher costs about 1 KB of wasm.
        .is_some_and(|te| {
            te.as_bytes()
                .windows(7)
                .any(|w| eq_ascii_case(w, b"chunked"))
        });
    let length = req
        .header("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    match length {
        Some(0) if !chunked => BodyHint::Absent,
        Some(_) => BodyHint::Follows,
        None if chunked => BodyHint::Follows,
        None => BodyHint::Unknown,
    }
}

/// Id for a user without a sticky key: a stable 64-bit FNV-1a hash of the request id, a
/// per-VM salt, the time and a per-VM sequence number, as 16 hex digits.
pub fn assigned_id(request_id: &str, salt: u64, now_ms: u64, seq: u64) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let parts: [&[u8]; 4] = [
        request_id.as_bytes(),
        &salt.to_le_bytes(),
        &now_ms.to_le_bytes(),
        &seq.to_le_bytes(),
    ];
    for part in parts {
        for &b in part {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
        // Separator so ("ab","c") and ("a","bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(PRIME);
    }
    // By hand: `format!("{h:016x}")` runs the formatting machinery on every request.
    let mut hex = [0u8; 16];
    for (i, digit) in hex.iter_mut().rev().enumerate() {
        let nibble = ((h >> (i * 4)) & 15) as u8;
        *digit = if nibble < 10 {
            b'0' + nibble
        } else {
            b'a' + nibble - 10
        };
    }
    String::from_utf8_lossy(&hex).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(headers: &[(&str, &str)]) -> Vec<u8> {
        let owned: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        crate::host::serialize_headers(&owned)
    }

    fn read(names: &[&str]) -> ReadHeaders {
        ReadHeaders::of(names.iter().map(|n| n.to_string()).collect())
    }

    fn req(headers: &[(&str, &str)]) -> RequestView<'static> {
        // Leaked: a test's view may outlive its helper.
        let map: &'static [u8] = Box::leak(map(headers).into_boxed_slice());
        view(map, &read(&["content-length", "transfer-encoding"]))
    }

    #[test]
    fn pairs_read_back_what_was_serialized() {
        let headers = [(":path", "/a"), ("x-empty", ""), ("x-city-id", "7")];
        let serialized = map(&headers);
        let got: Vec<(&[u8], &[u8])> = pairs(&serialized).collect();
        let want: Vec<(&[u8], &[u8])> = headers
            .iter()
            .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(pairs(&[]).count(), 0);
    }

    #[test]
    fn a_truncated_or_lying_map_yields_what_fits() {
        let whole = map(&[("a", "1"), ("bb", "22")]);
        // Everything but the final NUL, which nothing reads.
        for cut in 0..whole.len() - 1 {
            let n = pairs(&whole[..cut]).count();
            assert!(n < 2, "cut at {cut}: {n} pairs");
        }
        // A count far beyond the data, and lengths past the end.
        let mut lying = u32::MAX.to_le_bytes().to_vec();
        lying.extend_from_slice(&[255; 16]);
        assert_eq!(pairs(&lying).count(), 0);
    }

    #[test]
    fn the_view_keeps_internal_and_listed_headers_in_any_case() {
        let mut raw = map(&[
            (":method", "PUT"),
            (":path", "/x?city=1"),
            ("User-Agent", "curl"),
            ("X-City-Id", "7"),
            ("X-Unitgate-Ctx", "stamp"),
            ("accept", "*/*"),
        ]);
        // A name that is not UTF-8 is read lossily, never a panic.
        let at = raw.len() - "accept".len() - "*/*".len() - 2;
        raw[at] = 0xff;
        let r = view(&raw, &read(&["x-city-id"]));
        assert_eq!((r.method.as_ref(), r.path.as_ref()), ("PUT", "/x"));
        let names: Vec<&str> = r.headers.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(names, ["x-city-id", "x-unitgate-ctx"]);
        assert_eq!(r.header("x-city-id"), Some("7"));
        // Borrowed from the map; only a name that was not lower-case is a copy.
        assert!(matches!(r.path, Cow::Borrowed(_)) && matches!(r.method, Cow::Borrowed(_)));
        let owned: Vec<bool> = r
            .headers
            .iter()
            .map(|(k, v)| matches!((k, v), (Cow::Owned(_), Cow::Borrowed(_))))
            .collect();
        assert_eq!(owned, [true, true]);
    }

    #[test]
    fn method_and_path_come_from_pseudo_headers() {
        let r = req(&[(":method", "POST"), (":path", "/a/b?x=1")]);
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/a/b");
        assert_eq!(r.query, vec![("x".to_string(), "1".to_string())]);
    }

    #[test]
    fn body_hint_follows_end_of_stream_and_framing_headers() {
        let get = req(&[(":method", "GET"), (":path", "/")]);
        assert_eq!(body_hint(&get, true), BodyHint::Absent);
        assert_eq!(body_hint(&get, false), BodyHint::Unknown);
        let post = req(&[(":method", "POST"), ("content-length", "12")]);
        assert_eq!(body_hint(&post, false), BodyHint::Follows);
        assert_eq!(body_hint(&post, true), BodyHint::Absent);
        let empty = req(&[(":method", "POST"), ("content-length", "0")]);
        assert_eq!(body_hint(&empty, false), BodyHint::Absent);
        let chunked = req(&[(":method", "POST"), ("transfer-encoding", "Chunked")]);
        assert_eq!(body_hint(&chunked, false), BodyHint::Follows);
        // `chunked` anywhere in the list, any case, overrides a zero length; `chunke` is not it.
        let listed = req(&[
            ("transfer-encoding", "gzip, CHUNKED"),
            ("content-length", "0"),
        ]);
        assert_eq!(body_hint(&listed, false), BodyHint::Follows);
        let short = req(&[("transfer-encoding", "chunke"), ("content-length", "0")]);
        assert_eq!(body_hint(&short, false), BodyHint::Absent);
    }

    #[test]
    fn assigned_ids_are_stable_and_distinct() {
        let a = assigned_id("rid", 7, 1000, 0);
        assert_eq!(a, assigned_id("rid", 7, 1000, 0));
        assert_eq!(a.len(), 16);
        let h = u64::from_str_radix(&a, 16).unwrap();
        assert_eq!(a, format!("{h:016x}"));
        assert_eq!(assigned_id("", 0, 0, 3).len(), 16);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, assigned_id("rid", 7, 1000, 1));
        assert_ne!(a, assigned_id("rid", 8, 1000, 0));
    }
}
