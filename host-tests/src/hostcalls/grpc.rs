//! gRPC calls and streams, and proxy_get_status. No gRPC services exist in host-tests:
//! Envoy profile refuses with statuses the SDK maps to `Err`; ngx_wasm_module traps (NYI).

use crate::abi::{memory, status};
use crate::hostcalls::{ngx_nyi, refuse};
use crate::vm::VmState;
use wasmtime::{Caller, Linker, Result};

const NO_GRPC: &str = "host-tests has no gRPC services";

fn refuse_or_trap(c: &Caller<'_, VmState>, name: &str, st: i32) -> Result<i32> {
    if c.data().profile.is_ngx() {
        return Err(ngx_nyi(c, name));
    }
    Ok(refuse(c, st, format!("{name}: {NO_GRPC}")))
}

pub fn link(l: &mut Linker<VmState>) -> Result<()> {
    l.func_wrap(
        "env",
        "proxy_grpc_call",
        |c: Caller<'_, VmState>,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32|
         -> Result<i32> { refuse_or_trap(&c, "proxy_grpc_call", status::INTERNAL_FAILURE) },
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
            // No gRPC call ever ran: code 0 (OK), no message.
            memory::write_u32(&mut c, ret_code, 0)?;
            memory::write_u32(&mut c, ret_ptr, 0)?;
            memory::write_u32(&mut c, ret_size, 0)?;
            Ok(status::OK)
        },
    )?;
    Ok(())
}
