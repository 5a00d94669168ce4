//! gRPC calls, streams and proxy_get_status. Envoy: calls to a scripted cluster are answered
//! (`Host::script_grpc_call`), streams too (`Host::script_grpc_stream`); unknown clusters are
//! refused with ParseFailure (as Envoy 1.40 does). ngx_wasm_module links every gRPC function to
//! its NYI trap.

use crate::abi::{codec, memory, status};
use crate::grpc_callouts::GrpcCall;
use crate::hostcalls::{ngx_nyi, refuse};
use crate::vm::VmState;
use crate::vm::{PendingGrpc, PendingStreamEvents};
use wasmtime::{Caller, Linker, Result};

/// Read what a gRPC call or stream opens (`[cluster, service, method, metadata]` as guest
/// pointer/size pairs): `Err(status)` for malformed metadata or a cluster Envoy does not know.
fn target(c: &mut Caller<'_, VmState>, what: &str, p: [u32; 8]) -> Result<Result<GrpcCall, i32>> {
    let cluster = memory::read_string(c, p[0], p[1])?;
    let service = memory::read_string(c, p[2], p[3])?;
    let method = memory::read_string(c, p[4], p[5])?;
    let raw = memory::read(c, p[6], p[7])?;
    let Some(initial_metadata) = codec::decode_map(&raw) else {
        let why = format!("{what}: malformed metadata");
        return Ok(Err(refuse(c, status::BAD_ARGUMENT, why)));
    };
    if !c.data().host.grpc.knows(&cluster) {
        let why = format!("{what}: unknown cluster `{cluster}` (script it on the Host)");
        return Ok(Err(refuse(c, status::PARSE_FAILURE, why)));
    }
    Ok(Ok(GrpcCall {
        cluster,
        service,
        method,
        initial_metadata,
        message: Vec::new(),
        timeout_ms: 0,
    }))
}

pub fn link(l: &mut Linker<VmState>) -> Result<()> {
    l.func_wrap(
        "env",
        "proxy_grpc_call",
        |mut c: Caller<'_, VmState>,
         up: u32,
         ul: u32,
         sp: u32,
         sl: u32,
         mp: u32,
         ml: u32,
         hp: u32,
         hl: u32,
         bp: u32,
         bl: u32,
         timeout_ms: u32,
         ret_token: u32|
         -> Result<i32> {
            if c.data().profile.is_ngx() {
                return Err(ngx_nyi(&c, "proxy_grpc_call"));
            }
            let message = memory::read(&mut c, bp, bl)?;
            let call = match target(&mut c, "grpc call", [up, ul, sp, sl, mp, ml, hp, hl])? {
                Ok(call) => GrpcCall {
                    message,
                    timeout_ms,
                    ..call
                },
                Err(status) => return Ok(status),
            };
            let st = c.data_mut();
            let (token, context) = st.new_token();
            st.pending_grpc.push(PendingGrpc {
                token,
                context,
                call,
            });
            memory::write_u32(&mut c, ret_token, token)?;
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_grpc_stream",
        |mut c: Caller<'_, VmState>,
         up: u32,
         ul: u32,
         sp: u32,
         sl: u32,
         mp: u32,
         ml: u32,
         hp: u32,
         hl: u32,
         ret_token: u32|
         -> Result<i32> {
            if c.data().profile.is_ngx() {
                return Err(ngx_nyi(&c, "proxy_grpc_stream"));
            }
            let call = match target(&mut c, "grpc stream", [up, ul, sp, sl, mp, ml, hp, hl])? {
                Ok(call) => call,
                Err(status) => return Ok(status),
            };
            let st = c.data_mut();
            let (token, context) = st.new_token();
            st.grpc_streams.insert(token, (call, context));
            memory::write_u32(&mut c, ret_token, token)?;
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_grpc_send",
        |mut c: Caller<'_, VmState>, token: u32, mp: u32, ml: u32, end: u32| -> Result<i32> {
            if c.data().profile.is_ngx() {
                return Err(ngx_nyi(&c, "proxy_grpc_send"));
            }
            let message = memory::read(&mut c, mp, ml)?;
            let Some((call, context)) = c.data().grpc_streams.get(&token).cloned() else {
                return Ok(refuse(
                    &c,
                    status::NOT_FOUND,
                    format!("grpc send: no stream {token}"),
                ));
            };
            let sent = GrpcCall { message, ..call };
            let events = c.data().host.grpc.answer_stream(&sent, end != 0);
            c.data_mut()
                .pending_stream_events
                .push(PendingStreamEvents {
                    token,
                    context,
                    events,
                });
            Ok(status::OK)
        },
    )?;
    // Cancel and close end a stream from the plugin's side: no callback follows.
    for name in ["proxy_grpc_cancel", "proxy_grpc_close"] {
        l.func_wrap(
            "env",
            name,
            move |mut c: Caller<'_, VmState>, token: u32| -> Result<i32> {
                if c.data().profile.is_ngx() {
                    return Err(ngx_nyi(&c, name));
                }
                let st = c.data_mut();
                if st.grpc_streams.remove(&token).is_some() {
                    st.pending_stream_events.retain(|p| p.token != token);
                    return Ok(status::OK);
                }
                if st.pending_grpc.iter().any(|p| p.token == token) {
                    st.pending_grpc.retain(|p| p.token != token);
                    return Ok(status::OK);
                }
                Ok(refuse(
                    &c,
                    status::NOT_FOUND,
                    format!("{name}: no call or stream {token}"),
                ))
            },
        )?;
    }
    l.func_wrap(
        "env",
        "proxy_get_status",
        |mut c: Caller<'_, VmState>, ret_code: u32, ret_ptr: u32, ret_size: u32| -> Result<i32> {
            if c.data().profile.is_ngx() {
                return Err(ngx_nyi(&c, "proxy_get_status"));
            }
            // The status of the gRPC answer being delivered (code 0, no message otherwise).
            let (code, message) = c.data().grpc_status.clone();
            memory::write_u32(&mut c, ret_code, code)?;
            if message.is_empty() {
                memory::write_u32(&mut c, ret_ptr, 0)?;
                memory::write_u32(&mut c, ret_size, 0)?;
                return Ok(status::OK);
            }
            memory::return_bytes(&mut c, message.as_bytes(), ret_ptr, ret_size)?;
            Ok(status::OK)
        },
    )?;
    Ok(())
}
