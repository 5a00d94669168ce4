//! Ticks on the period its configuration gives and stamps responses with its configuration and
//! tick count. Configuration: `<label> <period_ms>`, e.g. `blue 100`. A new configuration
//! (Envoy's ECDS reload) replaces the label and the period; the count goes on.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Ticker { state: Rc::new(RefCell::new(State::default())) })
    });
}}

#[derive(Default)]
struct State {
    label: String,
    ticks: u64,
}

struct Ticker {
    state: Rc<RefCell<State>>,
}

impl Context for Ticker {}

impl RootContext for Ticker {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        let config = String::from_utf8_lossy(&config);
        let mut words = config.split_whitespace();
        let (Some(label), Some(Ok(period))) = (words.next(), words.next().map(str::parse::<u64>))
        else {
            log::error!("bad configuration {config:?}: want `<label> <period_ms>`");
            return false;
        };
        self.state.borrow_mut().label = label.to_string();
        self.set_tick_period(Duration::from_millis(period));
        log::info!("configured {label} every {period} ms");
        true
    }

    fn on_tick(&mut self) {
        self.state.borrow_mut().ticks += 1;
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stamp {
            state: self.state.clone(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Stamp {
    state: Rc<RefCell<State>>,
}

impl Context for Stamp {}

impl HttpContext for Stamp {
    fn on_http_response_headers(&mut self, _n: usize, _eos: bool) -> Action {
        let (label, ticks) = {
            let s = self.state.borrow();
            (s.label.clone(), s.ticks)
        };
        self.set_http_response_header("x-label", Some(&label));
        self.set_http_response_header("x-ticks", Some(&ticks.to_string()));
        Action::Continue
    }
}
