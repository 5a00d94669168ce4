//! proxy_get_shared_data, proxy_set_shared_data (CAS; shared by every worker of the host).

use crate::abi::{memory, status};
use crate::vm::VmState;
use wasmtime::{Caller, Linker, Result};

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
            match c.data().host.shared_data.get(&key) {
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
            Ok(c.data().host.shared_data.set(&key, value, cas))
        },
    )?;
    Ok(())
}
