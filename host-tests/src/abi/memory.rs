//! Reading and writing the guest's linear memory from a host call.

use crate::vm::VmState;
use wasmtime::{Caller, Extern, Memory, Result};

fn memory(caller: &mut Caller<'_, VmState>) -> Result<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m),
        _ => wasmtime::bail!("the module exports no `memory`"),
    }
}

/// Copy `len` bytes at `ptr` out of the guest. A bad pointer traps, as in Envoy.
pub fn read(caller: &mut Caller<'_, VmState>, ptr: u32, len: u32) -> Result<Vec<u8>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    let mem = memory(caller)?;
    let data = mem.data(&caller);
    let start = ptr as usize;
    match data.get(start..start + len as usize) {
        Some(s) => Ok(s.to_vec()),
        None => wasmtime::bail!("guest pointer {ptr}+{len} is out of bounds"),
    }
}

pub fn read_string(caller: &mut Caller<'_, VmState>, ptr: u32, len: u32) -> Result<String> {
    Ok(String::from_utf8_lossy(&read(caller, ptr, len)?).into_owned())
}

pub fn write(caller: &mut Caller<'_, VmState>, ptr: u32, bytes: &[u8]) -> Result<()> {
    let mem = memory(caller)?;
    if mem.write(&mut *caller, ptr as usize, bytes).is_err() {
        wasmtime::bail!("guest pointer {ptr}+{} is out of bounds", bytes.len());
    }
    Ok(())
}

pub fn write_u32(caller: &mut Caller<'_, VmState>, ptr: u32, v: u32) -> Result<()> {
    write(caller, ptr, &v.to_le_bytes())
}

pub fn write_u64(caller: &mut Caller<'_, VmState>, ptr: u32, v: u64) -> Result<()> {
    write(caller, ptr, &v.to_le_bytes())
}

/// Allocate `bytes.len()` in the guest with its exported allocator, copy the bytes there and
/// store (pointer, size) at the two return slots, as every `proxy_get_*` call does.
pub fn return_bytes(
    caller: &mut Caller<'_, VmState>,
    bytes: &[u8],
    ret_ptr: u32,
    ret_size: u32,
) -> Result<()> {
    let alloc = caller
        .get_export("proxy_on_memory_allocate")
        .or_else(|| caller.get_export("malloc"))
        .and_then(Extern::into_func);
    let Some(alloc) = alloc else {
        wasmtime::bail!("the module exports neither `proxy_on_memory_allocate` nor `malloc`");
    };
    let alloc = alloc.typed::<u32, u32>(&*caller)?;
    let ptr = alloc.call(&mut *caller, bytes.len() as u32)?;
    if ptr == 0 && !bytes.is_empty() {
        wasmtime::bail!("guest allocation of {} bytes failed", bytes.len());
    }
    write(caller, ptr, bytes)?;
    write_u32(caller, ret_ptr, ptr)?;
    write_u32(caller, ret_size, bytes.len() as u32)
}
