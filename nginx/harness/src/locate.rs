//! Finds nginx, the ngx_wasm_module build and unitgate.wasm. A missing piece is an error that
//! says which make target builds it: tests fail loudly on a broken setup, they never skip.

use anyhow::{bail, Result};
use std::path::PathBuf;
use unitgate_envoy::locate::{wasm_module, workspace_root};

/// The one-pass module every nginx ingress loads.
pub const MODULE: &str = "unitgate";

/// nginx binary: $UNITGATE_NGINX, else Debian's /usr/sbin/nginx.
pub fn nginx_binary() -> Result<PathBuf> {
    let path = std::env::var_os("UNITGATE_NGINX")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    if !path.is_file() {
        bail!(
            "nginx binary {} does not exist; run `make nginx`",
            path.display()
        );
    }
    Ok(path)
}

/// ngx_wasm_module: $UNITGATE_NGX_WASM_MODULE, else target/nginx/ngx_wasmx_module.so.
pub fn ngx_wasm_module() -> Result<PathBuf> {
    let path = std::env::var_os("UNITGATE_NGX_WASM_MODULE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/nginx/ngx_wasmx_module.so"));
    if !path.is_file() {
        bail!("{} is missing; run `make nginx`", path.display());
    }
    Ok(path)
}

/// target/wasm/unitgate.wasm (absolute).
pub fn unitgate_wasm() -> Result<PathBuf> {
    wasm_module(MODULE)
}

/// A fresh scratch directory for one run (confs, logs, pid files), with `tmp/` for nginx's
/// temp paths.
pub fn scratch_dir(label: &str) -> Result<PathBuf> {
    let dir = unitgate_envoy::locate::scratch_dir(&format!("nginx-{label}"))?;
    std::fs::create_dir_all(dir.join("tmp"))?;
    Ok(dir)
}
