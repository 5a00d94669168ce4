//! unitgate-envoy: runs real Envoy ingresses (one per cloud) with the unitgate wasm module(s),
//! unit backends, ECDS policy swaps, and an HTTP client; used by the demo and the e2e tests.

pub mod apollo;
pub mod backend;
pub mod bootstrap;
pub mod client;
pub mod drill;
pub mod drill_apollo;
pub mod ecds;
pub mod envoy;
pub mod failover;
pub mod locate;
pub mod outage;
pub mod plugin_config;
pub mod ports;
pub mod probe;
pub mod process;
pub mod topology;
pub mod unit_backends;

pub use client::{Client, Reply, Request};
pub use topology::{ConfigMode, Modules, MultiCloud, Options};
pub mod clock;
pub mod examples;
pub mod istio;
pub mod policies;
pub mod table;
