//! Import of AppActive rule files (idSource, idTransformer, idUnitMapping, forbiddenRule).

use crate::model::{Policy, Unit};
use crate::report::Issue;

/// The AppActive rule files, as JSON values.
#[derive(Clone, Debug, Default)]
pub struct AppActiveInput {
    pub id_source: serde_json::Value,
    pub id_transformer: serde_json::Value,
    pub id_unit_mapping: serde_json::Value,
    pub forbidden_rule: Option<serde_json::Value>,
}

/// Convert AppActive rules into a policy that routes identically.
pub fn import_appactive(_input: &AppActiveInput, _units: &[Unit]) -> Result<Policy, Vec<Issue>> {
    Err(vec![Issue::new("", "not implemented yet")])
}
