//! The WASI preview1 subset a Rust proxy-wasm module needs. The clock is virtual and
//! `random_get` is seeded, so runs are deterministic. Any other WASI import is linked to a
//! function that traps with a message naming it.

use crate::abi::memory;
use crate::logs::{LogLevel, LogSource};
use crate::vm::VmState;
use wasmtime::{Caller, ExternType, Linker, Module, Result};

const WASI: &str = "wasi_snapshot_preview1";
const SUCCESS: i32 = 0;
const EBADF: i32 = 8;
const ESPIPE: i32 = 70;

/// Names this host implements (for the README coverage table and tests).
pub const IMPLEMENTED: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_write",
    "fd_read",
    "fd_close",
    "fd_seek",
    "fd_fdstat_get",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "proc_exit",
    "random_get",
    "sched_yield",
];

pub fn link(l: &mut Linker<VmState>, module: &Module) -> Result<()> {
    // No arguments and an empty environment.
    for (get, sizes) in [
        ("args_get", "args_sizes_get"),
        ("environ_get", "environ_sizes_get"),
    ] {
        l.func_wrap(WASI, get, |_: Caller<'_, VmState>, _: u32, _: u32| -> i32 {
            SUCCESS
        })?;
        l.func_wrap(
            WASI,
            sizes,
            |mut c: Caller<'_, VmState>, count: u32, size: u32| -> Result<i32> {
                memory::write_u32(&mut c, count, 0)?;
                memory::write_u32(&mut c, size, 0)?;
                Ok(SUCCESS)
            },
        )?;
    }
    l.func_wrap(
        WASI,
        "clock_time_get",
        |mut c: Caller<'_, VmState>, _id: u32, _precision: u64, ret: u32| -> Result<i32> {
            let now = c.data().host.clock.now_ns();
            memory::write_u64(&mut c, ret, now)?;
            Ok(SUCCESS)
        },
    )?;
    l.func_wrap(
        WASI,
        "clock_res_get",
        |mut c: Caller<'_, VmState>, _id: u32, ret: u32| -> Result<i32> {
            memory::write_u64(&mut c, ret, 1)?;
            Ok(SUCCESS)
        },
    )?;
    l.func_wrap(
        WASI,
        "fd_write",
        |mut c: Caller<'_, VmState>, fd: u32, iovs: u32, n: u32, ret: u32| -> Result<i32> {
            let mut out = Vec::new();
            for i in 0..n {
                let ptr = memory::read_u32(&mut c, iovs + i * 8)?;
                let len = memory::read_u32(&mut c, iovs + i * 8 + 4)?;
                out.extend(memory::read(&mut c, ptr, len)?);
            }
            let (level, source) = match fd {
                1 => (LogLevel::Info, LogSource::Stdout),
                2 => (LogLevel::Error, LogSource::Stderr),
                _ => return Ok(EBADF),
            };
            let text = String::from_utf8_lossy(&out).trim_end().to_string();
            if !text.is_empty() {
                c.data().log(level, source, text);
            }
            memory::write_u32(&mut c, ret, out.len() as u32)?;
            Ok(SUCCESS)
        },
    )?;
    l.func_wrap(
        WASI,
        "fd_read",
        |mut c: Caller<'_, VmState>, fd: u32, _iovs: u32, _n: u32, ret: u32| -> Result<i32> {
            if fd != 0 {
                return Ok(EBADF);
            }
            memory::write_u32(&mut c, ret, 0)?; // stdin is empty
            Ok(SUCCESS)
        },
    )?;
    l.func_wrap(
        WASI,
        "fd_close",
        |_: Caller<'_, VmState>, _fd: u32| -> i32 { EBADF },
    )?;
    l.func_wrap(
        WASI,
        "fd_seek",
        |_: Caller<'_, VmState>, _fd: u32, _off: i64, _whence: u32, _ret: u32| -> i32 { ESPIPE },
    )?;
    l.func_wrap(
        WASI,
        "fd_fdstat_get",
        |mut c: Caller<'_, VmState>, fd: u32, ret: u32| -> Result<i32> {
            if fd > 2 {
                return Ok(EBADF);
            }
            // fdstat: filetype u8 (2 = character device), flags u16, rights base/inheriting u64.
            let mut stat = [0u8; 24];
            stat[0] = 2;
            memory::write_struct(&mut c, ret, &stat)?;
            Ok(SUCCESS)
        },
    )?;
    // No preopened directories.
    l.func_wrap(
        WASI,
        "fd_prestat_get",
        |_: Caller<'_, VmState>, _: u32, _: u32| -> i32 { EBADF },
    )?;
    l.func_wrap(
        WASI,
        "fd_prestat_dir_name",
        |_: Caller<'_, VmState>, _: u32, _: u32, _: u32| -> i32 { EBADF },
    )?;
    l.func_wrap(
        WASI,
        "proc_exit",
        |c: Caller<'_, VmState>, code: u32| -> Result<()> {
            let msg = format!("WASI proc_exit({code}) called by the module");
            c.data().note(LogLevel::Error, msg.clone());
            wasmtime::bail!(msg)
        },
    )?;
    l.func_wrap(
        WASI,
        "random_get",
        |mut c: Caller<'_, VmState>, buf: u32, len: u32| -> Result<i32> {
            let mut bytes = Vec::with_capacity(len as usize);
            while bytes.len() < len as usize {
                bytes.extend_from_slice(&c.data_mut().next_random().to_le_bytes());
            }
            bytes.truncate(len as usize);
            memory::write(&mut c, buf, &bytes)?;
            Ok(SUCCESS)
        },
    )?;
    l.func_wrap(WASI, "sched_yield", |_: Caller<'_, VmState>| -> i32 {
        SUCCESS
    })?;

    // Any other WASI import: link it, but trap with its name if it is ever called.
    for import in module.imports() {
        if import.module() != WASI || IMPLEMENTED.contains(&import.name()) {
            continue;
        }
        if let ExternType::Func(ty) = import.ty() {
            let name = import.name().to_string();
            l.func_new(WASI, import.name(), ty, move |c, _params, _results| {
                let msg =
                    format!("WASI function `{name}` is not implemented by proxy-wasm-test-host");
                c.data().note(LogLevel::Error, msg.clone());
                wasmtime::bail!(msg)
            })?;
        }
    }
    Ok(())
}
