//! proxy_call_foreign_function. Envoy: `clear_route_cache` works (counted on the exchange);
//! other names are NotFound. ngx_wasm_module: every foreign function traps (request gets 500).

use crate::abi::{memory, status};
use crate::hostcalls::{ngx_nyi, refuse};
use crate::vm::VmState;
use wasmtime::{Caller, Linker, Result};

pub fn link(l: &mut Linker<VmState>) -> Result<()> {
    l.func_wrap(
        "env",
        "proxy_call_foreign_function",
        |mut c: Caller<'_, VmState>,
         np: u32,
         nl: u32,
         _ap: u32,
         _al: u32,
         ret_ptr: u32,
         ret_size: u32|
         -> Result<i32> {
            let name = memory::read_string(&mut c, np, nl)?;
            if c.data().profile.is_ngx() {
                return Err(ngx_nyi(
                    &c,
                    &format!("proxy_call_foreign_function(\"{name}\")"),
                ));
            }
            if name != "clear_route_cache" {
                return Ok(refuse(
                    &c,
                    status::NOT_FOUND,
                    format!("unknown foreign function `{name}`"),
                ));
            }
            if let Some(s) = c.data_mut().stream_mut() {
                s.route_cache_cleared += 1;
            }
            memory::write_u32(&mut c, ret_ptr, 0)?;
            memory::write_u32(&mut c, ret_size, 0)?;
            Ok(status::OK)
        },
    )?;
    Ok(())
}
