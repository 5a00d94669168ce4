//! proxy_log, proxy_get_log_level, proxy_get_current_time_nanoseconds,
//! proxy_set_tick_period_milliseconds.

use crate::abi::{memory, status};
use crate::hostcalls::{ngx_nyi, refuse};
use crate::logs::{LogLevel, LogSource};
use crate::vm::VmState;
use wasmtime::{Caller, Linker, Result};

pub fn link(l: &mut Linker<VmState>) -> Result<()> {
    l.func_wrap(
        "env",
        "proxy_log",
        |mut c: Caller<'_, VmState>, level: u32, ptr: u32, len: u32| -> Result<i32> {
            let Some(level) = LogLevel::from_abi(level) else {
                return Ok(refuse(
                    &c,
                    status::BAD_ARGUMENT,
                    format!("proxy_log: bad level {level}"),
                ));
            };
            let msg = memory::read_string(&mut c, ptr, len)?;
            c.data().log(level, LogSource::Plugin, msg);
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_get_log_level",
        |mut c: Caller<'_, VmState>, ret: u32| -> Result<i32> {
            if c.data().profile.is_ngx() {
                // Linked but `ngx_proxy_wasm_hfuncs_nop` there (ngx_proxy_wasm_host.c).
                return Err(ngx_nyi(&c, "proxy_get_log_level"));
            }
            let level = c.data().plugin.log_level as u32;
            memory::write_u32(&mut c, ret, level)?;
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_get_current_time_nanoseconds",
        |mut c: Caller<'_, VmState>, ret: u32| -> Result<i32> {
            let now = c.data().host.clock.now_ns();
            memory::write_u64(&mut c, ret, now)?;
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_tick_period_milliseconds",
        |mut c: Caller<'_, VmState>, period: u32| -> Result<i32> {
            let st = c.data_mut();
            if st.profile.is_ngx() && st.tick_period_ms != 0 {
                // ngx_wasm_module: "tick_period already set" is a trap.
                let msg = "ngx_wasm_module: tick_period already set (trap)".to_string();
                st.note(LogLevel::Error, msg.clone());
                wasmtime::bail!(msg);
            }
            st.tick_period_ms = period;
            st.next_tick_ns = if period == 0 {
                None
            } else {
                Some(st.host.clock.now_ns() + period as u64 * 1_000_000)
            };
            Ok(status::OK)
        },
    )?;
    Ok(())
}
