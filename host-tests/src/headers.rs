//! Case-insensitive lookups in header lists (pseudo-headers included), and how nginx keeps,
//! forwards and overrides the headers a plugin removed.

use std::collections::BTreeMap;

/// First value of `name`.
pub fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every value of `name`, in order.
pub fn find_all<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// nginx marks a removed header deleted (hash 0) but leaves it in the list: the plugin's
/// `proxy_get_header_map_value` still finds it, `proxy_get_header_map_pairs` does not, and
/// nginx 1.22's proxy module still forwards a deleted request header. The emulation keeps such
/// an entry with this prefix on its name.
const DELETED: &str = "\0deleted\0";

/// The entry's name, and whether nginx marked it deleted.
pub fn ngx_entry(key: &str) -> (&str, bool) {
    match key.strip_prefix(DELETED) {
        Some(name) => (name, true),
        None => (key, false),
    }
}

/// Mark an entry deleted (nginx: `hash = 0`).
pub fn ngx_delete(entry: &mut (String, String)) {
    if !entry.0.starts_with(DELETED) {
        entry.0.insert_str(0, DELETED);
    }
}

/// The request nginx's proxy module sends upstream, given `proxy_set_header` lines (a value
/// is a literal or one `$variable` the plugin set; an empty value sends nothing). A client copy
/// of an overridden name is dropped, but a removed (deleted) entry is forwarded whatever the
/// conf says: nginx 1.22's `ngx_http_proxy_create_request` looks each client header up in the
/// `proxy_set_header` hash by `header[i].hash`, which the removal zeroed, and does not skip
/// deleted entries (measured in real nginx by unitgate-nginx's `ngx_removed_header` test).
pub fn ngx_proxied(
    headers: &[(String, String)],
    set: &[(String, String)],
    vars: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let (pseudo, rest): (Vec<_>, Vec<_>) = headers.iter().partition(|(k, _)| k.starts_with(':'));
    let mut out: Vec<(String, String)> = pseudo.into_iter().cloned().collect();
    for (name, value) in set {
        let value = match value.strip_prefix('$') {
            Some(var) => vars.get(var).cloned().unwrap_or_default(),
            None => value.clone(),
        };
        if !value.is_empty() {
            out.push((name.clone(), value));
        }
    }
    for (k, v) in rest {
        let (name, deleted) = ngx_entry(k);
        if deleted || !set.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            out.push((name.to_string(), v.clone()));
        }
    }
    out
}

/// Response headers as the client gets them: nginx's header filter skips deleted entries.
pub fn ngx_sent(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(k, _)| !ngx_entry(k).1)
        .cloned()
        .collect()
}
