//! The ABI surface: the README's coverage table names every function the host links, and a
//! missing module is a failure that says what to do.

use proxy_wasm_test_host::{Host, HostError, Profile, PROXY_FUNCTIONS, WASI_IMPLEMENTED};

const PROBE: &str = "unitgate_probe_plugin";

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

#[test]
fn the_coverage_table_lists_every_linked_function() {
    let readme = readme();
    for name in PROXY_FUNCTIONS.iter().chain(WASI_IMPLEMENTED) {
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "README coverage table lacks a row for {name}"
        );
    }
}

#[test]
fn a_missing_module_fails_with_the_fix() {
    let host = Host::new(Profile::Envoy);
    host.module_dir("/nonexistent/modules");
    let err = host.module("no_such_module").err().unwrap();
    assert!(matches!(err, HostError::MissingModule { .. }));
    let shown = format!("{err:?}");
    assert!(
        shown.contains("/nonexistent/modules/no_such_module.wasm"),
        "{shown}"
    );
    assert!(shown.contains("PROXY_WASM_MODULE_DIR"), "{shown}");
}

#[test]
fn the_probe_imports_only_what_both_profiles_link() {
    // Instantiation links every import: a missing one would be a load error.
    for profile in Profile::ALL {
        let host = Host::new(profile);
        host.start(PROBE, "").unwrap();
    }
}

#[test]
fn handles_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Host>();
    send_sync::<proxy_wasm_test_host::Worker>();
    send_sync::<proxy_wasm_test_host::Chain>();
    send_sync::<proxy_wasm_test_host::Exchange>();
    send_sync::<HostError>();
}

#[test]
fn the_readme_quick_start_is_the_crate_doctest() {
    let readme = readme();
    let start = readme.find("```rust\n").expect("a rust block") + "```rust\n".len();
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    let lib = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs")).unwrap();
    let doc: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    for line in block.lines() {
        assert!(
            doc.contains(&line),
            "README line not in the doctest: {line}"
        );
    }
}
