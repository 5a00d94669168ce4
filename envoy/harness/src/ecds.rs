//! ECDS on a file: Envoy watches the path and reloads the filter config when the file is
//! replaced by rename (an in-place write could be read half-written).

use crate::bootstrap::{ecds_document, WasmFilter};
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

static SEQ: AtomicU64 = AtomicU64::new(0);

/// Writes `contents` to a temporary file next to `path`, then renames it over `path`.
pub fn write_atomically(path: &Path, contents: &str) -> Result<()> {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    std::fs::write(&tmp, contents).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming onto {}", path.display()))?;
    Ok(())
}

/// Publishes `filter`'s current configuration to its ECDS file.
pub fn publish(filter: &WasmFilter, path: &Path, version: &str) -> Result<()> {
    let doc = ecds_document(filter, version);
    write_atomically(path, &serde_json::to_string_pretty(&doc)?)
}
