//! Accounting of host calls: how many times a module called each imported function, how
//! many payload bytes crossed the ABI, and how many wasm instructions each callback ran. Every
//! import is wrapped once, at instantiation, so the count cannot miss a function.

use crate::vm::VmState;
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmtime::{Extern, Func, Linker, Module, Result, Store};

/// Host calls made by a module, and the payload bytes they copied.
///
/// `bytes_in` counts bytes the host copied into guest memory (header maps, header values,
/// buffers, properties, shared data, random bytes); `bytes_out` counts bytes it copied out of
/// guest memory (keys, values, maps, bodies, paths, log messages). Fixed-size out-parameters
/// (returned pointers and sizes, numbers, WASI structs) are not payload and are not counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostCalls {
    calls: BTreeMap<String, u64>,
    /// Payload bytes copied host → guest.
    pub bytes_in: u64,
    /// Payload bytes copied guest → host.
    pub bytes_out: u64,
    /// Wasm instructions run per export the host called (`proxy_on_request_headers`, ...),
    /// allocations the host asked for during the callback included.
    instructions: BTreeMap<String, u64>,
}

impl HostCalls {
    /// Number of host calls, all functions together.
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }

    /// Calls per imported function name (`proxy_get_header_map_value`, `fd_write`, ...);
    /// functions never called are absent.
    pub fn by_name(&self) -> &BTreeMap<String, u64> {
        &self.calls
    }

    /// Calls of one function (0 if never called).
    pub fn count(&self, name: &str) -> u64 {
        self.calls.get(name).copied().unwrap_or(0)
    }

    /// Wasm instructions the module ran, every callback together. Counted with wasmtime's
    /// fuel (one unit per operator; `nop`, `drop` and block markers are free), so the count is
    /// the same on every run of the same module and inputs, however busy the machine is.
    pub fn instructions(&self) -> u64 {
        self.instructions.values().sum()
    }

    /// Wasm instructions per callback the host called (`proxy_on_context_create`,
    /// `proxy_on_request_headers`, ...); callbacks never called are absent.
    pub fn instructions_by_hook(&self) -> &BTreeMap<String, u64> {
        &self.instructions
    }

    /// Add another tally to this one (e.g. every filter of a chain).
    pub fn merge(&mut self, other: &HostCalls) {
        for (name, n) in &other.calls {
            *self.calls.entry(name.clone()).or_default() += n;
        }
        for (hook, n) in &other.instructions {
            *self.instructions.entry(hook.clone()).or_default() += n;
        }
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
    }

    pub(crate) fn ran(&mut self, hook: &str, instructions: u64) {
        match self.instructions.get_mut(hook) {
            Some(n) => *n += instructions,
            None => {
                self.instructions.insert(hook.to_string(), instructions);
            }
        }
    }

    fn called(&mut self, name: &str) {
        match self.calls.get_mut(name) {
            Some(n) => *n += 1,
            None => {
                self.calls.insert(name.to_string(), 1);
            }
        }
    }
}

/// A linker for `module` whose every function import counts itself in the VM's tally, then runs
/// the function `linker` defines. Imports `linker` lacks stay undefined, so instantiation still
/// reports them.
pub(crate) fn counting_linker(
    linker: &Linker<VmState>,
    store: &mut Store<VmState>,
    module: &Module,
) -> Result<Linker<VmState>> {
    let mut out = Linker::new(store.engine());
    for import in module.imports() {
        let Ok(ext) = linker.get(&mut *store, import.module(), import.name()) else {
            continue;
        };
        let Extern::Func(inner) = ext else {
            out.define(&*store, import.module(), import.name(), ext)?;
            continue;
        };
        let name: Arc<str> = import.name().into();
        let ty = inner.ty(&*store);
        let counted = Func::new(&mut *store, ty, move |mut caller, params, results| {
            caller.data_mut().calls.called(&name);
            inner.call(&mut caller, params, results)
        });
        out.define(&*store, import.module(), import.name(), counted)?;
    }
    Ok(out)
}
