//! Apollo's access-key signature, as its clients send it to the config service:
//! `Authorization: Apollo {appId}:{signature}` and `Timestamp: <ms since epoch>`, where
//! signature = base64(HMAC-SHA1(secret, timestamp + "\n" + path-with-query)).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// How far a client's `Timestamp` may be from the fixture's clock (Apollo allows one minute).
pub const MAX_SKEW_MS: u64 = 60_000;

/// The signature of one request.
pub fn signature(timestamp_ms: u64, path_with_query: &str, secret: &str) -> String {
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp_ms}\n{path_with_query}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The two headers a client sends: (`Authorization` value, `Timestamp` value).
pub fn auth_headers(
    app_id: &str,
    timestamp_ms: u64,
    path_with_query: &str,
    secret: &str,
) -> (String, String) {
    (
        format!(
            "Apollo {app_id}:{}",
            signature(timestamp_ms, path_with_query, secret)
        ),
        timestamp_ms.to_string(),
    )
}

/// Whether a request carries a valid signature for `app_id` and one of `secrets`.
pub fn verify(
    app_id: &str,
    authorization: Option<&str>,
    timestamp: Option<&str>,
    path_with_query: &str,
    secrets: &[String],
    now_ms: u64,
) -> bool {
    let (Some(auth), Some(ts)) = (authorization, timestamp) else {
        return false;
    };
    let Ok(ts) = ts.parse::<u64>() else {
        return false;
    };
    if ts.abs_diff(now_ms) > MAX_SKEW_MS {
        return false;
    }
    let Some((who, sig)) = auth
        .strip_prefix("Apollo ")
        .and_then(|rest| rest.rsplit_once(':'))
    else {
        return false;
    };
    who == app_id
        && secrets
            .iter()
            .any(|s| signature(ts, path_with_query, s) == sig)
}
