//! Building the core's `RequestView` from what the host delivered.

use unitgate_core::RequestView;

/// Request view from the host's header map (pseudo-headers included).
pub fn view(headers: Vec<(String, String)>) -> RequestView {
    let method = pseudo(&headers, ":method").unwrap_or("GET").to_string();
    let path = pseudo(&headers, ":path").unwrap_or("/").to_string();
    RequestView::new(&method, &path, headers)
}

fn pseudo<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
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
                .any(|w| w.eq_ignore_ascii_case(b"chunked"))
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
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> RequestView {
        view(
            headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
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
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, assigned_id("rid", 7, 1000, 1));
        assert_ne!(a, assigned_id("rid", 8, 1000, 0));
    }
}
