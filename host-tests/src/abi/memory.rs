//! Reading and writing the guest's linear memory from a host call. Payload copies (`read`,
//! `write`, `return_bytes`) are counted in the VM's host-call tally; fixed-size out-parameters
//! (`read_u32`, `write_u32`, `write_u64`, `write_struct`) are not.

use crate::vm::VmState;
use wasmtime::{Caller, Memory, Result};

/// The module's exported memory, found once at instantiation.
fn memory(caller: &Caller<'_, VmState>) -> Result<Memory> {
    match caller.data().memory {
        Some(m) => Ok(m),
        None => wasmtime::bail!("the module exports no `memory`"),
    }
}

fn copy_out(caller: &mut Caller<'_, VmState>, ptr: u32, len: u32) -> Result<Vec<u8>> {
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

fn copy_in(caller: &mut Caller<'_, VmState>, ptr: u32, bytes: &[u8]) -> Result<()> {
    let mem = memory(caller)?;
    if mem.write(&mut *caller, ptr as usize, bytes).is_err() {
        wasmtime::bail!("guest pointer {ptr}+{} is out of bounds", bytes.len());
    }
    Ok(())
}

/// Copy `len` payload bytes at `ptr` out of the guest. A bad pointer traps, as in Envoy.
pub fn read(caller: &mut Caller<'_, VmState>, ptr: u32, len: u32) -> Result<Vec<u8>> {
    let bytes = copy_out(caller, ptr, len)?;
    caller.data_mut().calls.bytes_out += bytes.len() as u64;
    Ok(bytes)
}

pub fn read_string(caller: &mut Caller<'_, VmState>, ptr: u32, len: u32) -> Result<String> {
    Ok(String::from_utf8_lossy(&read(caller, ptr, len)?).into_owned())
}

/// Read a little-endian u32 argument slot (not payload).
pub fn read_u32(caller: &mut Caller<'_, VmState>, ptr: u32) -> Result<u32> {
    let b = copy_out(caller, ptr, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Copy payload bytes into the guest at `ptr`.
pub fn write(caller: &mut Caller<'_, VmState>, ptr: u32, bytes: &[u8]) -> Result<()> {
    copy_in(caller, ptr, bytes)?;
    caller.data_mut().calls.bytes_in += bytes.len() as u64;
    Ok(())
}

/// Write a fixed-size out-parameter (a WASI struct, not payload).
pub fn write_struct(caller: &mut Caller<'_, VmState>, ptr: u32, bytes: &[u8]) -> Result<()> {
    copy_in(caller, ptr, bytes)
}

pub fn write_u32(caller: &mut Caller<'_, VmState>, ptr: u32, v: u32) -> Result<()> {
    copy_in(caller, ptr, &v.to_le_bytes())
}

pub fn write_u64(caller: &mut Caller<'_, VmState>, ptr: u32, v: u64) -> Result<()> {
    copy_in(caller, ptr, &v.to_le_bytes())
}

/// Allocate `bytes.len()` in the guest with its exported allocator, copy the bytes there and
/// store (pointer, size) at the two return slots, as every `proxy_get_*` call does.
pub fn return_bytes(
    caller: &mut Caller<'_, VmState>,
    bytes: &[u8],
    ret_ptr: u32,
    ret_size: u32,
) -> Result<()> {
    let Some(alloc) = caller.data().alloc.clone() else {
        wasmtime::bail!("the module exports neither `proxy_on_memory_allocate` nor `malloc`");
    };
    let ptr = alloc.call(&mut *caller, bytes.len() as u32)?;
    if ptr == 0 && !bytes.is_empty() {
        wasmtime::bail!("guest allocation of {} bytes failed", bytes.len());
    }
    write(caller, ptr, bytes)?;
    write_u32(caller, ret_ptr, ptr)?;
    write_u32(caller, ret_size, bytes.len() as u32)
}
