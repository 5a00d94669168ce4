//! Signed stamps: the chain/peer context header, tester tokens, and inbound header hygiene.
//!
//! ctx: `v1;<stage>;<origin_cloud>;<unit>;<api or ->;<class>;<reason>;<version>;<ts_ms>;<sig>`
//! tester token: `<unit>.<expires_ms>.<sig>`; sig = base64url-nopad(HMAC-SHA256(secret, text)).

use crate::decision::{class_str, parse_class, Reason};
use crate::model::ApiKind;
use crate::request::RequestView;
use crate::{Ingress, Stage, CTX_HEADER, INTERNAL_PREFIX};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], text: &str) -> Option<HmacSha256> {
    let mut m = HmacSha256::new_from_slice(secret).ok()?;
    m.update(text.as_bytes());
    Some(m)
}

/// The stamp primitive: base64url-nopad HMAC-SHA256 of `text` with `secret`. A ctx header is
/// "<text>;<sign(text)>", a tester token "<unit>.<expires_ms>.<sign(unit.expires_ms)>".
/// Public so tools and tests can craft stamps (e.g. to simulate a peer).
pub fn sign(secret: &[u8], text: &str) -> String {
    match mac(secret, text) {
        Some(m) => base64url(&m.finalize().into_bytes()),
        None => String::new(),
    }
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
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        // 1, 2 or 3 bytes give 2, 3 or 4 characters.
        for i in 0..=chunk.len() {
            let six = (n >> (18 - 6 * i)) & 63;
            if let Some(&c) = ALPHABET.get(six as usize) {
                out.push(char::from(c));
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

/// What one stage tells the next stage (or the peer cloud's ingress).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ctx {
    pub stage: Stage,
    pub origin_cloud: String,
    pub unit: String,
    pub api: Option<String>,
    pub class: ApiKind,
    pub reason: Reason,
    pub version: String,
    pub ts_ms: u64,
}

impl Ctx {
    fn text(&self) -> String {
        format!(
            "v1;{};{};{};{};{};{};{};{}",
            self.stage.as_u8(),
            self.origin_cloud,
            self.unit,
            self.api.as_deref().unwrap_or("-"),
            class_str(self.class),
            self.reason.as_str(),
            self.version,
            self.ts_ms
        )
    }

    /// The signed header value.
    pub fn encode(&self, secret: &[u8]) -> String {
        let text = self.text();
        let sig = sign(secret, &text);
        format!("{text};{sig}")
    }

    /// Parse and verify a header value: signature and age (|now - ts| <= max_age).
    pub fn decode(value: &str, secret: &[u8], now_ms: u64, max_age_ms: u64) -> Option<Ctx> {
        let (text, sig) = value.trim().rsplit_once(';')?;
        let f: Vec<&str> = text.split(';').collect();
        let [v, stage, origin, unit, api, class, reason, version, ts] = f.as_slice() else {
            return None;
        };
        if *v != "v1" {
            return None;
        }
        let ts_ms: u64 = ts.parse().ok()?;
        if now_ms.abs_diff(ts_ms) > max_age_ms {
            return None;
        }
        if !verify(secret, text, sig) {
            return None;
        }
        Some(Ctx {
            stage: Stage::from_u8(stage.parse().ok()?)?,
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

/// The verified ctx header of `req`, if there is exactly one and it verifies.
pub(crate) fn read_ctx(ingress: &Ingress, req: &RequestView, now_ms: u64) -> Option<Ctx> {
    let mut values = req
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(CTX_HEADER));
    let (_, value) = values.next()?;
    if values.next().is_some() {
        return None;
    }
    Ctx::decode(value, &ingress.secret, now_ms, ingress.stamp_max_age_ms)
}

/// Names of inbound headers the glue must remove before anything else: every `x-unitgate-*`
/// header except the tester header and a CTX_HEADER whose stamp verifies (HMAC-SHA256 with
/// ingress.secret, age <= stamp_max_age_ms).
pub fn untrusted_headers(ingress: &Ingress, req: &RequestView, now_ms: u64) -> Vec<String> {
    let ctx_ok = read_ctx(ingress, req, now_ms).is_some();
    let mut out: Vec<String> = Vec::new();
    for (name, _) in &req.headers {
        let lower = name.to_ascii_lowercase();
        if !lower.starts_with(INTERNAL_PREFIX)
            || lower.eq_ignore_ascii_case(&ingress.tester_header)
            || (lower == CTX_HEADER && ctx_ok)
            || out.contains(&lower)
        {
            continue;
        }
        out.push(lower);
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
            stage: Stage::Gray,
            origin_cloud: "ucloud".into(),
            unit: "jc".into(),
            api: Some("orders".into()),
            class: ApiKind::Core,
            reason: Reason::Gray,
            version: "v1".into(),
            ts_ms: 5000,
        }
    }

    #[test]
    fn ctx_round_trips_and_rejects_tampering() {
        let c = ctx();
        let v = c.encode(b"k");
        assert!(v.starts_with("v1;2;ucloud;jc;orders;core;gray;v1;5000;"));
        assert_eq!(Ctx::decode(&v, b"k", 5500, 1000), Some(c.clone()));
        assert_eq!(Ctx::decode(&v, b"k", 6001, 1000), None, "too old");
        assert_eq!(Ctx::decode(&v, b"k", 3999, 1000), None, "from the future");
        assert_eq!(Ctx::decode(&v, b"other", 5500, 1000), None, "wrong secret");
        assert_eq!(Ctx::decode(&v, b"", 5500, 1000), None, "empty secret");
        let tampered = v.replace(";jc;", ";uc;");
        assert_eq!(Ctx::decode(&tampered, b"k", 5500, 1000), None);
        let no_api = Ctx { api: None, ..c };
        let v = no_api.encode(b"k");
        assert_eq!(Ctx::decode(&v, b"k", 5000, 0), Some(no_api));
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
    fn untrusted_headers_keep_only_verified_ctx_and_tester() {
        let ing = ingress(b"k");
        let good = ctx().encode(b"k");
        let h = |k: &str, v: &str| (k.to_string(), v.to_string());
        let req = RequestView::new(
            "GET",
            "/",
            vec![
                h("X-Unitgate-Ctx", &good),
                h("x-unitgate-tester", "t"),
                h("x-unitgate-cluster", "evil"),
                h("X-UNITGATE-CLUSTER", "evil2"),
                h("x-other", "ok"),
            ],
        );
        assert_eq!(
            untrusted_headers(&ing, &req, 5000),
            vec!["x-unitgate-cluster"]
        );
        assert_eq!(
            untrusted_headers(&ing, &req, 9000),
            vec!["x-unitgate-ctx", "x-unitgate-cluster"]
        );
        assert_eq!(
            untrusted_headers(&ingress(b"wrong"), &req, 5000),
            vec!["x-unitgate-ctx", "x-unitgate-cluster"]
        );
    }
}
