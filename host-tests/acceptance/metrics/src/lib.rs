//! Counts requests: `acme.requests` (counter), `acme.inflight` (gauge, up on the request, down at
//! the end of the stream) and `acme.body_bytes` (histogram of request body sizes). The request
//! gets `x-requests: <counter value>`, read back from the host.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(MetricsRoot::default()) });
}}

#[derive(Clone, Copy, Default)]
struct Ids {
    requests: u32,
    inflight: u32,
    body_bytes: u32,
}

#[derive(Default)]
struct MetricsRoot {
    ids: Ids,
}

impl Context for MetricsRoot {}

impl RootContext for MetricsRoot {
    fn on_vm_start(&mut self, _size: usize) -> bool {
        let define = hostcalls::define_metric;
        match (
            define(MetricType::Counter, "acme.requests"),
            define(MetricType::Gauge, "acme.inflight"),
            define(MetricType::Histogram, "acme.body_bytes"),
        ) {
            (Ok(requests), Ok(inflight), Ok(body_bytes)) => {
                self.ids = Ids {
                    requests,
                    inflight,
                    body_bytes,
                };
                true
            }
            _ => false,
        }
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Count {
            ids: self.ids,
            body: 0,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Count {
    ids: Ids,
    body: usize,
}

impl HttpContext for Count {
    fn on_http_request_headers(&mut self, _n: usize, _eos: bool) -> Action {
        let _ = hostcalls::increment_metric(self.ids.requests, 1);
        let _ = hostcalls::increment_metric(self.ids.inflight, 1);
        let seen = hostcalls::get_metric(self.ids.requests).unwrap_or(0);
        self.set_http_request_header("x-requests", Some(&seen.to_string()));
        Action::Continue
    }

    fn on_http_request_body(&mut self, size: usize, _eos: bool) -> Action {
        self.body = size;
        Action::Continue
    }
}

impl Context for Count {
    fn on_done(&mut self) -> bool {
        let _ = hostcalls::record_metric(self.ids.body_bytes, self.body as u64);
        let _ = hostcalls::increment_metric(self.ids.inflight, -1);
        true
    }
}
