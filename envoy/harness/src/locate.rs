//! Finds the Envoy binary, the release .wasm modules and the workspace root.
//! Missing pieces are errors (never skips): tests must fail loudly on a broken setup.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The one-pass module the recommended deployment runs.
pub const PIPELINE_MODULE: &str = "unitgate";

/// The three per-concern release modules, in filter-chain order.
pub const MODULES: [&str; 3] = [
    "unitgate_shard_router",
    "unitgate_gray_release",
    "unitgate_fault_isolation",
];

/// Workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| here.to_path_buf())
}

/// Envoy binary: $UNITGATE_ENVOY, else the path `make venv` wrote to .venv/envoy-path.
pub fn envoy_binary() -> Result<PathBuf> {
    let path = match std::env::var_os("UNITGATE_ENVOY").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => {
            let hint = workspace_root().join(".venv/envoy-path");
            let text = std::fs::read_to_string(&hint).with_context(|| {
                format!(
                    "Envoy not found: UNITGATE_ENVOY is unset and {} is missing; run `make venv`",
                    hint.display()
                )
            })?;
            PathBuf::from(text.trim())
        }
    };
    if !path.is_file() {
        bail!(
            "Envoy binary {} does not exist; run `make venv`",
            path.display()
        );
    }
    Ok(path)
}

/// Directory of the optimized modules: $UNITGATE_WASM_DIR, else <workspace>/target/wasm.
pub fn wasm_dir() -> PathBuf {
    match std::env::var_os("UNITGATE_WASM_DIR").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => workspace_root().join("target/wasm"),
    }
}

/// Absolute path of one release module; error if it was not built.
pub fn wasm_module(name: &str) -> Result<PathBuf> {
    let path = wasm_dir().join(format!("{name}.wasm"));
    if !path.is_file() {
        bail!("{} is missing; run `make build`", path.display());
    }
    Ok(std::fs::canonicalize(&path).unwrap_or(path))
}

/// A fresh scratch directory under target/ for one run (configs, logs, ECDS files).
pub fn scratch_dir(label: &str) -> Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = workspace_root()
        .join("target/unitgate-envoy")
        .join(format!("{label}-{}-{stamp}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
