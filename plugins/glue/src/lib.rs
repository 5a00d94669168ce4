//! unitgate-glue: the proxy-wasm side shared by the unitgate modules (the one-pass
//! `unitgate.wasm` and the three per-concern ones).
//!
//! A module is a [`Module`] (its `Stage`, and whether it runs every stage) handed to [`start`]; the root
//! and http contexts here do the rest: configuration, the trust boundary, body buffering for
//! body keys, applying the core's `Decision`, metrics and logs. See plugins/README.md for the
//! contract between the modules.

// Nothing in the data path may panic (a panic aborts the proxy's VM): no unwrap, expect,
// panicking index or panic!. Tests are exempt.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod apollo;
pub mod apollo_config;
pub mod apply;
pub mod breaker_store;
pub mod config;
pub mod host;
pub mod http;
pub mod metrics;
pub mod module;
pub mod request;
pub mod root;
pub mod serving;

pub use metrics::Metrics;
pub use module::Module;
pub use serving::Active;

/// Registers module `M` with the proxy-wasm SDK. Call it from `proxy_wasm::main!`.
pub fn start<M: Module>() {
    proxy_wasm::set_root_context(|_| Box::new(root::Root::<M>::new()));
}
