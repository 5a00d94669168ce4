//! proxy_get_property, proxy_set_property.

use crate::abi::{codec, memory, status};
use crate::properties;
use crate::vm::VmState;
use wasmtime::{Caller, Linker, Result};

pub fn link(l: &mut Linker<VmState>) -> Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_property",
        |mut c: Caller<'_, VmState>,
         pp: u32,
         pl: u32,
         ret_ptr: u32,
         ret_size: u32|
         -> Result<i32> {
            let raw = memory::read(&mut c, pp, pl)?;
            let path = codec::decode_path(&raw);
            match properties::get(c.data(), &path, &raw) {
                Some(v) => {
                    memory::return_bytes(&mut c, &v, ret_ptr, ret_size)?;
                    Ok(status::OK)
                }
                None => Ok(status::NOT_FOUND),
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_property",
        |mut c: Caller<'_, VmState>, pp: u32, pl: u32, vp: u32, vl: u32| -> Result<i32> {
            let raw = memory::read(&mut c, pp, pl)?;
            let value = memory::read(&mut c, vp, vl)?;
            let path = codec::decode_path(&raw);
            Ok(properties::set(c.data_mut(), &path, &raw, value))
        },
    )?;
    Ok(())
}
