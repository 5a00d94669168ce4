//! unitgate-host-tests: a proxy-wasm ABI 0.2.1 host on wasmtime, for testing plugins built with
//! the Rust SDK (proxy-wasm 0.2.5, wasm32-wasip1) without a proxy — quickly and deterministically.
//!
//! The example runs as a doctest against the release module (`make build` first): the shard
//! router, configured with the example policy, routes city 7 to unit `uc`.
//!
//! ```
//! use unitgate_host_tests::{Host, Profile};
//! let policy = std::fs::read_to_string(concat!(
//!     env!("CARGO_MANIFEST_DIR"),
//!     "/../policies/examples/dual-cloud-city.json"
//! ))
//! .unwrap();
//! let config = format!(r#"{{"local_unit": "uc", "fail_mode": "open", "policy": {policy}}}"#);
//! let host = Host::new(Profile::Envoy);
//! let w = host.module("unitgate_shard_router")?.config(config).start()?;
//! let r = w.request().path("/api/orders").header("x-city-id", "7").send()?;
//! assert_eq!(r.upstream_header("x-unitgate-cluster"), Some("uc_backend"));
//! assert_eq!(r.host_calls().count("proxy_send_local_response"), 0);
//! # Ok::<(), unitgate_host_tests::HostError>(())
//! ```
//! See host-tests/README.md for the API and the ABI coverage table.

pub mod abi;
mod callouts;
mod chain;
mod clock;
mod disk_cache;
mod error;
mod exchange;
mod flow;
mod headers;
mod host;
mod host_calls;
mod hostcalls;
mod logs;
mod loopback_http;
mod metrics;
mod module_cache;
mod plugin;
mod profile;
mod properties;
mod queues;
mod request;
mod response;
mod shared_data;
mod stream;
mod sync;
mod vm;
mod wasi;
mod worker;

pub use callouts::CalloutRequest;
pub use chain::Chain;
pub use error::HostError;
pub use exchange::{Action, ActionRecord, Exchange, Phase, Stall};
pub use host::Host;
pub use host_calls::HostCalls;
pub use hostcalls::PROXY_FUNCTIONS;
pub use logs::{LogEntry, LogLevel, LogSource};
pub use module_cache::{wasm_dir, wasm_module};
pub use plugin::PluginBuilder;
pub use profile::Profile;
pub use request::{RequestBuilder, UpstreamRequest};
pub use response::{CalloutResponse, HttpResponse, UpstreamResponse};
pub use stream::LocalReply;
pub use wasi::IMPLEMENTED as WASI_IMPLEMENTED;
pub use worker::{Worker, ROOT_CONTEXT};
