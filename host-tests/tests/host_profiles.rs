//! Traps, and ngx_wasm_module differences (README: Profiles), checked against the envoy profile.

use proxy_wasm_test_host::{Host, HostError, Profile};
use std::path::PathBuf;

const PROBE: &str = "unitgate_probe_plugin";

/// Envoy (FAIL_CLOSED) keeps a trapped VM dead; ngx_wasm_module starts a new instance for the
/// next request (host_ngx.rs checks what that instance runs).
#[test]
fn a_panic_is_a_clear_error_and_the_vm_is_dead_until_the_host_replaces_it() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let ws = host.module(PROBE).unwrap().start_workers(2).unwrap();
        let err = ws[0].request().path("/panic").send().unwrap_err();
        let HostError::Trap {
            hook,
            message,
            panic,
            client_status,
            ..
        } = &err
        else {
            panic!("{profile}: {err}");
        };
        assert_eq!(*hook, "proxy_on_request_headers");
        assert!(message.contains("unreachable"), "{message}");
        assert!(panic
            .as_deref()
            .unwrap_or("")
            .contains("probe panics on purpose"));
        assert_eq!(*client_status, profile.failure_status());
        assert!(err.to_string().contains("probe panics on purpose"));
        assert!(ws[0].dead().is_some());

        if profile.is_ngx() {
            assert_eq!(ws[0].request().send().unwrap().status(), Some(200));
            assert!(ws[0].dead().is_none());
        } else {
            // Envoy FAIL_CLOSED: every later request on that worker fails.
            let again = ws[0].request().send().unwrap_err();
            assert!(matches!(again, HostError::Dead { .. }), "{again}");
            assert_eq!(again.client_status(), Some(profile.failure_status()));
        }
        // The other worker is unaffected.
        assert_eq!(ws[1].request().send().unwrap().status(), Some(200));
    }
}

#[test]
fn foreign_function_clear_route_cache() {
    // Envoy knows it.
    let host = Host::new(Profile::Envoy);
    let w = host.start(PROBE, "").unwrap();
    let r = w.request().path("/foreign").send().unwrap();
    assert_eq!(r.upstream_header("x-probe-foreign"), Some("ok"));
    assert_eq!(r.route_cache_cleared(), 1);

    // ngx_wasm_module: an unknown foreign function traps and the request gets a 500.
    let host = Host::new(Profile::NgxWasmModule);
    let w = host.start(PROBE, "").unwrap();
    let err = w.request().path("/foreign").send().unwrap_err();
    assert!(err.is_trap(), "{err}");
    assert_eq!(err.client_status(), Some(500));
    assert!(err.to_string().contains("clear_route_cache"), "{err}");
}

#[test]
fn calls_ngx_wasm_module_does_not_implement_trap_there() {
    for (path, envoy_header, envoy_value) in [
        ("/reset", None, None),
        // No cluster scripted: Envoy 1.40 refuses the dispatch with ParseFailure (measured).
        ("/grpc", Some("x-probe-grpc"), Some("ParseFailure")),
        ("/done", Some("x-probe-done"), Some("ok")),
    ] {
        // Envoy: implemented, or refused with a status the SDK maps to Err.
        let w = Host::new(Profile::Envoy).start(PROBE, "").unwrap();
        let r = w.request().path(path).send().unwrap();
        match envoy_header {
            Some(h) => assert_eq!(r.upstream_header(h), envoy_value, "{path}"),
            None => {
                assert!(r.reset(), "{path}: the stream was reset");
                assert!(r.upstream().is_none() && r.status().is_none());
            }
        }
        // ngx_wasm_module: NYI trap, the request fails with 500.
        let w = Host::new(Profile::NgxWasmModule).start(PROBE, "").unwrap();
        let err = w.request().path(path).send().unwrap_err();
        assert!(
            err.is_trap() && err.to_string().contains("NYI"),
            "{path}: {err}"
        );
        assert_eq!(err.client_status(), Some(500));
    }
}

#[test]
fn a_whole_header_map_can_be_replaced() {
    for profile in Profile::ALL {
        let w = Host::new(profile).start(PROBE, "").unwrap();
        let r = w
            .request()
            .path("/pairs")
            .header("x-gone", "1")
            .send()
            .unwrap();
        let up = r.upstream().unwrap();
        assert_eq!(up.header("x-only"), Some("this"));
        assert_eq!(up.header(":path"), Some("/pairs"));
        // nginx only marks the old headers deleted, and its proxy module still forwards them.
        let gone = profile.is_ngx().then_some("1");
        assert_eq!(up.header("x-gone"), gone, "{profile}");
    }
}

#[test]
fn nginx_variables_are_set_through_ngx_properties() {
    let host = Host::new(Profile::NgxWasmModule);
    let plugin = host.module(PROBE).unwrap();
    let w = plugin.clone().ngx_var("probe_var").start().unwrap();
    let r = w.request().path("/ngx").send().unwrap();
    assert_eq!(r.ngx_var("probe_var"), Some("chosen"));
    assert_eq!(r.property(&["ngx", "probe_var"]), Some(&b"chosen"[..]));

    // An undeclared variable cannot be set: NotFound, which the SDK's set_property panics on.
    let w = plugin.start().unwrap();
    let err = w.request().path("/ngx").send().unwrap_err();
    assert!(err.to_string().contains("not declared"), "{err}");

    // Under Envoy the same call just stores a property.
    let host = Host::new(Profile::Envoy);
    let w = host.start(PROBE, "").unwrap();
    let r = w.request().path("/ngx").send().unwrap();
    assert_eq!(r.ngx_var("probe_var"), None);
    assert_eq!(r.property(&["ngx", "probe_var"]), Some(&b"chosen"[..]));
}

#[test]
fn ngx_profile_has_no_shared_queues() {
    let host = Host::new(Profile::NgxWasmModule);
    let plugin = host.module(PROBE).unwrap();
    // Resolving is a NYI stub there: it traps...
    let w = plugin.clone().start().unwrap();
    let err = w.request().path("/enqueue").send().unwrap_err();
    assert!(
        err.to_string()
            .contains("NYI - `proxy_resolve_shared_queue`"),
        "{err}"
    );
    assert_eq!(err.client_status(), Some(500));
    // ...and registering finds no queue zone: a trap too.
    let err = plugin.config("queue=probe").start().err().expect("trap");
    assert!(err.is_trap(), "{err}");
    assert!(
        err.to_string().contains("proxy_register_shared_queue"),
        "{err}"
    );
}

/// A minimal module: imports `module.name` as (i32 x args.len()) -> i32, exports memory,
/// `proxy_abi_version_0_2_1` and an `_initialize` that calls the import once with `args`
/// (each < 64).
fn tiny_module(module: &str, name: &str, args: &[u8]) -> PathBuf {
    fn section(id: u8, content: Vec<u8>) -> Vec<u8> {
        assert!(content.len() < 128);
        let mut s = vec![id, content.len() as u8];
        s.extend(content);
        s
    }
    fn string(s: &str) -> Vec<u8> {
        let mut v = vec![s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    let mut types = vec![2, 0x60, args.len() as u8];
    types.extend(args.iter().map(|_| 0x7f));
    types.extend([1, 0x7f, 0x60, 0, 0]);
    wasm.extend(section(1, types));
    let mut import = vec![1];
    import.extend(string(module));
    import.extend(string(name));
    import.extend([0, 0]);
    wasm.extend(section(2, import));
    wasm.extend(section(3, vec![2, 1, 1]));
    wasm.extend(section(5, vec![1, 0, 1]));
    let mut export = vec![3];
    export.extend(string("memory"));
    export.extend([2, 0]);
    export.extend(string("proxy_abi_version_0_2_1"));
    export.extend([0, 1]);
    export.extend(string("_initialize"));
    export.extend([0, 2]);
    wasm.extend(section(7, export));
    let mut init = vec![0x00];
    for a in args {
        init.extend([0x41, *a]);
    }
    init.extend([0x10, 0x00, 0x1a, 0x0b]);
    let mut code = vec![2, 2, 0x00, 0x0b, init.len() as u8];
    code.extend(init);
    wasm.extend(section(10, code));
    let path =
        std::env::temp_dir().join(format!("ug-host-tests-{}-{name}.wasm", std::process::id()));
    std::fs::write(&path, wasm).unwrap();
    path
}

/// Start the module at `path`, expecting an error.
fn start_error(profile: Profile, path: &PathBuf) -> HostError {
    let plugin = Host::new(profile).plugin(path).unwrap();
    plugin.start().err().expect("start must fail")
}

#[test]
fn abi_functions_missing_in_ngx_wasm_module_fail_the_module_load() {
    // (map type 0, return slot 8) and (buffer type 6 = VM config, slots 8 and 12).
    for (name, args) in [
        ("proxy_get_header_map_size", &[0, 8][..]),
        ("proxy_get_buffer_status", &[6, 8, 12][..]),
    ] {
        let path = tiny_module("env", name, args);
        // Envoy provides them (ABI 0.2.1)...
        let envoy = Host::new(Profile::Envoy);
        envoy.plugin(&path).unwrap().start().unwrap();
        // ...ngx_wasm_module does not: the module does not load.
        let err = start_error(Profile::NgxWasmModule, &path);
        assert!(matches!(err, HostError::Load { .. }), "{err}");
        assert!(err.to_string().contains(name), "{err}");
        std::fs::remove_file(path).unwrap();
    }
}

#[test]
fn an_unimplemented_wasi_function_traps_with_its_name() {
    let path = tiny_module("wasi_snapshot_preview1", "path_unlink_file", &[0, 0]);
    for profile in Profile::ALL {
        let err = start_error(profile, &path);
        assert!(err.is_trap(), "{err}");
        assert!(
            err.to_string()
                .contains("WASI function `path_unlink_file` is not implemented"),
            "{err}"
        );
    }
    std::fs::remove_file(path).unwrap();
}

#[test]
fn an_unknown_env_import_fails_the_load() {
    let path = tiny_module("env", "proxy_no_such_call", &[0, 0]);
    let err = start_error(Profile::Envoy, &path);
    assert!(matches!(err, HostError::Load { .. }), "{err}");
    assert!(err.to_string().contains("proxy_no_such_call"), "{err}");
    std::fs::remove_file(path).unwrap();
}
