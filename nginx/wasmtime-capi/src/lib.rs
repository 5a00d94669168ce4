//! Re-exports Wasmtime's C API (`wasm_*`, `wasmtime_*` symbols) as `libwasmtime.a` for ngx_wasm_module.
pub use wasmtime_c_api::*;
