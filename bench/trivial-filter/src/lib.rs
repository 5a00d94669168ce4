//! The benchmark's floor: the least a Rust proxy-wasm filter can do that still touches the
//! request. It reads `x-city-id` and sets the cluster header to the one backend the floor routes
//! to, so Envoy re-picks the route exactly as it does for unitgate. Built like the unitgate
//! modules (wasm32-wasip1, profile `wasm-release`, wasm-opt), so the difference between the two
//! is the work unitgate does, not the toolchain.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType};

/// Request header the route reads its cluster from (the same one unitgate sets).
const CLUSTER_HEADER: &str = "x-unitgate-cluster";
/// The one cluster the floor sends everything to.
const CLUSTER: &str = "unit_a";

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root) });
}}

struct Root;

impl Context for Root {}

impl RootContext for Root {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Trivial))
    }
}

struct Trivial;

impl Context for Trivial {}

impl HttpContext for Trivial {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // Read one header (its value is not used: reading it is the cost being measured).
        let _city = self.get_http_request_header_bytes("x-city-id");
        self.set_http_request_header(CLUSTER_HEADER, Some(CLUSTER));
        Action::Continue
    }
}
