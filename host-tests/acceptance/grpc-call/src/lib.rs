//! Asks a gRPC service (`authz.Authz/Check`, on the cluster the configuration names) about each
//! request. Status OK grants it and copies the reply message into `x-grpc-reply`; any other status
//! denies it with a local gRPC-aware 403; a refused dispatch answers 503.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::rc::Rc;
use std::time::Duration;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(GrpcRoot { cluster: Rc::from("") })
    });
}}

struct GrpcRoot {
    cluster: Rc<str>,
}

impl Context for GrpcRoot {}

impl RootContext for GrpcRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        self.cluster = Rc::from(String::from_utf8_lossy(&config).trim());
        !self.cluster.is_empty()
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Check {
            cluster: self.cluster.clone(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Check {
    cluster: Rc<str>,
}

impl HttpContext for Check {
    fn on_http_request_headers(&mut self, _n: usize, _eos: bool) -> Action {
        let path = self.get_http_request_header(":path").unwrap_or_default();
        let metadata = vec![("x-caller", b"acceptance".as_slice())];
        let call = self.dispatch_grpc_call(
            &self.cluster,
            "authz.Authz",
            "Check",
            metadata,
            Some(path.as_bytes()),
            Duration::from_millis(500),
        );
        match call {
            Ok(_) => Action::Pause,
            Err(status) => {
                log::warn!("grpc dispatch refused: {status:?}");
                self.send_http_response(503, vec![], Some(b"grpc unavailable"));
                Action::Pause
            }
        }
    }
}

impl Context for Check {
    fn on_grpc_call_response(&mut self, _token: u32, status: u32, size: usize) {
        if status == 0 {
            let reply = self
                .get_grpc_call_response_body(0, size)
                .unwrap_or_default();
            let reply = String::from_utf8_lossy(&reply).into_owned();
            self.set_http_request_header("x-grpc-reply", Some(&reply));
            self.resume_http_request();
        } else {
            let (_, message) = self.get_grpc_status();
            let message = message.unwrap_or_default();
            log::info!("grpc check failed: status {status} {message}");
            self.send_http_response(
                403,
                vec![("x-grpc-status", &status.to_string())],
                Some(message.as_bytes()),
            );
        }
    }
}
