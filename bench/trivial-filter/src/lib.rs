//! The benchmark's floor: the least a Rust proxy-wasm filter can do that still routes. It reads
//! `x-city-id` and sets the cluster header from the city's hundreds digit (even: `unit_a`, odd:
//! `unit_b`), which is the benchmark policy's ten ranges, so Envoy forwards to the same two
//! clusters as for unitgate: spreading requests over two upstream clusters costs Envoy itself
//! several µs a request (`docs/BENCHMARKS.md`). With the plugin configuration `one-cluster`
//! it sends everything to `unit_a` instead. Built like the unitgate modules (wasm32-wasip1,
//! profile `wasm-release`, wasm-opt), so the difference between the two is the work unitgate
//! does, not the toolchain.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType};

/// Request header the route reads its cluster from (the same one unitgate sets).
const CLUSTER_HEADER: &str = "x-unitgate-cluster";

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { one_cluster: false }) });
}}

struct Root {
    one_cluster: bool,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.one_cluster = self.get_plugin_configuration().as_deref() == Some(b"one-cluster");
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Trivial {
            one_cluster: self.one_cluster,
        }))
    }
}

struct Trivial {
    one_cluster: bool,
}

impl Context for Trivial {}

impl HttpContext for Trivial {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let city = self.get_http_request_header_bytes("x-city-id");
        let cluster = if self.one_cluster {
            "unit_a"
        } else {
            cluster_of(&city.unwrap_or_default())
        };
        self.set_http_request_header(CLUSTER_HEADER, Some(cluster));
        Action::Continue
    }
}

/// `unit_b` when the city is a number whose hundreds digit is odd, `unit_a` otherwise.
fn cluster_of(city: &[u8]) -> &'static str {
    let hundreds = city
        .iter()
        .try_fold(0u64, |n, d| {
            d.is_ascii_digit()
                .then(|| n.wrapping_mul(10).wrapping_add(u64::from(d - b'0')))
        })
        .map(|n| n / 100);
    match hundreds {
        Some(h) if h % 2 == 1 => "unit_b",
        _ => "unit_a",
    }
}
