//! Body keys: the value a JSON pointer names in a request body, read in place.
//!
//! The same values as `serde_json::Value::pointer` on the parsed body, without parsing it
//! into a tree: the body is checked once (`json::checked`: a body a `Value` would refuse
//! gives no key), then each pointer walks the text. Never panics, whatever the body.

use crate::validate::json::{pointer_token, Json, Kind};
use std::borrow::Cow;

/// The body as JSON, if a `Value` would take it.
pub(crate) fn parse(body: &[u8]) -> Option<Json<'_>> {
    crate::validate::json::checked(std::str::from_utf8(body).ok()?).ok()
}

/// The string or number at `pointer` (RFC 6901, as `Value::pointer` reads it): a string
/// unescaped, a number in serde_json's text (`5`, `-3`, `1.5`, `1e20` as `1e20`, ...).
/// Anything else, or nothing there, is None.
pub(crate) fn key<'a>(doc: Json<'a>, pointer: &str) -> Option<Cow<'a, str>> {
    let mut at = doc;
    if !pointer.is_empty() {
        let tokens = pointer.strip_prefix('/')?;
        for token in tokens.split('/') {
            let token = pointer_token(token);
            at = match at.kind() {
                Kind::Object => at.get(&token)?,
                Kind::Array => at.items().nth(index(&token)?)?,
                _ => return None,
            };
        }
    }
    match at.kind() {
        Kind::String => at.str(),
        Kind::Number => Some(Cow::Owned(at.number()?.to_string())),
        _ => None,
    }
}

/// An array index as `Value::pointer` takes it: digits, no `+`, no leading zero.
fn index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    usize::try_from(token.parse::<u64>().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// What `Value::pointer` gives for the same body and pointer, as the old reader kept it.
    fn by_value(body: &str, pointer: &str) -> Option<String> {
        let v: Value = serde_json::from_str(body).ok()?;
        match v.pointer(pointer)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    #[test]
    fn reads_what_value_pointer_reads() {
        let bodies = [
            r#"{"order":{"city":5,"name":"a\"b\u00e9\ud83d\ude00","list":[10,"x",{"k":"v"}]}}"#,
            r#"{"a":1,"a":2,"n":-0,"f":1.50,"e":1e20,"E":-2.5E-3,"big":18446744073709551616}"#,
            r#"{"min":-9223372036854775808,"under":-9223372036854775809,"max":18446744073709551615}"#,
            r#"{"a/b":{"m~n":"slash-tilde"},"":{"":"empty"},"~1":"lit"}"#,
            r#"[0,[1,[2,"deep"]]]"#,
            r#"{"a":1e400}"#,
            r#"{"a":"x","bad":"\ud800"}"#,
            r#"  {"sp" : [ 1 , 2 ]  }  "#,
            r#""top""#,
            "7",
            "not json",
            r#"{"a":"#,
            r#"{"a":1}trailing"#,
            r#"{"t":true,"z":null,"o":{},"arr":[]}"#,
        ];
        let pointers = [
            "",
            "/",
            "/order/city",
            "/order/name",
            "/order/list/0",
            "/order/list/1",
            "/order/list/2/k",
            "/order/list/01",
            "/order/list/+1",
            "/order/list/3",
            "/order/list/-1",
            "/a",
            "/n",
            "/f",
            "/e",
            "/E",
            "/big",
            "/min",
            "/under",
            "/max",
            "/a~1b/m~0n",
            "//",
            "/~01",
            "/0/1/1/1",
            "/0/1/0",
            "/0",
            "/sp/1",
            "/t",
            "/z",
            "/o",
            "/arr",
            "a",
            "/bad",
            "/x/y",
        ];
        for body in bodies {
            for pointer in pointers {
                let got = parse(body.as_bytes()).and_then(|d| key(d, pointer));
                assert_eq!(
                    got.map(Cow::into_owned),
                    by_value(body, pointer),
                    "{body} {pointer}"
                );
            }
        }
        assert!(parse(b"{\"a\":\"\xff\"}").is_none());
    }
}
