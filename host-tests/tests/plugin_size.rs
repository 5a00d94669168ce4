//! The size of the shipped modules. A proxy loads one copy per worker VM, and every byte is
//! compiled again at each configuration push. No module may be over 300,000 bytes; each also
//! has a ceiling a little above its measured size (plugins/README.md §10), so that nothing
//! grows it unnoticed: lower a ceiling when a module shrinks, and never raise one without
//! saying why in the commit.

mod plugin_common;

use plugin_common::{GRAY, ISOLATION, MODULES, PIPELINE, SHARD};
use proxy_wasm_test_host::default_module_dir;

/// The limit for every shipped module.
const LIMIT: u64 = 300_000;

/// Today's ceilings (measured size plus about 1 KB for toolchain drift, at most `LIMIT`).
const CEILINGS: [(&str, u64); 4] = [
    (PIPELINE, 300_000),
    (SHARD, 282_300),
    (GRAY, 284_600),
    (ISOLATION, 287_400),
];

fn size(module: &str) -> u64 {
    let path = default_module_dir().join(format!("{module}.wasm"));
    std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run make build)", path.display()))
        .len()
}

#[test]
fn no_shipped_module_grows_past_its_ceiling() {
    assert_eq!(
        MODULES.len(),
        CEILINGS.len(),
        "a shipped module has no ceiling"
    );
    // A ceiling above the limit does not raise it.
    let over: Vec<String> = CEILINGS
        .iter()
        .map(|(m, ceiling)| (m, (*ceiling).min(LIMIT)))
        .filter(|(m, ceiling)| size(m) > *ceiling)
        .map(|(m, ceiling)| format!("{m}.wasm: {} bytes, ceiling {ceiling}", size(m)))
        .collect();
    assert!(over.is_empty(), "over their ceilings: {over:?}");
}
