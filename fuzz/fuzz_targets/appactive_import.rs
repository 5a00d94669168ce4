//! AppActive import on any rule files: never panics, and an imported policy always loads
//! (its JSON goes through the modules' own reader) and serves requests.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use unitgate_core::{import_appactive, load, AppActiveInput, Role, Unit};
use unitgate_fuzz::{decide_everywhere, probe_requests};

// The input is one JSON object holding the four files:
// `{"idSource":..,"idTransformer":..,"idUnitMapping":..,"forbiddenRule":..}`.
fuzz_target!(|data: &[u8]| {
    let Ok(Value::Object(files)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let get = |k: &str| files.get(k).cloned().unwrap_or(Value::Null);
    let input = AppActiveInput {
        id_source: get("idSource"),
        id_transformer: get("idTransformer"),
        id_unit_mapping: get("idUnitMapping"),
        forbidden_rule: files.get("forbiddenRule").cloned(),
    };
    let unit = |name: &str, role, cloud: &str| Unit {
        name: name.into(),
        role,
        cloud: cloud.into(),
        upstream: format!("{name}_up"),
    };
    let units = [
        unit("center", Role::Center, "hz"),
        unit("unit-a", Role::Normal, "sh"),
        unit("unit-b", Role::Normal, "sz"),
    ];
    let Ok(imported) = import_appactive(&input, &units) else {
        return;
    };
    let text = serde_json::to_string(&imported.policy).expect("a policy serializes");
    let loaded = match load(&text) {
        Ok(l) => l,
        Err(r) => panic!("imported policy does not load: {r}\n{text}"),
    };
    let names: Vec<String> = units.iter().map(|u| u.name.clone()).collect();
    for req in probe_requests(&["4500", "+2500", "-1", "0110100", "2500%20", ""]) {
        decide_everywhere(&loaded.policy, &names, &req);
    }
});
