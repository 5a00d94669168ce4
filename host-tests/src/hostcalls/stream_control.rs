//! proxy_continue_stream, proxy_close_stream, proxy_send_local_response,
//! proxy_set_effective_context, proxy_done.

use crate::abi::{codec, memory, status};
use crate::hostcalls::{ngx_nyi, refuse};
use crate::logs::LogLevel;
use crate::stream::LocalReply;
use crate::vm::VmState;
use wasmtime::{Caller, Linker, Result};

pub fn link(l: &mut Linker<VmState>) -> Result<()> {
    l.func_wrap(
        "env",
        "proxy_continue_stream",
        |mut c: Caller<'_, VmState>, t: u32| -> Result<i32> {
            let st = c.data_mut();
            if !st.in_stream() {
                return Ok(refuse(
                    &c,
                    status::BAD_ARGUMENT,
                    "proxy_continue_stream outside an http context".into(),
                ));
            }
            match (st.profile.is_ngx(), t) {
                // ngx_wasm_module resumes "the request" for either type.
                (true, 0 | 1) => {
                    st.resume_request = true;
                    st.resume_response = true;
                }
                (false, 0) => st.resume_request = true,
                (false, 1) => st.resume_response = true,
                (true, _) => {
                    return Ok(refuse(
                        &c,
                        status::INTERNAL_FAILURE,
                        format!("NYI - continue stream type: {t}"),
                    ))
                }
                (false, _) => {
                    return Ok(refuse(
                        &c,
                        status::BAD_ARGUMENT,
                        format!("continue: bad stream type {t}"),
                    ))
                }
            }
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_close_stream",
        |mut c: Caller<'_, VmState>, _t: u32| -> Result<i32> {
            if c.data().profile.is_ngx() {
                return Err(ngx_nyi(&c, "proxy_close_stream"));
            }
            match c.data_mut().stream_mut() {
                Some(s) => {
                    s.reset = true;
                    Ok(status::OK)
                }
                None => Ok(refuse(
                    &c,
                    status::BAD_ARGUMENT,
                    "proxy_close_stream outside an http context".into(),
                )),
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_send_local_response",
        |mut c: Caller<'_, VmState>,
         code: u32,
         dp: u32,
         dl: u32,
         bp: u32,
         bl: u32,
         hp: u32,
         hl: u32,
         grpc_status: i32|
         -> Result<i32> {
            let details = memory::read_string(&mut c, dp, dl)?;
            let body = memory::read(&mut c, bp, bl)?;
            let raw = memory::read(&mut c, hp, hl)?;
            let Some(headers) = codec::decode_map(&raw) else {
                return Ok(refuse(
                    &c,
                    status::BAD_ARGUMENT,
                    "send_local_response: malformed headers".into(),
                ));
            };
            let ngx = c.data().profile.is_ngx();
            let Some(s) = c.data_mut().stream_mut() else {
                return Ok(refuse(
                    &c,
                    status::BAD_ARGUMENT,
                    "send_local_response outside an http context".into(),
                ));
            };
            if s.local_reply.is_some() {
                if ngx {
                    let msg = "ngx_wasm_module: local response already stashed (trap)".to_string();
                    c.data().note(LogLevel::Error, msg.clone());
                    wasmtime::bail!(msg);
                }
                return Ok(refuse(
                    &c,
                    status::OK,
                    "second send_local_response ignored".into(),
                ));
            }
            let filter = s.filter;
            s.local_reply = Some(LocalReply {
                status: u16::try_from(code).unwrap_or(500),
                headers,
                body,
                details,
                filter,
                grpc_status,
            });
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_effective_context",
        |mut c: Caller<'_, VmState>, id: u32| -> Result<i32> {
            let st = c.data_mut();
            if id == st.root_context || (st.stream.is_some() && st.stream_context == Some(id)) {
                st.active = id;
                Ok(status::OK)
            } else {
                Ok(refuse(
                    &c,
                    status::BAD_ARGUMENT,
                    format!("set_effective_context: unknown context {id}"),
                ))
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_done",
        |c: Caller<'_, VmState>| -> Result<i32> {
            if c.data().profile.is_ngx() {
                return Err(ngx_nyi(&c, "proxy_done"));
            }
            Ok(status::OK)
        },
    )?;
    Ok(())
}
