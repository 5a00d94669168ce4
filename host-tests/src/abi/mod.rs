//! The proxy-wasm ABI 0.2.1 wire formats: status codes, map and path encodings, guest memory.

pub mod codec;
pub mod memory;
pub mod status;
