//! The root context: loads configuration, keeps what serves, creates http contexts.

use crate::apollo;
use crate::breaker_store;
use crate::host;
use crate::http::Http;
use crate::metrics::Metrics;
use crate::module::Module;
use crate::serving::{self, Active, NoPolicy, Serving};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, LogLevel};
use std::cell::Cell;
use std::marker::PhantomData;
use std::rc::Rc;
use unitgate_core::Issue;

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
    /// With an Apollo source: the configuration text (fetched policies load against it)
    /// and the client.
    config: String,
    apollo: Option<apollo::Client>,
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
            config: String::new(),
            apollo: None,
        }
    }

    /// Serves `active` from now on (new streams get it; streams under way keep theirs).
    fn install(&mut self, active: Active, warnings: &[Issue]) {
        for w in warnings {
            let msg = format!("policy warning at {}: {}", w.path, w.message);
            log(LogLevel::Warn, M::NAME, &msg);
        }
        let msg = format!(
            "policy {} loaded for unit {}",
            active.policy.version(),
            active.ingress.local_unit
        );
        log(LogLevel::Info, M::NAME, &msg);
        self.shared.debug.set(active.settings.log_requests);
        self.serving = Rc::new(Serving::Policy(Box::new(active)));
    }

    /// Loads a policy from Apollo against the configuration and serves it; its version, or
    /// the issues that refused it (then the policy that serves keeps serving).
    fn install_fetched(&mut self, policy: &str) -> Result<String, Vec<Issue>> {
        let done =
            serving::configure(&self.config, M::own_stage(), Some(policy)).map_err(|r| r.issues)?;
        let active = done.active.ok_or_else(Vec::new)?;
        let version = active.policy.version().to_string();
        self.install(active, &done.warnings);
        Ok(version)
    }

    /// Runs `step` on the Apollo client with a way to install policies.
    fn with_apollo(&mut self, step: impl FnOnce(&mut apollo::Client, apollo::Install)) {
        // A per-concern module never has a client (configuration refuses `apollo`); the
        // constant lets the compiler drop the client from it.
        if !M::ONE_PASS {
            return;
        }
        if let Some(mut client) = self.apollo.take() {
            step(&mut client, &mut |policy| self.install_fetched(policy));
            self.apollo = Some(client);
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

impl<M: Module> Context for Root<M> {
    fn on_http_call_response(&mut self, token: u32, _headers: usize, body_size: usize, _: usize) {
        self.with_apollo(|c, install| c.on_response(token, body_size, install));
    }
}

impl<M: Module> RootContext for Root<M> {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.shared.salt.set(host::now_ns());
        let raw = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&raw);
        match serving::configure(&text, M::own_stage(), None) {
            Ok(done) => {
                let version = done.active.as_ref().map(|a| a.policy.version().to_string());
                match done.active {
                    Some(active) => self.install(active, &done.warnings),
                    None => self.serving = Rc::new(Serving::NoPolicy(done.fallback)),
                }
                self.apollo = done
                    .apollo
                    .filter(|_| M::ONE_PASS)
                    .map(|s| apollo::Client::new(s, M::NAME, version));
                if self.apollo.is_some() {
                    self.config = text.into_owned();
                    let _ = hostcalls::set_tick_period(apollo::TICK);
                    // A release another VM already fetched serves at once, not a tick later.
                    self.with_apollo(|c, install| c.follow(install));
                    if let Serving::NoPolicy(_) = &*self.serving {
                        let msg = "waiting for the first policy from Apollo; fail mode applies";
                        log(LogLevel::Info, M::NAME, msg);
                    }
                }
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

    fn on_tick(&mut self) {
        self.with_apollo(|c, install| c.tick(install));
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
