//! Signed stamps: the chain/peer context header, tester tokens, and inbound header hygiene.
//!
//! peer ctx: `v2;<origin_cloud>;<unit>;<api or ->;<class>;<reason>;<version>;<ts_ms>;<sig>`,
//! sig over the text and the request (method, path, shard key value);
//! chain handoff: `<stage>;<unit>;<api or ->;<class>;<reason>;<key or ->`, unsigned;
//! tester token: `<unit>.<expires_ms>.<sig>`; sig = base64url-nopad(HMAC-SHA256(secret, text)).

use crate::decision::{class_str, parse_class, Reason};
use crate::model::ApiKind;
use crate::request::{eq_ascii_case, RequestView};
use crate::{Ingress, Stage, HOP_HEADER, INTERNAL_PREFIX};
/// The stamp primitive: base64url-nopad HMAC-SHA256 of `text` with `secret`. A ctx header is
/// "<text>;<sign(text)>", a tester token "<unit>.<expires_ms>.<sign(unit.expires_ms)>".
/// Public so tools and tests can craft stamps (e.g. to simulate a peer).
pub fn sign(secret: &[u8], text: &str) -> String {
    base64url(&crate::digest::hmac_sha256(secret, text.as_bytes()))
}

/// Constant-time check of `sig` over `text`. An empty secret never verifies.
/// Compares encodings: every MAC has exactly one base64url-nopad form, so this accepts the
/// same signatures as decoding `sig` and comparing bytes (non-canonical forms never matched).
pub(crate) fn verify(secret: &[u8], text: &str, sig: &str) -> bool {
    if secret.is_empty() {
        return false;
    }
    let expected = sign(secret, text);
    let (a, b) = (expected.as_bytes(), sig.as_bytes());
    // Lengths are public (always 43); the bytes are compared without an early exit.
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// RFC 4648 base64url without padding. Hand-written: encoding a MAC is all the stamps need,
/// and the base64 crate's general engine was several KB of each wasm module.
fn base64url(bytes: &[u8]) -> String {
    base64(
        bytes,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        false,
    )
}

/// RFC 4648 base64 in `alphabet`, with `=` padding when `pad`.
pub(crate) fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        // 1, 2 or 3 bytes give 2, 3 or 4 characters.
        for i in 0..=chunk.len() {
            let six = (n >> (18 - 6 * i)) & 63;
            if let Some(&c) = alphabet.get(six as usize) {
                out.push(char::from(c));
            }
        }
        if pad {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

/// Tester override token for `unit`, valid until `expires_ms`: "<unit>.<expires_ms>.<b64url hmac>".
pub fn tester_token(secret: &[u8], unit: &str, expires_ms: u64) -> String {
    let text = format!("{unit}.{expires_ms}");
    let sig = sign(secret, &text);
    format!("{text}.{sig}")
}

/// The unit of a valid, unexpired tester token.
pub(crate) fn verify_tester_token<'a>(
    secret: &[u8],
    token: &'a str,
    now_ms: u64,
) -> Option<&'a str> {
    let (text, sig) = token.trim().rsplit_once('.')?;
    let (unit, expires) = text.rsplit_once('.')?;
    let expires: u64 = expires.parse().ok()?;
    (now_ms <= expires && !unit.is_empty() && verify(secret, text, sig)).then_some(unit)
}

/// What an ingress tells the peer cloud's ingress when it forwards a request there.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ctx {
    pub origin_cloud: String,
    pub unit: String,
    pub api: Option<String>,
    pub class: ApiKind,
    pub reason: Reason,
    pub version: String,
    pub ts_ms: u64,
}

/// What a stamp is bound to: the request it was written for. A stamp verifies only on a
/// request with the same method, path (without query) and shard key value.
pub(crate) struct Binding<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The raw value of the API's shard key, `-` when there is none.
    pub key: &'a str,
}

impl Ctx {
    fn text(&self) -> String {
        format!(
            "v2;{};{};{};{};{};{};{}",
            self.origin_cloud,
            self.unit,
            self.api.as_deref().unwrap_or("-"),
            class_str(self.class),
            self.reason.as_str(),
            self.version,
            self.ts_ms
        )
    }

    /// The signed header value, bound to the request.
    pub fn encode(&self, secret: &[u8], bound: &Binding) -> String {
        let text = self.text();
        let sig = sign(secret, &signed_text(&text, bound));
        format!("{text};{sig}")
    }

    /// Parse and verify a header value for the request it arrived on: signature (over the
    /// text and the binding) and age (|now - ts| <= max_age).
    pub fn decode(
        value: &str,
        secret: &[u8],
        bound: &Binding,
        now_ms: u64,
        max_age_ms: u64,
    ) -> Option<Ctx> {
        let (text, sig) = value.trim().rsplit_once(';')?;
        let f: Vec<&str> = text.split(';').collect();
        let [v, origin, unit, api, class, reason, version, ts] = f.as_slice() else {
            return None;
        };
        if *v != "v2" {
            return None;
        }
        let ts_ms: u64 = ts.parse().ok()?;
        if now_ms.abs_diff(ts_ms) > max_age_ms {
            return None;
        }
        if !verify(secret, &signed_text(text, bound), sig) {
            return None;
        }
        Some(Ctx {
            origin_cloud: origin.to_string(),
            unit: unit.to_string(),
            api: (*api != "-").then(|| api.to_string()),
            class: parse_class(class)?,
            reason: Reason::parse(reason)?,
            version: version.to_string(),
            ts_ms,
        })
    }
}

/// The text a peer stamp's signature covers: the header text, then the binding.
fn signed_text(text: &str, b: &Binding) -> String {
    format!("{text}\n{}\n{}\n{}", b.method, b.path, b.key)
}

/// The one header named `name`, if there is exactly one.
pub(crate) fn single<'a>(req: &'a RequestView<'_>, name: &str) -> Option<&'a str> {
    let mut values = req
        .headers
        .iter()
        .filter(|(k, _)| eq_ascii_case(k.as_bytes(), name.as_bytes()));
    let (_, value) = values.next()?;
    values.next().is_none().then_some(value.as_ref())
}

/// The chain handoff between per-concern modules in one filter chain: what the earlier
/// module decided. Unsigned: it is trusted only by a module configured to run after another
/// unitgate module, and the first module of a chain strips every inbound internal header.
/// `<stage>;<unit>;<api or ->;<class>;<reason>`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Hop {
    pub stage: Stage,
    pub unit: String,
    pub api: Option<String>,
    pub class: ApiKind,
    pub reason: Reason,
}

impl Hop {
    pub fn encode(&self) -> String {
        format!(
            "{};{};{};{};{}",
            self.stage.as_u8(),
            self.unit,
            self.api.as_deref().unwrap_or("-"),
            class_str(self.class),
            self.reason.as_str()
        )
    }

    pub fn decode(value: &str) -> Option<Hop> {
        let f: Vec<&str> = value.split(';').collect();
        let [stage, unit, api, class, reason] = f.as_slice() else {
            return None;
        };
        Some(Hop {
            stage: Stage::from_u8(stage.parse().ok()?)?,
            unit: unit.to_string(),
            api: (*api != "-").then(|| api.to_string()),
            class: parse_class(class)?,
            reason: Reason::parse(reason)?,
        })
    }
}

/// Names of the inbound internal headers the glue removes before the request goes on: every
/// `x-unitgate-*` header except the tester header, and except the chain handoff when this
/// module trusts it (`trust_hop`). The peer stamp is among them: it is read (and verified
/// once, by the decision) from the request view, and never reaches a backend.
pub fn untrusted_headers(ingress: &Ingress, req: &RequestView, trust_hop: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (name, _) in &req.headers {
        // Compared in place: a copy per header name cost every request an allocation.
        let internal = name
            .as_bytes()
            .get(..INTERNAL_PREFIX.len())
            .is_some_and(|p| eq_ascii_case(p, INTERNAL_PREFIX.as_bytes()));
        if !internal
            || eq_ascii_case(name.as_bytes(), ingress.tester_header.as_bytes())
            || (trust_hop && eq_ascii_case(name.as_bytes(), HOP_HEADER.as_bytes()))
            || out
                .iter()
                .any(|o| eq_ascii_case(o.as_bytes(), name.as_bytes()))
        {
            continue;
        }
        out.push(name.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn base64url_matches_rfc4648() {
        for (raw, enc) in [
            (&b""[..], ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
            (&[0xfb, 0xff, 0xbf][..], "-_-_"),
        ] {
            assert_eq!(base64url(raw), enc);
        }
        assert_eq!(sign(b"k", "text").len(), 43);
    }

    #[test]
    fn only_the_exact_signature_verifies() {
        let sig = sign(b"k", "text");
        assert!(verify(b"k", "text", &sig));
        assert!(!verify(b"k", "text2", &sig));
        assert!(!verify(b"", "text", &sig));
        assert!(!verify(b"k", "text", &sig[..42]));
        // The same 32 bytes with non-zero trailing bits in the last character: not canonical.
        let last = sig.as_bytes()[42];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let pos = alphabet.iter().position(|&c| c == last).unwrap();
        let other = alphabet[pos ^ 1] as char;
        assert!(!verify(b"k", "text", &format!("{}{other}", &sig[..42])));
    }
    use super::*;
    use std::collections::BTreeMap;

    fn ingress(secret: &[u8]) -> Ingress {
        Ingress {
            local_unit: "uc".into(),
            fail_mode: crate::FailMode::Open,
            secret: secret.to_vec(),
            stamp_max_age_ms: 1000,
            remote_upstreams: BTreeMap::new(),
            tester_header: crate::DEFAULT_TESTER_HEADER.into(),
        }
    }

    fn ctx() -> Ctx {
        Ctx {
            origin_cloud: "ucloud".into(),
            unit: "jc".into(),
            api: Some("orders".into()),
            class: ApiKind::Core,
            reason: Reason::Gray,
            version: "v1".into(),
            ts_ms: 5000,
        }
    }

    const BOUND: Binding = Binding {
        method: "GET",
        path: "/api/orders",
        key: "42",
    };

    #[test]
    fn ctx_round_trips_and_rejects_tampering_and_replay() {
        let c = ctx();
        let v = c.encode(b"k", &BOUND);
        assert!(v.starts_with("v2;ucloud;jc;orders;core;gray;v1;5000;"));
        let decode =
            |v: &str, secret: &[u8], b: &Binding, now| Ctx::decode(v, secret, b, now, 1000);
        assert_eq!(decode(&v, b"k", &BOUND, 5500), Some(c.clone()));
        assert_eq!(decode(&v, b"k", &BOUND, 6001), None, "too old");
        assert_eq!(decode(&v, b"k", &BOUND, 3999), None, "from the future");
        assert_eq!(decode(&v, b"other", &BOUND, 5500), None, "wrong secret");
        assert_eq!(decode(&v, b"", &BOUND, 5500), None, "empty secret");
        let tampered = v.replace(";jc;", ";uc;");
        assert_eq!(decode(&tampered, b"k", &BOUND, 5500), None);
        // Replayed onto another request: another method, path or key value.
        for other in [
            Binding {
                method: "POST",
                ..BOUND
            },
            Binding {
                path: "/api/orders/1",
                ..BOUND
            },
            Binding { key: "43", ..BOUND },
        ] {
            assert_eq!(decode(&v, b"k", &other, 5500), None);
        }
        let no_api = Ctx { api: None, ..c };
        let v = no_api.encode(b"k", &BOUND);
        assert_eq!(Ctx::decode(&v, b"k", &BOUND, 5000, 0), Some(no_api));
    }

    #[test]
    fn hop_round_trips() {
        let hop = Hop {
            stage: Stage::Gray,
            unit: "jc".into(),
            api: None,
            class: ApiKind::Core,
            reason: Reason::Gray,
        };
        assert_eq!(hop.encode(), "2;jc;-;core;gray");
        assert_eq!(Hop::decode(&hop.encode()), Some(hop.clone()));
        let api = Hop {
            api: Some("orders".into()),
            ..hop
        };
        assert_eq!(Hop::decode(&api.encode()), Some(api));
        assert_eq!(Hop::decode("9;jc;-;core;gray"), None);
        assert_eq!(Hop::decode("2;jc;-;core"), None);
        assert_eq!(Hop::decode("2;jc;-;core;gray;x"), None);
    }

    #[test]
    fn tester_tokens_verify_until_expiry() {
        let t = tester_token(b"k", "jc.a", 100);
        assert_eq!(verify_tester_token(b"k", &t, 100), Some("jc.a"));
        assert_eq!(verify_tester_token(b"k", &t, 101), None);
        assert_eq!(verify_tester_token(b"x", &t, 1), None);
        assert_eq!(verify_tester_token(b"k", &t.replace("100", "900"), 1), None);
        assert_eq!(verify_tester_token(b"k", "garbage", 1), None);
    }

    #[test]
    fn untrusted_headers_keep_only_tester_and_a_trusted_hop() {
        let ing = ingress(b"k");
        let h = |k: &str, v: &str| (k.to_string(), v.to_string());
        let req = RequestView::new(
            "GET",
            "/",
            vec![
                h("X-Unitgate-Ctx", "v2;anything"),
                h("x-unitgate-tester", "t"),
                h("x-unitgate-hop", "1;jc;-;core;key_range"),
                h("x-unitgate-cluster", "evil"),
                h("X-UNITGATE-CLUSTER", "evil2"),
                h("x-other", "ok"),
            ],
        );
        assert_eq!(
            untrusted_headers(&ing, &req, true),
            vec!["x-unitgate-ctx", "x-unitgate-cluster"]
        );
        assert_eq!(
            untrusted_headers(&ing, &req, false),
            vec!["x-unitgate-ctx", "x-unitgate-hop", "x-unitgate-cluster"]
        );
    }
}
