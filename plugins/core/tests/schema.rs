//! policies/unitgate-policy.schema.json is generated from the Rust types. This test fails when
//! the committed file is stale; `UNITGATE_BLESS=1 cargo test -p unitgate-core --test schema`
//! rewrites it.
#![cfg(feature = "schema")]

use serde_json::Value;
use unitgate_core::schema::policy_schema_json;

fn schema_path() -> String {
    format!(
        "{}/../../policies/unitgate-policy.schema.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn committed_schema_is_current() {
    let fresh = policy_schema_json();
    let path = schema_path();
    if std::env::var("UNITGATE_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{path} is stale: run `UNITGATE_BLESS=1 cargo test -p unitgate-core --test schema` and commit it"
    );
}

#[test]
fn schema_describes_the_document() {
    let schema: Value = serde_json::from_str(&policy_schema_json()).unwrap();
    let props: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for field in [
        "version",
        "units",
        "keys",
        "rules",
        "apis",
        "default_api",
        "gray",
        "isolation",
        "missing_key",
    ] {
        assert!(props.contains(&field), "{field} missing from {props:?}");
    }
    assert_eq!(props.len(), 9);
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        required,
        vec!["version", "units", "default_api", "missing_key"]
    );
    assert_eq!(schema["additionalProperties"], Value::Bool(false));
    // Nested objects reject unknown fields too, like the validator.
    assert_eq!(
        schema["$defs"]["Unit"]["additionalProperties"],
        Value::Bool(false)
    );
}
