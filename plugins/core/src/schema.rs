//! JSON Schema of policy v1, generated from the Rust types (feature `schema`).

use crate::model::Policy;

/// The schema as pretty JSON text (what policies/unitgate-policy.schema.json holds).
pub fn policy_schema_json() -> String {
    let schema = schemars::schema_for!(Policy);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
