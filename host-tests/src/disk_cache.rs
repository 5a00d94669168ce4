//! Compiled modules kept on disk between test processes: `cargo test` runs one process per test
//! file, and compiling a 500 KB module with a debug build of cranelift takes seconds. Entries
//! are keyed by the module bytes and the engine's compatibility hash, written atomically, and
//! live in the user's cache directory (see `dir`).

use crate::module_cache::engine;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Module;

/// Environment variable overriding the cache directory (empty: no disk cache).
pub const CACHE_DIR_ENV: &str = "PROXY_WASM_TEST_HOST_CACHE";

/// `$PROXY_WASM_TEST_HOST_CACHE`, else `$XDG_CACHE_HOME/proxy-wasm-test-host`, else
/// `$HOME/.cache/proxy-wasm-test-host`, else the same under the system temp dir.
/// `None` when the override is set but empty (caching off).
pub fn dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os(CACHE_DIR_ENV) {
        return (!d.is_empty()).then(|| PathBuf::from(d));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|d| !d.is_empty())
                .map(|h| Path::new(&h).join(".cache"))
        })
        .unwrap_or_else(std::env::temp_dir);
    Some(base.join("proxy-wasm-test-host"))
}

fn entry(wasm: &[u8]) -> Option<PathBuf> {
    // DefaultHasher::new() has fixed keys: the same key in every process.
    let mut h = DefaultHasher::new();
    wasm.hash(&mut h);
    engine().precompile_compatibility_hash().hash(&mut h);
    Some(dir()?.join(format!("{:016x}.cwasm", h.finish())))
}

/// A previously compiled module for these bytes, if any.
pub fn get(wasm: &[u8]) -> Option<Module> {
    let path = entry(wasm)?;
    if !path.is_file() {
        return None;
    }
    // SAFETY: the file was written by `put` below from `Module::serialize` of this engine
    // configuration (the key includes the engine's compatibility hash); wasmtime still
    // checks the header and version and refuses a mismatch.
    unsafe { Module::deserialize_file(engine(), &path) }.ok()
}

/// Store a compiled module; failures only cost the next process a compilation.
pub fn put(wasm: &[u8], module: &Module) {
    let Ok(bytes) = module.serialize() else {
        return;
    };
    let (Some(dir), Some(path)) = (dir(), entry(wasm)) else {
        return;
    };
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = std::fs::create_dir_all(&dir).is_ok() && std::fs::write(&tmp, bytes).is_ok();
    if !written || std::fs::rename(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    prune(&dir);
}

/// Keep the newest `KEEP` entries: every rebuild of a module adds one, and the cache is shared
/// by every checkout of the user.
const KEEP: usize = 64;

fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    files.sort();
    let excess = files.len().saturating_sub(KEEP);
    for (_, p) in files.into_iter().take(excess) {
        let _ = std::fs::remove_file(p);
    }
}
