//! The plugin-configuration reader (the glue's `config::parse`) on any text: never panics for
//! the one-pass module or any per-concern one, and an accepted configuration names a local unit and carries a policy object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use unitgate_core::Stage;
use unitgate_glue::config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let modules = [
        None,
        Some(Stage::Shard),
        Some(Stage::Gray),
        Some(Stage::Isolation),
    ];
    for module in modules {
        if let Ok(c) = config::parse(text, module) {
            assert!(!c.ingress.local_unit.is_empty());
            // Without a policy there is an Apollo source; the policy then comes later.
            assert!(c.policy.is_some() || c.apollo.is_some());
            if let Some(policy) = c.policy {
                let _ = unitgate_core::load(policy);
            }
        }
    }
});
