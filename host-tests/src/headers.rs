//! Case-insensitive lookups in header lists (pseudo-headers included).

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

/// Headers as the next hop sees them: deleted entries `forwarded` (nginx request headers) or
/// dropped (response headers, which nginx's header filter skips).
pub fn ngx_wire(headers: &[(String, String)], forwarded: bool) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(k, v)| match ngx_entry(k) {
            (name, true) => forwarded.then(|| (name.to_string(), v.clone())),
            (_, false) => Some((k.clone(), v.clone())),
        })
        .collect()
}
