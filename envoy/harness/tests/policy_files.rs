//! The demo policy and every live edit the demo applies are valid for the core.

use unitgate_envoy::{clock, policies};

fn assert_loads(label: &str, policy: &serde_json::Value) {
    match unitgate_core::load(&policy.to_string()) {
        // The only expected warnings: a gray rule at 0% or 100% (a rollout's two ends).
        Ok(loaded) => {
            for w in &loaded.warnings {
                let at_end = w.path.ends_with("/percent")
                    && matches!(policy.pointer(&w.path).and_then(|v| v.as_f64()), Some(p) if p == 0.0 || p == 100.0);
                assert!(at_end, "{label}: unexpected warning {w:?}");
            }
        }
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
