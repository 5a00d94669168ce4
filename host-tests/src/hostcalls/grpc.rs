//! gRPC calls, streams and proxy_get_status. Envoy: calls to a scripted cluster are answered
//! (`Host::script_grpc_call`), unknown clusters refused with ParseFailure (as Envoy 1.40 does);
//! streams are refused. ngx_wasm_module links every gRPC function to its NYI trap.

use crate::abi::{codec, memory, status};
use crate::grpc_callouts::GrpcCall;
use crate::hostcalls::{ngx_nyi, refuse};
use crate::vm::PendingGrpc;
use crate::vm::VmState;
use wasmtime::{Caller, Linker, Result};

const NO_STREAMS: &str = "the test host does not script gRPC streams";

fn refuse_or_trap(c: &Caller<'_, VmState>, name: &str, st: i32) -> Result<i32> {
    if c.data().profile.is_ngx() {
        return Err(ngx_nyi(c, name));
    }
    Ok(refuse(c, st, format!("{name}: {NO_STREAMS}")))
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
            let cluster = memory::read_string(&mut c, up, ul)?;
            let service = memory::read_string(&mut c, sp, sl)?;
            let method = memory::read_string(&mut c, mp, ml)?;
            let raw = memory::read(&mut c, hp, hl)?;
            let message = memory::read(&mut c, bp, bl)?;
            let Some(initial_metadata) = codec::decode_map(&raw) else {
                return Ok(refuse(&c, status::BAD_ARGUMENT, "grpc call: malformed metadata".into()));
            };
            if !c.data().host.grpc.knows(&cluster) {
                let why = format!(
                    "grpc call: unknown cluster `{cluster}` (declare it with Host::script_grpc_call)"
                );
                return Ok(refuse(&c, status::PARSE_FAILURE, why));
            }
            let st = c.data_mut();
            let (token, context) = st.new_token();
            st.pending_grpc.push(PendingGrpc {
                token,
                context,
                call: GrpcCall {
                    cluster,
                    service,
                    method,
                    initial_metadata,
                    message,
                    timeout_ms,
                },
            });
            memory::write_u32(&mut c, ret_token, token)?;
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_grpc_stream",
        |c: Caller<'_, VmState>,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32|
         -> Result<i32> {
            refuse_or_trap(&c, "proxy_grpc_stream", status::INTERNAL_FAILURE)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_grpc_send",
        |c: Caller<'_, VmState>, _: u32, _: u32, _: u32, _: u32| -> Result<i32> {
            refuse_or_trap(&c, "proxy_grpc_send", status::NOT_FOUND)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_grpc_cancel",
        |c: Caller<'_, VmState>, _: u32| -> Result<i32> {
            refuse_or_trap(&c, "proxy_grpc_cancel", status::NOT_FOUND)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_grpc_close",
        |c: Caller<'_, VmState>, _: u32| -> Result<i32> {
            refuse_or_trap(&c, "proxy_grpc_close", status::NOT_FOUND)
        },
    )?;
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
