//! Buffers: proxy_get_buffer_bytes, proxy_set_buffer_bytes, proxy_get_buffer_status (Envoy only).

use crate::abi::{memory, status};
use crate::hostcalls::refuse;
use crate::profile::Profile;
use crate::vm::VmState;
use wasmtime::{Caller, Linker, Result};

/// Buffer types: 0 request body, 1 response body, 4 http call response body, 5 gRPC answer,
/// 6 VM configuration, 7 plugin configuration. Others (TCP data, call data) never exist here.
fn buffer(st: &mut VmState, t: u32) -> Option<Vec<u8>> {
    match t {
        0 => st.stream_ref().map(|s| s.request_body.clone()),
        1 => st.stream_ref().map(|s| s.response_body.clone()),
        4 => st.callout_response.as_ref().map(|r| r.body.clone()),
        5 => st.grpc_response.clone(),
        6 => Some(st.plugin.vm_config.clone()),
        7 => Some(st.plugin.plugin_config.clone()),
        _ => None,
    }
}

pub fn link(l: &mut Linker<VmState>, profile: Profile) -> Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        |mut c: Caller<'_, VmState>,
         t: u32,
         start: u32,
         max: u32,
         ret_ptr: u32,
         ret_size: u32|
         -> Result<i32> {
            let Some(buf) = buffer(c.data_mut(), t) else {
                return Ok(status::NOT_FOUND);
            };
            let from = (start as usize).min(buf.len());
            let to = from.saturating_add(max as usize).min(buf.len());
            if from == to {
                return Ok(status::NOT_FOUND);
            }
            memory::return_bytes(&mut c, &buf[from..to], ret_ptr, ret_size)?;
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_buffer_bytes",
        |mut c: Caller<'_, VmState>,
         t: u32,
         start: u32,
         size: u32,
         ptr: u32,
         len: u32|
         -> Result<i32> {
            let data = memory::read(&mut c, ptr, len)?;
            let st = c.data_mut();
            let target = match (t, st.stream_mut()) {
                (0, Some(s)) => &mut s.request_body,
                (1, Some(s)) => &mut s.response_body,
                _ => {
                    return Ok(refuse(
                        &c,
                        status::BAD_ARGUMENT,
                        format!("proxy_set_buffer_bytes: buffer {t} is not writable here"),
                    ))
                }
            };
            // Replace [start, start+size) clamped to the buffer: covers Envoy's prepend
            // (0,0), replace-all (0,>=len) and append (>=len) cases.
            let from = (start as usize).min(target.len());
            let to = from.saturating_add(size as usize).min(target.len());
            target.splice(from..to, data);
            Ok(status::OK)
        },
    )?;
    if profile == Profile::Envoy {
        // ABI 0.2.1 only (the Rust SDK never imports it): buffer length, flags 0.
        l.func_wrap(
            "env",
            "proxy_get_buffer_status",
            |mut c: Caller<'_, VmState>, t: u32, ret_len: u32, ret_flags: u32| -> Result<i32> {
                let Some(buf) = buffer(c.data_mut(), t) else {
                    return Ok(status::NOT_FOUND);
                };
                memory::write_u32(&mut c, ret_len, buf.len() as u32)?;
                memory::write_u32(&mut c, ret_flags, 0)?;
                Ok(status::OK)
            },
        )?;
    }
    Ok(())
}
