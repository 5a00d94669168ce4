//! Asks a gRPC service (`authz.Authz/Check`, on the first cluster the configuration names) about
//! each request. Status OK grants it and copies the reply message into `x-grpc-reply`; any other
//! status denies it with a 403; a refused dispatch answers 503. `/stream` requests instead open a
//! stream (`chat.Chat/Talk`, on the second cluster), send the path, and go on once the server
//! closes it, with what it said in `x-grpc-stream`.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::rc::Rc;
use std::time::Duration;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(GrpcRoot { clusters: Rc::new(Clusters::default()) })
    });
}}

#[derive(Default)]
struct Clusters {
    unary: String,
    stream: String,
}

struct GrpcRoot {
    clusters: Rc<Clusters>,
}

impl Context for GrpcRoot {}

impl RootContext for GrpcRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        let config = String::from_utf8_lossy(&config);
        let mut words = config.split_whitespace().map(String::from);
        self.clusters = Rc::new(Clusters {
            unary: words.next().unwrap_or_default(),
            stream: words.next().unwrap_or_default(),
        });
        !self.clusters.unary.is_empty()
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Check {
            clusters: self.clusters.clone(),
            heard: Vec::new(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Check {
    clusters: Rc<Clusters>,
    /// What the server said on the stream.
    heard: Vec<String>,
}

impl Check {
    fn talk(&mut self, path: &str) -> Action {
        match self.open_grpc_stream(&self.clusters.stream, "chat.Chat", "Talk", vec![]) {
            Ok(token) => {
                self.send_grpc_stream_message(token, Some(path.as_bytes()), true);
                Action::Pause
            }
            Err(status) => {
                log::warn!("grpc stream refused: {status:?}");
                self.send_http_response(503, vec![], Some(b"grpc unavailable"));
                Action::Pause
            }
        }
    }
}

impl HttpContext for Check {
    fn on_http_request_headers(&mut self, _n: usize, _eos: bool) -> Action {
        let path = self.get_http_request_header(":path").unwrap_or_default();
        if path == "/stream" {
            return self.talk(&path);
        }
        let metadata = vec![("x-caller", b"acceptance".as_slice())];
        let call = self.dispatch_grpc_call(
            &self.clusters.unary,
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

    fn on_grpc_stream_initial_metadata(&mut self, _token: u32, _n: u32) {
        let server = self.get_grpc_stream_initial_metadata_value("x-server");
        let server = server.map(|v| String::from_utf8_lossy(&v).into_owned());
        self.heard
            .push(format!("server={}", server.unwrap_or_default()));
    }

    fn on_grpc_stream_message(&mut self, _token: u32, size: usize) {
        let message = self.get_grpc_stream_message(0, size).unwrap_or_default();
        self.heard
            .push(String::from_utf8_lossy(&message).into_owned());
    }

    fn on_grpc_stream_close(&mut self, _token: u32, status: u32) {
        self.heard.push(format!("status={status}"));
        self.set_http_request_header("x-grpc-stream", Some(&self.heard.join(",")));
        self.resume_http_request();
    }
}
