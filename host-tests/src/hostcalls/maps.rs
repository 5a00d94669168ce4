//! Header and trailer maps: proxy_{get,set}_header_map_pairs, proxy_get_header_map_value,
//! proxy_{add,replace,remove}_header_map_value, proxy_get_header_map_size (Envoy only).

use crate::abi::{codec, memory, status};
use crate::headers::{ngx_delete, ngx_entry};
use crate::hostcalls::refuse;
use crate::profile::Profile;
use crate::vm::VmState;
use wasmtime::{Caller, Linker, Result};

/// Map types: 0 request headers, 1 request trailers, 2 response headers, 3 response trailers,
/// 4/5 gRPC stream metadata (while delivered), 6/7 http call response headers/trailers.
fn map_mut(st: &mut VmState, t: u32) -> Option<&mut Vec<(String, String)>> {
    match t {
        0..=3 => {
            let s = st.stream_mut()?;
            Some(match t {
                0 => &mut s.request_headers,
                1 => &mut s.request_trailers,
                2 => &mut s.response_headers,
                _ => &mut s.response_trailers,
            })
        }
        4 | 5 => st.grpc_metadata.as_mut(),
        6 => st.callout_response.as_mut().map(|r| &mut r.headers),
        7 => st.callout_response.as_mut().map(|r| &mut r.trailers),
        _ => None,
    }
}

fn valid_type(t: u32) -> bool {
    t <= 7
}

/// Envoy lower-cases header names; nginx keeps them as written.
fn key_case(st: &VmState, key: String) -> String {
    if st.profile.is_ngx() {
        key
    } else {
        key.to_ascii_lowercase()
    }
}

/// Apply `f` to map `t`; BadArgument if that map does not exist now.
fn edit(c: &mut Caller<'_, VmState>, t: u32, f: impl FnOnce(&mut Vec<(String, String)>)) -> i32 {
    match map_mut(c.data_mut(), t) {
        Some(m) => {
            f(m);
            status::OK
        }
        None => refuse(
            c,
            status::BAD_ARGUMENT,
            format!("map {t} is not available here"),
        ),
    }
}

/// Read key (and value) arguments, key-cased for the profile.
fn key_value(
    c: &mut Caller<'_, VmState>,
    kp: u32,
    kl: u32,
    vp: u32,
    vl: u32,
) -> Result<(String, String)> {
    let key = memory::read_string(c, kp, kl)?;
    let value = memory::read_string(c, vp, vl)?;
    Ok((key_case(c.data(), key), value))
}

/// The pairs the plugin reads: nginx skips entries it marked deleted.
fn pairs(st: &mut VmState, t: u32) -> Vec<(String, String)> {
    let ngx = st.profile.is_ngx();
    let Some(m) = map_mut(st, t) else {
        return Vec::new();
    };
    if ngx {
        m.iter().filter(|(k, _)| !ngx_entry(k).1).cloned().collect()
    } else {
        m.clone()
    }
}

/// First value of `key`; nginx still finds an entry it marked deleted.
fn value(m: &[(String, String)], key: &str) -> Option<String> {
    m.iter()
        .find(|(k, _)| ngx_entry(k).0.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.clone())
}

fn live(k: &str, key: &str) -> bool {
    let (name, deleted) = ngx_entry(k);
    !deleted && name.eq_ignore_ascii_case(key)
}

/// Envoy: set the first `key` to `value`, drop its other values; append if absent.
/// nginx (`ngx_http_wasm_set_header_helper`): the first live entry is updated in place, later
/// ones are marked deleted (so a request still forwards them); append if absent.
fn replace(m: &mut Vec<(String, String)>, key: String, value: String, ngx: bool) {
    let Some(first) = m.iter().position(|(k, _)| live(k, &key)) else {
        m.push((key, value));
        return;
    };
    m[first] = (key.clone(), value);
    if ngx {
        for entry in m[first + 1..].iter_mut().filter(|(k, _)| live(k, &key)) {
            ngx_delete(entry);
        }
    } else {
        let mut i = 0;
        m.retain(|(k, _)| {
            i += 1;
            i - 1 == first || !k.eq_ignore_ascii_case(&key)
        });
    }
}

/// Envoy drops every value of `key`; nginx marks them deleted.
fn remove(m: &mut Vec<(String, String)>, key: &str, ngx: bool) {
    if ngx {
        for entry in m.iter_mut().filter(|(k, _)| live(k, key)) {
            ngx_delete(entry);
        }
    } else {
        m.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
    }
}

/// Envoy replaces the whole map; nginx marks every entry deleted, then sets each pair in turn.
fn set_all(m: &mut Vec<(String, String)>, new: Vec<(String, String)>, ngx: bool) {
    if !ngx {
        *m = new;
        return;
    }
    m.iter_mut().for_each(ngx_delete);
    for (k, v) in new {
        replace(m, k, v, true);
    }
}

pub fn link(l: &mut Linker<VmState>, profile: Profile) -> Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_header_map_pairs",
        |mut c: Caller<'_, VmState>, t: u32, ret_ptr: u32, ret_size: u32| -> Result<i32> {
            if !valid_type(t) {
                return Ok(refuse(
                    &c,
                    status::BAD_ARGUMENT,
                    format!("bad map type {t}"),
                ));
            }
            let bytes = codec::encode_map(&pairs(c.data_mut(), t));
            memory::return_bytes(&mut c, &bytes, ret_ptr, ret_size)?;
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_header_map_pairs",
        |mut c: Caller<'_, VmState>, t: u32, ptr: u32, len: u32| -> Result<i32> {
            let raw = memory::read(&mut c, ptr, len)?;
            let Some(new) = codec::decode_map(&raw) else {
                return Ok(refuse(&c, status::BAD_ARGUMENT, "malformed map".into()));
            };
            let new: Vec<(String, String)> = new
                .into_iter()
                .map(|(k, v)| (key_case(c.data(), k), v))
                .collect();
            let ngx = c.data().profile.is_ngx();
            Ok(edit(&mut c, t, |m| set_all(m, new, ngx)))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_get_header_map_value",
        |mut c: Caller<'_, VmState>,
         t: u32,
         kp: u32,
         kl: u32,
         ret_ptr: u32,
         ret_size: u32|
         -> Result<i32> {
            let key = memory::read_string(&mut c, kp, kl)?;
            match map_mut(c.data_mut(), t).and_then(|m| value(m, &key)) {
                Some(v) => {
                    memory::return_bytes(&mut c, v.as_bytes(), ret_ptr, ret_size)?;
                    Ok(status::OK)
                }
                None => Ok(status::NOT_FOUND),
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_add_header_map_value",
        |mut c: Caller<'_, VmState>, t: u32, kp: u32, kl: u32, vp: u32, vl: u32| -> Result<i32> {
            let (key, value) = key_value(&mut c, kp, kl, vp, vl)?;
            Ok(edit(&mut c, t, |m| m.push((key, value))))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_replace_header_map_value",
        |mut c: Caller<'_, VmState>, t: u32, kp: u32, kl: u32, vp: u32, vl: u32| -> Result<i32> {
            let (key, value) = key_value(&mut c, kp, kl, vp, vl)?;
            let ngx = c.data().profile.is_ngx();
            Ok(edit(&mut c, t, |m| replace(m, key, value, ngx)))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_remove_header_map_value",
        |mut c: Caller<'_, VmState>, t: u32, kp: u32, kl: u32| -> Result<i32> {
            let key = memory::read_string(&mut c, kp, kl)?;
            let ngx = c.data().profile.is_ngx();
            if let Some(m) = map_mut(c.data_mut(), t) {
                remove(m, &key, ngx);
            }
            Ok(status::OK)
        },
    )?;
    if profile == Profile::Envoy {
        // ABI 0.2.1 only (the Rust SDK never imports it): size of the serialized map.
        l.func_wrap(
            "env",
            "proxy_get_header_map_size",
            |mut c: Caller<'_, VmState>, t: u32, ret: u32| -> Result<i32> {
                if !valid_type(t) {
                    return Ok(refuse(
                        &c,
                        status::BAD_ARGUMENT,
                        format!("bad map type {t}"),
                    ));
                }
                let size = codec::encode_map(&pairs(c.data_mut(), t)).len() as u32;
                memory::write_u32(&mut c, ret, size)?;
                Ok(status::OK)
            },
        )?;
    }
    Ok(())
}
