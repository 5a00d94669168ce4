//! One wasmtime engine per process and a cache of compiled modules (tests in one binary load the
//! same .wasm many times; compiling once keeps them fast). Also: where `Host::module` looks.

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
        // Fuel counts the instructions each callback runs (`HostCalls::instructions`).
        config.consume_fuel(counts_instructions());
        Engine::new(&config).unwrap_or_else(|_| Engine::default())
    })
}

/// Environment variable that turns instruction counting off (`0`): timing benchmarks set it,
/// since fuel metering slows the compiled code down.
pub const FUEL_ENV: &str = "PROXY_WASM_TEST_HOST_FUEL";

/// Whether workers count instructions (on unless `$PROXY_WASM_TEST_HOST_FUEL` is `0`).
pub fn counts_instructions() -> bool {
    std::env::var_os(FUEL_ENV).is_none_or(|v| v != "0")
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

/// Environment variable naming the directory `Host::module(name)` looks in.
pub const MODULE_DIR_ENV: &str = "PROXY_WASM_MODULE_DIR";

/// Where `Host::module(name)` looks when the host names no directory: `$PROXY_WASM_MODULE_DIR`,
/// else `<target>/wasm32-wasip1/release` (what `cargo build --target wasm32-wasip1 --release`
/// writes), `<target>` being the target directory of the running test binary.
pub fn default_module_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(MODULE_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    // A test binary lives in `<target>/<profile>/deps/`.
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("wasm32-wasip1").join("release")
}

/// Path of module `name` (`name.wasm`, or `name` if it ends with `.wasm`) in `dir`;
/// `HostError::MissingModule` if there is no such file.
pub fn module_path(dir: &Path, name: &str) -> Result<PathBuf, HostError> {
    let file = if name.ends_with(".wasm") {
        name.to_string()
    } else {
        format!("{name}.wasm")
    };
    let path = dir.join(file);
    if path.is_file() {
        Ok(path)
    } else {
        Err(HostError::MissingModule {
            path: path.display().to_string(),
        })
    }
}
