//! The size limit of the shipped modules: each optimized `.wasm` (what `make build` writes)
//! is at most 300,000 bytes. A proxy loads one copy per worker VM, and every byte is
//! compiled again at each configuration push. Where the bytes are: plugins/README.md §10.

mod plugin_common;

use plugin_common::MODULES;
use proxy_wasm_test_host::default_module_dir;

/// Bytes a shipped module may take at most.
const LIMIT: u64 = 300_000;

#[test]
fn every_shipped_module_is_at_most_300_kb() {
    let dir = default_module_dir();
    let over: Vec<String> = MODULES
        .iter()
        .filter_map(|(m, _)| {
            let path = dir.join(format!("{m}.wasm"));
            let size = std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (run make build)", path.display()))
                .len();
            (size > LIMIT).then(|| format!("{m}.wasm: {size} bytes"))
        })
        .collect();
    assert!(over.is_empty(), "over {LIMIT} bytes: {over:?}");
}
