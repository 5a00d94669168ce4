//! Policy parsing and validation on any text: `load` never panics, and a policy it accepts
//! can serve requests from each of its units.
#![no_main]

use libfuzzer_sys::fuzz_target;
use unitgate_core::load;
use unitgate_fuzz::{decide_everywhere, probe_requests, unit_names};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(loaded) = load(text) else {
        return;
    };
    let doc: serde_json::Value = serde_json::from_str(text).expect("accepted policy is JSON");
    let units = unit_names(&doc);
    for req in probe_requests(&["1", "0110100", "+25", ""]) {
        decide_everywhere(&loaded.policy, &units, &req);
    }
});
