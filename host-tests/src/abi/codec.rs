//! Map and property-path encodings, exactly as the SDK's `hostcalls.rs` reads and writes them:
//! u32 LE count, then (u32 key_len, u32 value_len) per entry, then each key and value followed by NUL.

/// Serialize header pairs the way the SDK's `deserialize_map` expects.
pub fn encode_map(pairs: &[(String, String)]) -> Vec<u8> {
    let mut size = 4;
    for (k, v) in pairs {
        size += 8 + k.len() + v.len() + 2;
    }
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

/// Parse a serialized map written by the SDK's `serialize_map`. `None` if malformed.
/// Non-UTF-8 bytes are replaced (header values are text for every caller we know).
pub fn decode_map(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let count = read_u32(bytes, 0)? as usize;
    let mut pos = 4usize.checked_add(count.checked_mul(8)?)?;
    if pos > bytes.len() {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    for n in 0..count {
        let key_len = read_u32(bytes, 4 + n * 8)? as usize;
        let value_len = read_u32(bytes, 8 + n * 8)? as usize;
        let key = bytes.get(pos..pos.checked_add(key_len)?)?;
        pos += key_len + 1;
        let value = bytes.get(pos..pos.checked_add(value_len)?)?;
        pos += value_len + 1;
        out.push((
            String::from_utf8_lossy(key).into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        ));
    }
    Some(out)
}

/// Split a property path: segments joined by NUL, no trailing NUL.
pub fn decode_path(bytes: &[u8]) -> Vec<String> {
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|b| *b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// Join property path segments the way the SDK's `serialize_property_path` does.
pub fn encode_path(segments: &[&str]) -> Vec<u8> {
    segments.join("\0").into_bytes()
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes from the SDK's own `SERIALIZED_MAP` test vector.
    #[test]
    fn matches_sdk_test_vector() {
        let map = vec![
            (":method".to_string(), "GET".to_string()),
            (":path".to_string(), "/bytes/1".to_string()),
            (":authority".to_string(), "httpbin.org".to_string()),
            ("Powered-By".to_string(), "proxy-wasm".to_string()),
        ];
        let mut expected: Vec<u8> = vec![4, 0, 0, 0];
        for (k, v) in &map {
            expected.extend_from_slice(&(k.len() as u32).to_le_bytes());
            expected.extend_from_slice(&(v.len() as u32).to_le_bytes());
        }
        for (k, v) in &map {
            expected.extend_from_slice(k.as_bytes());
            expected.push(0);
            expected.extend_from_slice(v.as_bytes());
            expected.push(0);
        }
        assert_eq!(&expected[..12], &[4, 0, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(encode_map(&map), expected);
        assert_eq!(decode_map(&expected), Some(map));
    }

    #[test]
    fn empty_and_malformed_maps() {
        assert_eq!(encode_map(&[]), vec![0, 0, 0, 0]);
        assert_eq!(decode_map(&[]), Some(vec![]));
        assert_eq!(decode_map(&[0, 0, 0, 0]), Some(vec![]));
        assert_eq!(decode_map(&[1, 0, 0, 0, 5, 0, 0, 0]), None);
        assert_eq!(decode_map(&[255, 255, 255, 255]), None);
    }

    #[test]
    fn property_paths() {
        assert_eq!(encode_path(&["request", "path"]), b"request\0path".to_vec());
        assert_eq!(
            decode_path(b"request\0headers\0x-a"),
            vec!["request", "headers", "x-a"]
        );
        assert!(decode_path(b"").is_empty());
    }
}
