//! Rewrites the response body: every `cat` becomes `dog`. The body may arrive in chunks, so the
//! filter pauses until it has the whole of it (the proxy buffers), then replaces it in one go.

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(Rewrite { calls: 0 }) });
}}

struct Rewrite {
    /// How many body callbacks ran (reported in the log).
    calls: u32,
}

impl Context for Rewrite {}

impl HttpContext for Rewrite {
    fn on_http_response_headers(&mut self, _n: usize, _eos: bool) -> Action {
        // The new body has another length.
        self.set_http_response_header("content-length", None);
        Action::Continue
    }

    fn on_http_response_body(&mut self, size: usize, end_of_stream: bool) -> Action {
        self.calls += 1;
        if !end_of_stream {
            return Action::Pause;
        }
        let body = self.get_http_response_body(0, size).unwrap_or_default();
        let text = String::from_utf8_lossy(&body).replace("cat", "dog");
        self.set_http_response_body(0, size, text.as_bytes());
        log::info!("rewrote {size} bytes after {} body callbacks", self.calls);
        Action::Continue
    }
}
