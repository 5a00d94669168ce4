//! proxy_get_shared_data, proxy_set_shared_data (CAS; shared by every worker of the host).

use crate::abi::{memory, status};
use crate::logs::LogLevel;
use crate::profile::Profile;
use crate::vm::VmState;
use std::sync::atomic::Ordering;
use wasmtime::{Caller, Linker, Result};

/// ngx_wasm_module without an `shm_kv *` zone: every key fails to resolve its namespace, and
/// the call traps (ngx_proxy_wasm_host.c, `ngx_wa_shm_kv_resolve_key`).
fn check_zone(c: &Caller<'_, VmState>, what: &str) -> Result<()> {
    let st = c.data();
    if !st.profile.is_ngx() || st.host.shm_kv.load(Ordering::SeqCst) {
        return Ok(());
    }
    let msg = format!(
        "ngx_wasm_module: failed {what} shm (could not resolve namespace): nginx.conf has no \
         `shm_kv * <size>;` in its wasm block (trap; request fails with 500)"
    );
    st.note(LogLevel::Error, msg.clone());
    wasmtime::bail!(msg)
}

/// Envoy keys shared data by VM id (proxy-wasm-cpp-host `SharedData`); nginx has one zone.
fn namespace(st: &VmState) -> String {
    match st.profile {
        Profile::Envoy => st.plugin.vm_id.clone(),
        Profile::NgxWasmModule => String::new(),
    }
}

pub fn link(l: &mut Linker<VmState>) -> Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_shared_data",
        |mut c: Caller<'_, VmState>,
         kp: u32,
         kl: u32,
         ret_ptr: u32,
         ret_size: u32,
         ret_cas: u32|
         -> Result<i32> {
            let key = memory::read_string(&mut c, kp, kl)?;
            check_zone(&c, "getting value from")?;
            let ns = namespace(c.data());
            match c.data().host.shared_data.get(&ns, &key) {
                Some((value, cas)) => {
                    memory::return_bytes(&mut c, &value, ret_ptr, ret_size)?;
                    memory::write_u32(&mut c, ret_cas, cas)?;
                    Ok(status::OK)
                }
                None => Ok(status::NOT_FOUND),
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_shared_data",
        |mut c: Caller<'_, VmState>, kp: u32, kl: u32, vp: u32, vl: u32, cas: u32| -> Result<i32> {
            let key = memory::read_string(&mut c, kp, kl)?;
            let value = memory::read(&mut c, vp, vl)?;
            check_zone(&c, "setting value to")?;
            let ns = namespace(c.data());
            Ok(c.data().host.shared_data.set(&ns, &key, value, cas))
        },
    )?;
    Ok(())
}
