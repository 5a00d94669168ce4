//! One wasmtime engine per process and a cache of compiled modules (tests in one binary load the
//! same .wasm many times; compiling once keeps them fast). Also: where the .wasm files live.

use crate::disk_cache;
use crate::error::HostError;
use crate::sync::lock;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;
use wasmtime::{Config, Engine, Module};

pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.cranelift_opt_level(wasmtime::OptLevel::Speed);
        Engine::new(&config).unwrap_or_else(|_| Engine::default())
    })
}

type Cache = Mutex<HashMap<PathBuf, (SystemTime, u64, Module)>>;

/// Compile (or reuse) the module at `path`.
pub fn load(path: &Path) -> Result<Module, HostError> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|_| HostError::MissingModule {
        path: shown.clone(),
    })?;
    let stamp = (
        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        meta.len(),
    );
    // Held while compiling: parallel tests wait for one compilation instead of repeating it.
    let mut cache = lock(CACHE.get_or_init(Default::default));
    if let Some((t, len, m)) = cache.get(path) {
        if (*t, *len) == stamp {
            return Ok(m.clone());
        }
    }
    let bytes = std::fs::read(path).map_err(|e| HostError::Load {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let module = match disk_cache::get(&bytes) {
        Some(m) => m,
        None => {
            let m = Module::new(engine(), &bytes).map_err(|e| HostError::Load {
                path: shown,
                reason: format!("{e:?}"),
            })?;
            disk_cache::put(&bytes, &m);
            m
        }
    };
    cache.insert(path.to_path_buf(), (stamp.0, stamp.1, module.clone()));
    Ok(module)
}

/// Directory of the optimized modules: `$UNITGATE_WASM_DIR`, else `<workspace>/target/wasm`.
pub fn wasm_dir() -> PathBuf {
    match std::env::var_os("UNITGATE_WASM_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap_or(Path::new("."))
            .join("target")
            .join("wasm"),
    }
}

/// Path of module `name` (e.g. "unitgate_shard_router"); an error telling to run `make build`
/// if it is missing.
pub fn wasm_module(name: &str) -> Result<PathBuf, HostError> {
    let file = if name.ends_with(".wasm") {
        name.to_string()
    } else {
        format!("{name}.wasm")
    };
    let path = wasm_dir().join(file);
    if path.is_file() {
        Ok(path)
    } else {
        Err(HostError::MissingModule {
            path: path.display().to_string(),
        })
    }
}
