//! Building the core's `RequestView` from what the host delivered.

use unitgate_core::{Body, RequestView};

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

/// Body state known at the header callback.
///
/// Envoy passes `end_of_stream` = true for a request without body. ngx_wasm_module always
/// passes false, so the framing headers decide: a body follows only with a non-zero
/// `content-length` or a chunked `transfer-encoding`. (HTTP/2 bodies without content-length
/// on ngx are therefore treated as absent.)
pub fn body_at_headers(req: &RequestView, end_of_stream: bool) -> Body {
    if end_of_stream {
        return Body::Absent;
    }
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    let length = req
        .header("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    match length {
        Some(n) if n > 0 => Body::NotRead,
        _ if chunked => Body::NotRead,
        _ => Body::Absent,
    }
}

/// Id for a user without a sticky key: a stable 64-bit FNV-1a hash of the request id,
/// the client address, the time and a per-VM sequence number, as 16 hex digits.
pub fn assigned_id(request_id: &str, source_address: &str, now_ms: u64, seq: u64) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let parts: [&[u8]; 4] = [
        request_id.as_bytes(),
        source_address.as_bytes(),
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
    fn body_presence_follows_framing_headers() {
        let get = req(&[(":method", "GET"), (":path", "/")]);
        assert_eq!(body_at_headers(&get, false), Body::Absent);
        let post = req(&[(":method", "POST"), ("content-length", "12")]);
        assert_eq!(body_at_headers(&post, false), Body::NotRead);
        assert_eq!(body_at_headers(&post, true), Body::Absent);
        let empty = req(&[(":method", "POST"), ("content-length", "0")]);
        assert_eq!(body_at_headers(&empty, false), Body::Absent);
        let chunked = req(&[(":method", "POST"), ("transfer-encoding", "Chunked")]);
        assert_eq!(body_at_headers(&chunked, false), Body::NotRead);
    }

    #[test]
    fn assigned_ids_are_stable_and_distinct() {
        let a = assigned_id("rid", "10.0.0.1:5", 1000, 0);
        assert_eq!(a, assigned_id("rid", "10.0.0.1:5", 1000, 0));
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, assigned_id("rid", "10.0.0.1:5", 1000, 1));
        assert_ne!(a, assigned_id("ri", "d10.0.0.1:5", 1000, 0));
    }
}
