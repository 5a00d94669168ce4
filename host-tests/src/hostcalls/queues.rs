//! Shared queues: proxy_{register,resolve,enqueue,dequeue}_shared_queue.
//! Envoy: implemented. ngx_wasm_module profile: no queue zone is declared, so every call traps
//! as it does there (ngx_proxy_wasm_host.c): resolve is NYI, the others "could not find queue".

use crate::abi::{memory, status};
use crate::hostcalls::ngx_nyi;
use crate::logs::LogLevel;
use crate::vm::VmState;
use wasmtime::{Caller, Linker, Result};

/// ngx_wasm_module finds no `shm_queue` zone for the queue: the call traps (request 500).
fn no_queue(c: &Caller<'_, VmState>, what: &str) -> wasmtime::Error {
    let msg = format!(
        "ngx_wasm_module: {what}: could not find queue (no shm_queue zone; trap, request 500)"
    );
    c.data().note(LogLevel::Error, msg.clone());
    wasmtime::format_err!(msg)
}

pub fn link(l: &mut Linker<VmState>) -> Result<()> {
    l.func_wrap(
        "env",
        "proxy_register_shared_queue",
        |mut c: Caller<'_, VmState>, np: u32, nl: u32, ret: u32| -> Result<i32> {
            if c.data().profile.is_ngx() {
                return Err(no_queue(&c, "proxy_register_shared_queue"));
            }
            let name = memory::read_string(&mut c, np, nl)?;
            let st = c.data();
            let id = st
                .host
                .queues
                .register(&st.plugin.vm_id, &name, st.worker, st.root_context);
            memory::write_u32(&mut c, ret, id)?;
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_resolve_shared_queue",
        |mut c: Caller<'_, VmState>, vp: u32, vl: u32, np: u32, nl: u32, ret: u32| -> Result<i32> {
            if c.data().profile.is_ngx() {
                return Err(ngx_nyi(&c, "proxy_resolve_shared_queue"));
            }
            let vm_id = memory::read_string(&mut c, vp, vl)?;
            let name = memory::read_string(&mut c, np, nl)?;
            match c.data().host.queues.resolve(&vm_id, &name) {
                Some(id) => {
                    memory::write_u32(&mut c, ret, id)?;
                    Ok(status::OK)
                }
                None => Ok(status::NOT_FOUND),
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_enqueue_shared_queue",
        |mut c: Caller<'_, VmState>, id: u32, vp: u32, vl: u32| -> Result<i32> {
            if c.data().profile.is_ngx() {
                return Err(no_queue(&c, "proxy_enqueue_shared_queue"));
            }
            let value = memory::read(&mut c, vp, vl)?;
            if c.data().host.queues.enqueue(id, value) {
                Ok(status::OK)
            } else {
                Ok(status::NOT_FOUND)
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_dequeue_shared_queue",
        |mut c: Caller<'_, VmState>, id: u32, ret_ptr: u32, ret_size: u32| -> Result<i32> {
            if c.data().profile.is_ngx() {
                return Err(no_queue(&c, "proxy_dequeue_shared_queue"));
            }
            match c.data().host.queues.dequeue(id) {
                None => Ok(status::NOT_FOUND),
                Some(None) => Ok(status::EMPTY),
                Some(Some(item)) => {
                    memory::return_bytes(&mut c, &item, ret_ptr, ret_size)?;
                    Ok(status::OK)
                }
            }
        },
    )?;
    Ok(())
}
