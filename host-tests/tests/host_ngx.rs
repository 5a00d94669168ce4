//! What real nginx 1.22 + ngx_wasm_module (3bed2783) does where Envoy differs, each checked
//! against Envoy under the same probe request. The README's coverage table cites the source.

use proxy_wasm_test_host::{Action, CalloutResponse, Host, HostError, Phase, Profile};

const PROBE: &str = "unitgate_probe_plugin";

#[test]
fn a_pause_on_request_headers_is_never_resumed_on_ngx() {
    for profile in Profile::ALL {
        let w = Host::new(profile).start(PROBE, "").unwrap();
        // `/body` pauses on headers to wait for the body.
        let r = w
            .request()
            .method("POST")
            .path("/body")
            .body("hello")
            .send()
            .unwrap();
        if profile.is_ngx() {
            // The request hangs: no body callback, no upstream, no response.
            let stall = r.stall().expect("a stall, not a pass");
            assert_eq!((stall.filter, stall.phase), (0, Phase::RequestHeaders));
            assert_eq!(r.action(0, Phase::RequestBody), None);
            assert!(r.upstream().is_none());
            assert_eq!(r.status(), None);
        } else {
            assert!(r.stall().is_none());
            assert_eq!(r.upstream().unwrap().body, b"HELLO");
        }
    }
}

#[test]
fn a_pending_http_call_resumes_the_request_on_ngx_even_without_continue() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let upstream = match profile {
            Profile::Envoy => "svc",
            Profile::NgxWasmModule => "127.0.0.1:9",
        };
        host.script_http_call(upstream, |_| Some(CalloutResponse::new(200).body("pong")));
        let w = host.start(PROBE, format!("upstream={upstream}")).unwrap();
        // The probe pauses with a call in flight; its answer calls continue...
        let r = w.request().path("/callout").send().unwrap();
        assert_eq!(r.upstream_header("x-probe-callout-body"), Some("pong"));
        // ...unless told not to. nginx resumes once the last call is answered; Envoy waits.
        let r = w
            .request()
            .path("/callout")
            .header("x-probe-no-resume", "1")
            .send()
            .unwrap();
        assert_eq!(r.action(0, Phase::RequestHeaders), Some(Action::Pause));
        if profile.is_ngx() {
            assert_eq!(r.upstream_header("x-probe-callout-body"), Some("pong"));
        } else {
            assert_eq!(r.stall().map(|s| s.phase), Some(Phase::RequestHeaders));
        }
    }
}

#[test]
fn removed_headers_read_back_and_still_reach_upstream_on_ngx() {
    for profile in Profile::ALL {
        let w = Host::new(profile).start(PROBE, "").unwrap();
        let r = w
            .request()
            .path("/headers")
            .header("x-rm", "client")
            .header("x-add", "client")
            .header("x-rep", "one")
            .header("x-rep", "two")
            .send()
            .unwrap();
        let up = r.upstream().unwrap();
        // Pairs never list a removed header; a lookup still finds it on nginx.
        assert_eq!(up.header("x-probe-removed-listed"), Some("false"));
        // Adding appends a second copy on both hosts.
        assert_eq!(up.header_all("x-add"), ["client", "plugin"], "{profile}");
        if profile.is_ngx() {
            assert_eq!(up.header("x-probe-removed-reads"), Some("client"));
            // Removed (marked deleted), yet forwarded by nginx 1.22's proxy module.
            assert_eq!(up.header_all("x-rm"), ["client"]);
            // Replace updates the first copy in place and marks the others deleted:
            // they are forwarded too.
            assert_eq!(up.header_all("x-rep"), ["plugin", "two"]);
        } else {
            assert_eq!(up.header("x-probe-removed-reads"), Some("<none>"));
            assert!(up.header_all("x-rm").is_empty());
            assert_eq!(up.header_all("x-rep"), ["plugin"]);
        }
    }
}

#[test]
fn the_request_body_comes_whole_in_one_callback_on_ngx() {
    for profile in Profile::ALL {
        let w = Host::new(profile).start(PROBE, "").unwrap();
        let r = w
            .request()
            .method("POST")
            .path("/b")
            .body_chunks(["hel", "lo ", "world"])
            .trailer("x-sum", "1")
            .send()
            .unwrap();
        let bodies = r
            .actions()
            .iter()
            .filter(|a| a.phase == Phase::RequestBody)
            .count();
        let trailers = r.action(0, Phase::RequestTrailers);
        let up = r.upstream().unwrap();
        if profile.is_ngx() {
            // nginx reads the whole body first, calls on_request_body once with
            // end_of_stream, and has no request trailers callback.
            assert_eq!(bodies, 1);
            assert_eq!(trailers, None);
            assert_eq!(up.body, b"HELLO WORLD");
            assert_eq!(up.header("x-probe-body-len"), Some("11"));
        } else {
            // Envoy: one callback per chunk, none with end_of_stream (trailers follow).
            assert_eq!(bodies, 3);
            assert_eq!(trailers, Some(Action::Continue));
            assert_eq!(up.header("x-probe-trailer-body"), Some("hello world"));
        }
    }
}

#[test]
fn shared_data_needs_an_shm_kv_zone_on_ngx() {
    for profile in Profile::ALL {
        // Declared (the default, as a working nginx.conf has it): shared data works.
        let w = Host::new(profile).start(PROBE, "").unwrap();
        let r = w.request().path("/cas-incr").send().unwrap();
        assert_eq!(r.upstream_header("x-probe-cas"), Some("appended retries=0"));

        let host = Host::new(profile);
        host.ngx_shm_kv(false);
        let w = host.start(PROBE, "").unwrap();
        let r = w.request().path("/cas-incr").send();
        if profile.is_ngx() {
            let err = r.unwrap_err();
            assert!(err.is_trap(), "{err}");
            assert!(
                err.to_string().contains("could not resolve namespace"),
                "{err}"
            );
            assert_eq!(err.client_status(), Some(500));
            assert!(host.shared_data_keys().is_empty());
        } else {
            assert_eq!(
                r.unwrap().upstream_header("x-probe-cas"),
                Some("appended retries=0")
            );
        }
    }
}

#[test]
fn a_trapped_instance_is_replaced_on_ngx_with_configure_but_no_vm_start() {
    let host = Host::new(Profile::NgxWasmModule);
    let w = host.start(PROBE, "").unwrap();
    let err = w.request().path("/panic").send().unwrap_err();
    assert!(matches!(err, HostError::Trap { .. }), "{err}");
    let mark = w.logs().len();
    // The next request gets a new instance: fresh memory, root context, on_configure.
    let r = w.request().path("/x").send().unwrap();
    assert_eq!(r.status(), Some(200));
    let since: Vec<String> = w.logs()[mark..].iter().map(|l| l.message.clone()).collect();
    assert!(
        since.iter().any(|m| m.contains("a new instance replaces")),
        "{since:?}"
    );
    assert!(since.iter().any(|m| m == "probe configured: "), "{since:?}");
    assert!(!since.iter().any(|m| m == "probe vm start"), "{since:?}");
}

#[test]
fn header_callbacks_never_see_end_of_stream_on_ngx() {
    for profile in Profile::ALL {
        let w = Host::new(profile).start(PROBE, "").unwrap();
        let r = w.request().path("/x").send().unwrap();
        let eos = (!profile.is_ngx()).to_string();
        assert_eq!(r.upstream_header("x-probe-eos"), Some(eos.as_str()));
        assert_eq!(
            r.response_header("x-probe-response-eos"),
            Some(eos.as_str())
        );
    }
}

#[test]
fn only_ngx_and_wasmx_properties_can_be_set_on_ngx() {
    for profile in Profile::ALL {
        let w = Host::new(profile).start(PROBE, "").unwrap();
        // `/props` with x-probe-custom also sets `probe.seen` through the SDK.
        let r = w
            .request()
            .path("/props")
            .header("x-probe-custom", "1")
            .send();
        if profile.is_ngx() {
            // NotFound, on which the SDK's set_property panics: the request fails.
            let err = r.unwrap_err();
            assert!(err.to_string().contains("unexpected status: 1"), "{err}");
        } else {
            let r = r.unwrap();
            assert_eq!(r.upstream_header("x-prop-probe-seen"), Some("yes"));
            assert_eq!(r.property(&["probe", "seen"]), Some(&b"yes"[..]));
        }
    }
}

#[test]
fn proxy_set_header_overrides_client_headers_but_not_removed_ones() {
    let host = Host::new(Profile::NgxWasmModule);
    host.ngx_proxy_set_header("x-rm", "")
        .ngx_proxy_set_header("x-keep", "")
        .ngx_proxy_set_header("x-var", "$probe_var");
    let w = host
        .module(PROBE)
        .unwrap()
        .ngx_var("probe_var")
        .start()
        .unwrap();
    // `/headers` removes x-rm and adds x-add. A removed header escapes the override (its hash
    // is zeroed, and nginx 1.22 forwards deleted entries); an untouched client copy does not.
    let r = w
        .request()
        .path("/headers")
        .header("x-rm", "client")
        .header("x-keep", "client")
        .header("x-add", "client")
        .send()
        .unwrap();
    let up = r.upstream().unwrap();
    assert_eq!(up.header_all("x-rm"), ["client"], "removed, then forwarded");
    assert!(up.header_all("x-keep").is_empty());
    assert!(
        up.header_all("x-var").is_empty(),
        "unset variable: empty, not sent"
    );
    assert_eq!(
        up.header_all("x-add"),
        ["client", "plugin"],
        "not overridden"
    );
    // `/ngx` sets $probe_var, which the override sends.
    let r = w
        .request()
        .path("/ngx")
        .header("x-var", "client")
        .send()
        .unwrap();
    assert_eq!(r.upstream().unwrap().header_all("x-var"), ["chosen"]);
}

#[test]
fn shared_data_is_one_store_for_every_module_on_ngx_and_per_vm_id_on_envoy() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let plugin = host.module(PROBE).unwrap();
        let a = plugin.clone().vm_id("a").start().unwrap();
        let b = plugin.vm_id("b").start().unwrap();
        // Each appends "x" to `probe.incr_log` with a CAS loop.
        for w in [&a, &b] {
            w.request().path("/cas-incr").send().unwrap();
        }
        let log = |vm: &str| host.shared_data_of(vm, "probe.incr_log");
        if profile.is_ngx() {
            // One shm_kv zone holds every module's keys, whatever their VM.
            assert_eq!(host.shared_data("probe.incr_log"), Some(b"x,x".to_vec()));
            assert_eq!(log("a"), None);
        } else {
            // proxy-wasm-cpp-host keeps one store per vm_id.
            assert_eq!(log("a"), Some(b"x".to_vec()));
            assert_eq!(log("b"), Some(b"x".to_vec()));
            assert_eq!(host.shared_data("probe.incr_log"), None);
        }
    }
}

#[test]
fn a_local_reply_goes_through_the_whole_chain_on_ngx() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let plugin = host.module(PROBE).unwrap();
        let (first, second) = (plugin.clone().start().unwrap(), plugin.start().unwrap());
        let chain = proxy_wasm_test_host::Chain::new(&[&first, &second]).unwrap();
        let r = chain.request().path("/reply").send().unwrap();
        assert_eq!(r.status(), Some(418));
        // The second filter never sees the request...
        assert_eq!(r.action(1, Phase::RequestHeaders), None);
        // ...but on nginx its (already created) context runs the response step too.
        let second_saw_reply = r.action(1, Phase::ResponseHeaders).is_some();
        assert_eq!(second_saw_reply, profile.is_ngx(), "{profile}");
        assert_eq!(r.action(0, Phase::ResponseHeaders), Some(Action::Continue));
    }
}
