//! Differential: the modules' hand-written policy reader (`load`) against the serde model
//! (`model.rs` types through serde_json, unknown members refused, then `validate_policy`).
//! Both must accept and reject the same documents, and an accepted document must decide the
//! same way whichever reader read it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use unitgate_core::{decide, load, validate_policy, Decision, Policy, RuntimeState};
use unitgate_fuzz::{ingress, probe_requests, unit_names, NOW_MS};

/// True when every member of `input` exists in `output` (the serde model's re-serialization,
/// which writes every field): the input had no member the model does not know.
fn covers(input: &Value, output: &Value) -> bool {
    match (input, output) {
        (Value::Object(i), Value::Object(o)) => i
            .iter()
            .all(|(k, v)| o.get(k).is_some_and(|w| covers(v, w))),
        (Value::Array(i), Value::Array(o)) => {
            i.len() == o.len() && i.iter().zip(o).all(|(v, w)| covers(v, w))
        }
        (Value::Object(_) | Value::Array(_), _) => false,
        _ => true,
    }
}

/// The serde model's reading: typed, strict about unknown members, semantically valid.
fn serde_model(text: &str) -> Option<Policy> {
    let policy: Policy = serde_json::from_str(text).ok()?;
    let input: Value = serde_json::from_str(text).ok()?;
    let output = serde_json::to_value(&policy).ok()?;
    (covers(&input, &output) && validate_policy(&policy).errors.is_empty()).then_some(policy)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let hand = load(text);
    let model = serde_model(text);
    let (hand, model) = match (hand, model) {
        (Err(_), None) => return,
        (Ok(h), Some(m)) => (h, m),
        (Ok(_), None) => panic!("hand reader accepts what the serde model refuses:\n{text}"),
        (Err(r), Some(_)) => {
            panic!("serde model accepts what the hand reader refuses: {r}\n{text}")
        }
    };
    let again = serde_json::to_string(&model).expect("a policy serializes");
    let via_model = match load(&again) {
        Ok(l) => l.policy,
        Err(r) => panic!("the serde model's policy does not load: {r}\n{again}"),
    };
    let doc: Value = serde_json::from_str(text).expect("accepted policy is JSON");
    let state = RuntimeState {
        now_ms: NOW_MS,
        ..RuntimeState::default()
    };
    for local in unit_names(&doc) {
        let ing = ingress(&local, true);
        for req in probe_requests(&["1", "0110100", "250", "x", ""]) {
            let a: Decision = decide(&hand.policy, &ing, &req, &state);
            let b: Decision = decide(&via_model, &ing, &req, &state);
            assert_eq!(a, b, "decisions differ for {req:?}");
        }
    }
});
