//! proxy_define_metric, proxy_increment_metric, proxy_record_metric, proxy_get_metric.

use crate::abi::{memory, status};
use crate::hostcalls::refuse;
use crate::metrics::MetricKind;
use crate::vm::VmState;
use wasmtime::{Caller, Linker, Result};

pub fn link(l: &mut Linker<VmState>) -> Result<()> {
    l.func_wrap(
        "env",
        "proxy_define_metric",
        |mut c: Caller<'_, VmState>, kind: u32, np: u32, nl: u32, ret: u32| -> Result<i32> {
            let Some(kind) = MetricKind::from_abi(kind) else {
                return Ok(refuse(
                    &c,
                    status::BAD_ARGUMENT,
                    format!("bad metric type {kind}"),
                ));
            };
            let name = memory::read_string(&mut c, np, nl)?;
            let id = c.data().host.metrics.define(kind, &name);
            memory::write_u32(&mut c, ret, id)?;
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_increment_metric",
        |c: Caller<'_, VmState>, id: u32, offset: i64| -> Result<i32> {
            Ok(c.data().host.metrics.increment(id, offset))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_record_metric",
        |c: Caller<'_, VmState>, id: u32, value: u64| -> Result<i32> {
            Ok(c.data().host.metrics.record(id, value))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_get_metric",
        |mut c: Caller<'_, VmState>, id: u32, ret: u32| -> Result<i32> {
            match c.data().host.metrics.get(id) {
                Ok(v) => {
                    memory::write_u64(&mut c, ret, v)?;
                    Ok(status::OK)
                }
                Err(st) => Ok(st),
            }
        },
    )?;
    Ok(())
}
