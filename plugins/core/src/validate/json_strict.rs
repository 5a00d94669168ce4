//! What serde_json's `Value` parser refuses in text that its allocation-free syntax check
//! (`IgnoredAny`) accepts: nesting deeper than 127 arrays and objects, a number out of `f64`
//! range, and a lone UTF-16 surrogate escape. Checking for these keeps the in-place reader
//! (`json.rs`) refusing exactly the documents a `Value` would have refused.

use super::json::{string_end, value_end, Json};

/// serde_json's recursion limit: the 128th nested array or object is refused.
const MAX_DEPTH: usize = 128;

/// The first of these problems in `text` (syntax already checked), worded as serde_json
/// words it; None when there is none. One pass over the bytes; only strings with escapes
/// and numbers with an exponent or hundreds of digits are decoded.
pub(crate) fn value_error(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let problem = match c {
            b'"' => {
                let end = string_end(b, i);
                let token = text.get(i..end).unwrap_or_default();
                i = end;
                match token.contains('\\') && Json::new(token).str().is_none() {
                    true => "lone leading surrogate in hex escape",
                    false => continue,
                }
            }
            b'-' | b'0'..=b'9' => {
                let end = value_end(b, i);
                let token = text.get(i..end).unwrap_or_default();
                i = end;
                // Only an exponent or over 300 digits can leave f64's range (±1.8e308).
                let big = token.len() > 300 || token.bytes().any(|d| (d | 0x20) == b'e');
                match big && Json::new(token).number().is_none() {
                    true => "number out of range",
                    false => continue,
                }
            }
            b'[' | b'{' => {
                depth += 1;
                i += 1;
                match depth >= MAX_DEPTH {
                    true => "recursion limit exceeded",
                    false => continue,
                }
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        return Some(format!("{problem} at {}", position(text, i)));
    }
    None
}

/// `line L column C` of byte `at`, as serde_json places its errors (1-based lines; the
/// column counts the bytes of the line up to `at`).
fn position(text: &str, at: usize) -> String {
    let before = text.as_bytes().get(..at).unwrap_or_default();
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count();
    format!("line {line} column {column}")
}

#[cfg(test)]
mod tests {
    use super::super::json::checked;
    use serde_json::Value;

    /// Whether serde_json's `Value` parser takes `text`.
    fn value_takes(text: &str) -> bool {
        serde_json::from_str::<Value>(text).is_ok()
    }

    #[test]
    fn refuses_what_a_value_refuses() {
        let nest = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let objects = |n: usize| format!("{}1{}", r#"{"a":"#.repeat(n), "}".repeat(n));
        let long = format!("1{}", "0".repeat(400));
        let mut docs: Vec<String> = vec![
            r#"{"a":1e400}"#.into(),
            r#"{"a":-1e400,"b":"x"}"#.into(),
            r#"{"a":1e308}"#.into(),
            r#"{"a":1E309}"#.into(),
            r#"[1.5e-400]"#.into(),
            format!("[{long}]"),
            format!("[{long}.5]"),
            format!("[-{long}]"),
            r#"["\ud800"]"#.into(),
            r#"["\udc00"]"#.into(),
            r#"["\ud800\u0041"]"#.into(),
            r#"["\ud83d\ude00"]"#.into(),
            r#"{"\ud800": 1}"#.into(),
            r#"["a\\ud800"]"#.into(),
            r#"{"s":"[[[[", "n": [1, {"x": [true, null]}]}"#.into(),
        ];
        for n in [1, 126, 127, 128, 129, 300] {
            docs.push(nest(n));
            docs.push(objects(n));
        }
        for doc in &docs {
            assert_eq!(
                checked(doc).is_ok(),
                value_takes(doc),
                "{}",
                &doc[..doc.len().min(60)]
            );
        }
        let e = checked("{\n \"a\": 1e400}").unwrap_err();
        assert!(e.starts_with("number out of range at line 2"), "{e}");
        assert!(checked("[1,").unwrap_err().contains("EOF"));
    }
}
