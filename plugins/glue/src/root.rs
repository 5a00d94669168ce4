//! The root context: loads configuration, keeps what serves, creates http contexts.

use crate::breaker_store;
use crate::host;
use crate::http::Http;
use crate::metrics::Metrics;
use crate::module::Module;
use crate::serving::{self, NoPolicy, Serving};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, LogLevel};
use std::cell::Cell;
use std::marker::PhantomData;
use std::rc::Rc;

/// Per-VM state that http contexts share with the root.
pub struct Shared {
    pub metrics: Metrics,
    /// Sequence number mixed into assigned ids.
    pub seq: Cell<u64>,
    /// Per-VM salt mixed into assigned ids (the host time at configure, in ns).
    pub salt: Cell<u64>,
    /// `log_requests` is on: format per-request debug lines. (Not the proxy's log level:
    /// ngx_wasm_module's `proxy_get_log_level` has another signature, and importing it
    /// fails the module's instantiation there.)
    pub debug: Cell<bool>,
    /// Breaker counts this worker has not published yet.
    pub breakers: breaker_store::Local,
    /// A host refused the nginx variable once (warned once, not per request).
    pub ngx_var_warned: Cell<bool>,
}

pub struct Root<M: Module> {
    serving: Rc<Serving>,
    shared: Rc<Shared>,
    module: PhantomData<M>,
}

impl<M: Module> Root<M> {
    pub fn new() -> Self {
        Root {
            serving: Rc::new(Serving::NoPolicy(NoPolicy::default())),
            shared: Rc::new(Shared {
                metrics: Metrics::new(M::NAME),
                seq: Cell::new(0),
                salt: Cell::new(0),
                debug: Cell::new(false),
                breakers: breaker_store::Local::default(),
                ngx_var_warned: Cell::new(false),
            }),
            module: PhantomData,
        }
    }
}

impl<M: Module> Default for Root<M> {
    fn default() -> Self {
        Self::new()
    }
}

/// `unitgate <module>: <message>` at `level`.
pub fn log(level: LogLevel, module: &str, message: &str) {
    host::log(level, &format!("unitgate {module}: {message}"));
}

impl<M: Module> Context for Root<M> {}

impl<M: Module> RootContext for Root<M> {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.shared.salt.set(host::now_ns());
        let raw = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&raw);
        match serving::configure(&text, M::own_stage()) {
            Ok(done) => {
                for w in &done.warnings {
                    let msg = format!("policy warning at {}: {}", w.path, w.message);
                    log(LogLevel::Warn, M::NAME, &msg);
                }
                let msg = format!(
                    "policy {} loaded for unit {}",
                    done.active.policy.version(),
                    done.active.ingress.local_unit
                );
                log(LogLevel::Info, M::NAME, &msg);
                self.shared.debug.set(done.active.settings.log_requests);
                self.serving = Rc::new(Serving::Policy(Box::new(done.active)));
                true
            }
            Err(refused) => {
                self.shared.metrics.incr("config.rejected");
                for i in &refused.issues {
                    log(
                        LogLevel::Error,
                        M::NAME,
                        &format!("error at {}: {}", i.path, i.message),
                    );
                }
                let keeps = match &*self.serving {
                    Serving::Policy(a) => {
                        format!("policy {} keeps serving", a.policy.version())
                    }
                    Serving::NoPolicy(_) => {
                        self.serving = Rc::new(Serving::NoPolicy(refused.fallback));
                        "no policy is loaded; fail mode applies".to_string()
                    }
                };
                let msg = format!(
                    "configuration rejected ({} errors); {keeps}",
                    refused.issues.len()
                );
                log(LogLevel::Error, M::NAME, &msg);
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http::<M>::new(
            Rc::clone(&self.serving),
            Rc::clone(&self.shared),
        )))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
