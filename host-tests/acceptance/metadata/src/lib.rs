//! Copies one per-request property into the `x-tenant` request header. The configuration names
//! the property path, dot-separated: e.g. dynamic metadata under Envoy
//! (`metadata.filter_metadata.acme.tenant`) or an nginx variable (`ngx.tenant`).
//! A request without it gets `x-tenant: none`.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(MetaRoot { path: Rc::new(Vec::new()) })
    });
}}

struct MetaRoot {
    path: Rc<Vec<String>>,
}

impl Context for MetaRoot {}

impl RootContext for MetaRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        let config = String::from_utf8_lossy(&config);
        self.path = Rc::new(config.trim().split('.').map(String::from).collect());
        !config.trim().is_empty()
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Meta {
            path: self.path.clone(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Meta {
    path: Rc<Vec<String>>,
}

impl Context for Meta {}

impl HttpContext for Meta {
    fn on_http_request_headers(&mut self, _n: usize, _eos: bool) -> Action {
        let path: Vec<&str> = self.path.iter().map(String::as_str).collect();
        // Not `get_property`: the SDK's version panics on a status other than Ok or NotFound.
        let tenant = match hostcalls::get_property(path) {
            Ok(Some(v)) => String::from_utf8_lossy(&v).into_owned(),
            Ok(None) => "none".to_string(),
            Err(status) => format!("error {status:?}"),
        };
        self.set_http_request_header("x-tenant", Some(&tenant));
        Action::Continue
    }
}
