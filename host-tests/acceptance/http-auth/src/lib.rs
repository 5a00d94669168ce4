//! Asks an authorization service about each request: the plugin configuration names the
//! upstream (an Envoy cluster, or `host[:port]` under nginx). The service's 200 grants the
//! request (it goes on with `x-auth: granted`); any other answer or a failed call denies it (403).

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::rc::Rc;
use std::time::Duration;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(AuthRoot { upstream: Rc::from("") })
    });
}}

struct AuthRoot {
    upstream: Rc<str>,
}

impl Context for AuthRoot {}

impl RootContext for AuthRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        self.upstream = Rc::from(String::from_utf8_lossy(&config).trim());
        !self.upstream.is_empty()
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Auth {
            upstream: self.upstream.clone(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Auth {
    upstream: Rc<str>,
}

impl HttpContext for Auth {
    fn on_http_request_headers(&mut self, _n: usize, _eos: bool) -> Action {
        let user = self.get_http_request_header("x-user").unwrap_or_default();
        let headers = vec![
            (":method", "GET"),
            (":path", "/check"),
            (":authority", "auth"),
            ("x-user", user.as_str()),
        ];
        match self.dispatch_http_call(
            &self.upstream,
            headers,
            None,
            vec![],
            Duration::from_secs(1),
        ) {
            Ok(_) => Action::Pause,
            Err(status) => {
                log::warn!("auth call refused: {status:?}");
                self.send_http_response(403, vec![("x-auth", "unavailable")], Some(b"denied"));
                Action::Pause
            }
        }
    }
}

impl Context for Auth {
    fn on_http_call_response(
        &mut self,
        _token: u32,
        _headers: usize,
        _body: usize,
        _trailers: usize,
    ) {
        let status = self.get_http_call_response_header(":status");
        if status.as_deref() == Some("200") {
            self.set_http_request_header("x-auth", Some("granted"));
            self.resume_http_request();
        } else {
            log::info!("auth denied: status {status:?}");
            self.send_http_response(403, vec![("x-auth", "denied")], Some(b"denied"));
        }
    }
}
