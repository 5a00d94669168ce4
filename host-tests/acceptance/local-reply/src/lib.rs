//! Answers some requests itself: `/deny` gets 403 with a body and `x-reason`, `/empty` gets 204
//! with no body, `/grpc-deny` gets a gRPC PERMISSION_DENIED (status 7). Others go upstream.

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, GrpcStatusCode, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(Reply) });
}}

struct Reply;

impl Context for Reply {}

impl HttpContext for Reply {
    fn on_http_request_headers(&mut self, _n: usize, _eos: bool) -> Action {
        match self.get_http_request_header(":path").as_deref() {
            Some("/deny") => self.send_http_response(
                403,
                vec![("x-reason", "policy")],
                Some(b"denied by policy"),
            ),
            Some("/empty") => self.send_http_response(204, vec![], None),
            Some("/grpc-deny") => {
                self.send_grpc_response(GrpcStatusCode::PermissionDenied, Some("not yours"), vec![])
            }
            _ => return Action::Continue,
        }
        Action::Pause
    }
}
