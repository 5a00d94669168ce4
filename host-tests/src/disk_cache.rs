//! Compiled modules kept on disk between test processes: `cargo test` runs one process per test
//! file, and compiling a 500 KB module with a debug build of cranelift takes seconds. Entries
//! are keyed by the module bytes and the engine's compatibility hash, written atomically, and
//! live in `$CARGO_TARGET_DIR/host-tests-cache` (default `<workspace>/target/host-tests-cache`).

use crate::module_cache::engine;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Module;

fn dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap_or(Path::new("."))
            .join("target"),
    };
    target.join("host-tests-cache")
}

fn entry(wasm: &[u8]) -> PathBuf {
    // DefaultHasher::new() has fixed keys: the same key in every process.
    let mut h = DefaultHasher::new();
    wasm.hash(&mut h);
    engine().precompile_compatibility_hash().hash(&mut h);
    dir().join(format!("{:016x}.cwasm", h.finish()))
}

/// A previously compiled module for these bytes, if any.
pub fn get(wasm: &[u8]) -> Option<Module> {
    let path = entry(wasm);
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
    let path = entry(wasm);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = std::fs::create_dir_all(dir()).is_ok() && std::fs::write(&tmp, bytes).is_ok();
    if !written || std::fs::rename(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    prune();
}

/// Keep the newest `KEEP` entries: every rebuild of a module adds one.
const KEEP: usize = 32;

fn prune() {
    let Ok(entries) = std::fs::read_dir(dir()) else {
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
