//! The pure half of the modules' Apollo client: request paths, the access-key signature,
//! reading Apollo's answers, the retry schedule, and the records workers share.
//!
//! Apollo's config service: `GET /notifications/v2` is a long poll that answers when a
//! namespace's notification id moves; `GET /configs/{appId}/{cluster}/{ns}?releaseKey=` then
//! returns the release (a JSON namespace keeps its text in `configurations.content`), or 304
//! when the release key is the one already held. The glue sends these with `proxy_http_call`.

use crate::validate::json::checked;
use std::fmt;

/// Where a module reads its policy from. `access_key` is a secret: it signs requests and
/// is never printed (Debug shows whether one is set, not its value).
#[derive(Clone, PartialEq, Eq)]
pub struct ApolloSource {
    /// Envoy: the cluster of the config service; nginx: its `host:port`.
    pub upstream: String,
    pub app_id: String,
    pub cluster: String,
    pub namespace: String,
    pub access_key: Option<String>,
}

impl fmt::Debug for ApolloSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApolloSource")
            .field("upstream", &self.upstream)
            .field("app_id", &self.app_id)
            .field("cluster", &self.cluster)
            .field("namespace", &self.namespace)
            .field("access_key", &self.access_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

pub const DEFAULT_CLUSTER: &str = "default";
pub const DEFAULT_NAMESPACE: &str = "unitgate.json";
/// Apollo holds a long poll up to 60 s; the client waits longer than that.
pub const POLL_TIMEOUT_MS: u64 = 65_000;
/// A config fetch is answered at once.
pub const FETCH_TIMEOUT_MS: u64 = 10_000;
/// First retry delay after a failure; it doubles per failure up to `MAX_BACKOFF_MS`.
pub const MIN_BACKOFF_MS: u64 = 1_000;
pub const MAX_BACKOFF_MS: u64 = 30_000;

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The long poll for `source`'s namespace, from `notification_id` (-1: never seen).
pub fn notifications_path(source: &ApolloSource, notification_id: i64) -> String {
    // Written by hand: serde_json's serializer would add KB to every module.
    let mut ns = String::new();
    for c in source.namespace.chars() {
        match c {
            '"' | '\\' => ns.extend(['\\', c]),
            c if u32::from(c) < 0x20 => ns.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => ns.push(c),
        }
    }
    let watch = format!(r#"[{{"namespaceName":"{ns}","notificationId":{notification_id}}}]"#);
    format!(
        "/notifications/v2?appId={}&cluster={}&notifications={}",
        encode(&source.app_id),
        encode(&source.cluster),
        encode(&watch)
    )
}

/// The namespace read; `release_key` is the release already held ("" for none).
pub fn config_path(source: &ApolloSource, release_key: &str) -> String {
    let mut path = format!(
        "/configs/{}/{}/{}",
        encode(&source.app_id),
        encode(&source.cluster),
        encode(&source.namespace)
    );
    if !release_key.is_empty() {
        path.push_str(&format!("?releaseKey={}", encode(release_key)));
    }
    path
}

/// Apollo's access-key signature: base64(HMAC-SHA1(key, "<timestamp_ms>\n<path_with_query>")).
pub fn signature(access_key: &str, timestamp_ms: u64, path_with_query: &str) -> String {
    let text = format!("{timestamp_ms}\n{path_with_query}");
    crate::stamp::base64(
        &crate::digest::hmac_sha1(access_key.as_bytes(), text.as_bytes()),
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        true,
    )
}

/// The headers of a call to `path`: method, path, authority and, with an access key,
/// `Authorization: Apollo {appId}:{signature}` and `Timestamp`.
pub fn request_headers(source: &ApolloSource, path: &str, now_ms: u64) -> Vec<(String, String)> {
    let mut headers = vec![
        (":method".to_string(), "GET".to_string()),
        (":path".to_string(), path.to_string()),
        (":authority".to_string(), source.upstream.clone()),
    ];
    if let Some(key) = &source.access_key {
        let sig = signature(key, now_ms, path);
        headers.push((
            "authorization".into(),
            format!("Apollo {}:{sig}", source.app_id),
        ));
        headers.push(("timestamp".into(), now_ms.to_string()));
    }
    headers
}

/// The new notification id of `namespace` in a 200 answer of the long poll, if it is there.
pub fn changed_notification(body: &[u8], namespace: &str) -> Option<i64> {
    let list = checked(std::str::from_utf8(body).ok()?).ok()?;
    list.items().find_map(|n| {
        (n.get("namespaceName")?.str()? == namespace)
            .then(|| n.get("notificationId")?.number()?.as_i64())?
    })
}

/// One release read from the config service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub release_key: String,
    /// `configurations.content`: the policy text.
    pub content: String,
}

/// Reads a 200 answer of `/configs/…`.
pub fn parse_release(body: &[u8]) -> Result<Release, String> {
    let text = std::str::from_utf8(body).map_err(|_| "answer is not UTF-8")?;
    let doc = checked(text).map_err(|e| format!("answer is not JSON: {e}"))?;
    let release_key = doc
        .get("releaseKey")
        .and_then(|k| k.str())
        .ok_or("answer has no releaseKey")?;
    let content = doc
        .get("configurations")
        .and_then(|c| c.get("content"))
        .and_then(|c| c.str())
        .ok_or("answer has no configurations.content (is the namespace JSON?)")?;
    Ok(Release {
        release_key: release_key.into_owned(),
        content: content.into_owned(),
    })
}

/// Delay before the next try after `failures` failures in a row (0: none, no delay):
/// 1 s doubling up to 30 s, then a random point in its upper half (`random`: any u64) so
/// proxies that failed together do not retry together.
pub fn backoff_ms(failures: u32, random: u64) -> u64 {
    if failures == 0 {
        return 0;
    }
    let doubled = MIN_BACKOFF_MS.saturating_mul(1u64 << (failures - 1).min(20));
    let cap = doubled.min(MAX_BACKOFF_MS);
    cap / 2 + random % (cap / 2 + 1)
}

/// Who polls for a proxy: the VM holding this lease in shared data, until `until_ms`.
/// Text form: `"<owner> <until_ms>"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    pub owner: u64,
    pub until_ms: u64,
}

impl Lease {
    pub fn encode(&self) -> String {
        format!("{} {}", self.owner, self.until_ms)
    }

    pub fn decode(bytes: &[u8]) -> Option<Lease> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (owner, until) = text.split_once(' ')?;
        Some(Lease {
            owner: owner.parse().ok()?,
            until_ms: until.parse().ok()?,
        })
    }

    /// Whether `me` may write the lease now: it is mine, expired, absent or unreadable.
    pub fn open_to(current: Option<&[u8]>, me: u64, now_ms: u64) -> bool {
        match current.map(Lease::decode) {
            None | Some(None) => true,
            Some(Some(l)) => l.owner == me || l.until_ms <= now_ms,
        }
    }
}

/// The policy the poller publishes to every worker: `"<release_key>\n<policy text>"`.
pub fn encode_shared(release_key: &str, policy: &str) -> String {
    format!("{release_key}\n{policy}")
}

/// (release key, policy text) of a shared record.
pub fn decode_shared(bytes: &[u8]) -> Option<(&str, &str)> {
    std::str::from_utf8(bytes).ok()?.split_once('\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn source(key: Option<&str>) -> ApolloSource {
        ApolloSource {
            upstream: "apollo".into(),
            app_id: "unitgate".into(),
            cluster: DEFAULT_CLUSTER.into(),
            namespace: DEFAULT_NAMESPACE.into(),
            access_key: key.map(String::from),
        }
    }

    #[test]
    fn paths_are_apollos() {
        let s = source(None);
        assert_eq!(
            notifications_path(&s, -1),
            "/notifications/v2?appId=unitgate&cluster=default&notifications=\
             %5B%7B%22namespaceName%22%3A%22unitgate.json%22%2C%22notificationId%22%3A-1%7D%5D"
        );
        assert_eq!(
            config_path(&s, ""),
            "/configs/unitgate/default/unitgate.json"
        );
        assert_eq!(
            config_path(&s, "2026+a/b"),
            "/configs/unitgate/default/unitgate.json?releaseKey=2026%2Ba%2Fb"
        );
    }

    fn percent_decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_namespace_name_is_escaped_in_the_poll() {
        let odd = ApolloSource {
            namespace: "a\"b\\c\u{1}".into(),
            ..source(None)
        };
        let path = notifications_path(&odd, 3);
        let raw = path.split("notifications=").nth(1).unwrap();
        let v: Value = serde_json::from_str(&percent_decode(raw)).unwrap();
        assert_eq!(v[0]["namespaceName"], "a\"b\\c\u{1}");
        assert_eq!(v[0]["notificationId"], 3);
    }

    #[test]
    fn signature_matches_hmac_sha1_reference() {
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?").
        // Our text is "<ts>\n<path>", so sign a path that makes exactly that message.
        let sig = signature("Jefe", 0, "what do ya want for nothing?");
        use hmac::{Hmac, Mac};
        let want = {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"Jefe").unwrap();
            mac.update(b"0\nwhat do ya want for nothing?");
            mac.finalize().into_bytes()
        };
        assert_eq!(
            sig,
            crate::stamp::base64(
                &want,
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                true
            )
        );
        // Known answer, computed independently (python hmac/base64).
        assert_eq!(
            signature("secret", 1_700_000_000_000, "/configs/a/default/n.json"),
            "tUCewbvqCeA2sxNgGcWxgN/DF/A="
        );
    }

    #[test]
    fn headers_are_signed_only_with_a_key() {
        let plain = request_headers(&source(None), "/p", 5);
        assert!(plain.iter().all(|(k, _)| k != "authorization"));
        let signed = request_headers(&source(Some("k")), "/p", 5);
        let get = |n: &str| signed.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        assert_eq!(
            get("authorization"),
            Some(format!("Apollo unitgate:{}", signature("k", 5, "/p")))
        );
        assert_eq!(get("timestamp").as_deref(), Some("5"));
        // The key itself goes nowhere.
        assert!(signed.iter().all(|(_, v)| v != "k"));
        assert!(!format!("{:?}", source(Some("k0ey"))).contains("k0ey"));
    }

    #[test]
    fn notification_answers_are_read_for_our_namespace() {
        let body = br#"[{"namespaceName":"other.json","notificationId":9},
                        {"namespaceName":"unitgate.json","notificationId":7,"messages":{}}]"#;
        assert_eq!(changed_notification(body, "unitgate.json"), Some(7));
        assert_eq!(changed_notification(body, "x.json"), None);
        assert_eq!(changed_notification(b"not json", "unitgate.json"), None);
    }

    #[test]
    fn release_answers_are_read_or_refused() {
        let ok = br#"{"appId":"a","cluster":"default","namespaceName":"unitgate.json",
                      "configurations":{"content":"{\"version\":\"v1\"}"},"releaseKey":"rk1"}"#;
        assert_eq!(
            parse_release(ok),
            Ok(Release {
                release_key: "rk1".into(),
                content: r#"{"version":"v1"}"#.into()
            })
        );
        assert!(parse_release(b"{").is_err());
        assert!(parse_release(br#"{"releaseKey":"r","configurations":{}}"#).is_err());
        assert!(parse_release(br#"{"configurations":{"content":"x"}}"#).is_err());
    }

    #[test]
    fn backoff_doubles_to_a_cap_with_jitter_in_the_upper_half() {
        assert_eq!(backoff_ms(0, 123), 0);
        for (failures, cap) in [
            (1, 1_000),
            (2, 2_000),
            (3, 4_000),
            (6, 30_000),
            (60, 30_000),
        ] {
            for random in [0, 1, 777, u64::MAX] {
                let d = backoff_ms(failures, random);
                assert!(d >= cap / 2 && d <= cap, "{failures} {random}: {d}");
            }
        }
        assert_ne!(backoff_ms(3, 1), backoff_ms(3, 2));
    }

    #[test]
    fn a_lease_is_taken_only_when_free_or_ours() {
        let held = Lease {
            owner: 7,
            until_ms: 100,
        }
        .encode();
        assert_eq!(
            Lease::decode(held.as_bytes()),
            Some(Lease {
                owner: 7,
                until_ms: 100
            })
        );
        assert!(Lease::open_to(None, 1, 0));
        assert!(Lease::open_to(Some(b"garbage"), 1, 0));
        assert!(Lease::open_to(Some(held.as_bytes()), 7, 50));
        assert!(!Lease::open_to(Some(held.as_bytes()), 8, 50));
        assert!(Lease::open_to(Some(held.as_bytes()), 8, 100));
    }

    #[test]
    fn shared_records_round_trip() {
        let rec = encode_shared("rk", "{\n\"version\": \"v\"}");
        assert_eq!(
            decode_shared(rec.as_bytes()),
            Some(("rk", "{\n\"version\": \"v\"}"))
        );
    }
}
