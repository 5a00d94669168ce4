//! proxy-wasm-test-host: test proxy-wasm plugins without a proxy. A proxy-wasm ABI 0.2.1 host on
//! wasmtime that emulates Envoy and Kong's ngx_wasm_module, for plugins built with the Rust SDK
//! (`wasm32-wasip1`): quickly, deterministically, in parallel.
//!
//! The example drives a small plugin that asks an authorization service about each request
//! (this repository's `host-tests/acceptance/http-auth`; its directory comes from
//! `$PROXY_WASM_MODULE_DIR`, see the README).
//!
//! ```
//! use proxy_wasm_test_host::{CalloutResponse, Host, Profile};
//! let host = Host::new(Profile::Envoy);
//! // Answer the plugin's http calls to cluster "auth": only alice may pass.
//! host.script_http_call("auth", |call| {
//!     let status = if call.header("x-user") == Some("alice") { 200 } else { 403 };
//!     Some(CalloutResponse::new(status))
//! });
//! let worker = host.module("acceptance_http_auth")?.config("auth").start()?;
//! let r = worker.request().header("x-user", "alice").send()?;
//! assert_eq!(r.upstream_header("x-auth"), Some("granted"));
//! let r = worker.request().header("x-user", "bob").send()?;
//! assert_eq!(r.status(), Some(403));
//! assert!(r.upstream().is_none());
//! # Ok::<(), proxy_wasm_test_host::HostError>(())
//! ```
//! See the README for the API, the differences between the two hosts and the ABI coverage.

pub mod abi;
mod callouts;
mod chain;
mod clock;
mod disk_cache;
mod error;
mod exchange;
mod flow;
mod grpc_callouts;
mod headers;
mod host;
mod host_calls;
mod hostcalls;
mod local_reply;
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
pub use disk_cache::CACHE_DIR_ENV;
pub use error::HostError;
pub use exchange::{Action, ActionRecord, Exchange, Phase, Stall};
pub use grpc_callouts::{GrpcCall, GrpcReply, GrpcStreamEvent};
pub use host::Host;
pub use host_calls::HostCalls;
pub use hostcalls::PROXY_FUNCTIONS;
pub use logs::{LogEntry, LogLevel, LogSource};
pub use module_cache::{default_module_dir, FUEL_ENV, MODULE_DIR_ENV};
pub use plugin::PluginBuilder;
pub use profile::Profile;
pub use request::{RequestBuilder, UpstreamRequest};
pub use response::{CalloutResponse, HttpResponse, UpstreamResponse};
pub use stream::LocalReply;
pub use wasi::IMPLEMENTED as WASI_IMPLEMENTED;
pub use worker::{Worker, ROOT_CONTEXT};
