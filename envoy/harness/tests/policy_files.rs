//! The demo policy and every live edit the demo applies are valid for the core.

use unitgate_envoy::{clock, policies};

fn assert_loads(label: &str, policy: &serde_json::Value) {
    match unitgate_core::load(&policy.to_string()) {
        Ok(loaded) => assert!(loaded.warnings.is_empty(), "{label}: {:?}", loaded.warnings),
        Err(report) => panic!("{label}:\n{report}"),
    }
}

#[test]
fn demo_policy_and_its_edits_load() {
    let base = policies::demo_policy();
    assert_loads("demo", &base);
    for percent in [0.0, 20.0, 100.0] {
        assert_loads("gray", &policies::with_gray_percent(&base, percent));
    }
    let until = clock::now_ms() / 1000 + 30;
    assert_loads(
        "cutover",
        &policies::with_write_forbidden(&base, "jc-cutover", &["jc"], until),
    );
}
