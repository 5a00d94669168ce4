//! The host drives a plugin's lifecycle and HTTP stream the way the proxies do
//! (probe plugin, both profiles).

use proxy_wasm_test_host::{Action, Host, HostError, LogLevel, Phase, Profile, UpstreamResponse};

const PROBE: &str = "unitgate_probe_plugin";

fn probe(profile: Profile) -> (Host, proxy_wasm_test_host::PluginBuilder) {
    let host = Host::new(profile);
    let plugin = host.module(PROBE).expect("probe module");
    (host, plugin)
}

#[test]
fn configure_runs_and_a_rejected_configuration_is_an_error_with_logs() {
    for profile in Profile::ALL {
        let (_host, plugin) = probe(profile);
        let w = plugin.clone().config("tick_ms=0").start().unwrap();
        assert!(
            w.log_text().contains("probe configured: tick_ms=0"),
            "{profile}"
        );

        let err = plugin
            .clone()
            .config("reject=1")
            .start()
            .err()
            .expect("rejected");
        let HostError::Rejected { hook, logs, .. } = &err else {
            panic!("{profile}: {err}");
        };
        assert_eq!(*hook, "proxy_on_configure");
        assert!(logs.contains("configuration rejected on purpose"), "{logs}");

        // ECDS-style update in the same VM: rejected, then accepted again.
        assert!(w.reconfigure("reject=1").is_err());
        w.reconfigure("upstream=x").unwrap();
        assert!(w.log_text().contains("probe configured: upstream=x"));
    }
}

#[test]
fn request_headers_reach_the_upstream_with_plugin_changes() {
    for profile in Profile::ALL {
        let (_host, plugin) = probe(profile);
        let w = plugin.start().unwrap();
        let r = w
            .request()
            .method("POST")
            .path("/anything?a=1")
            .header("X-Probe", "yes")
            .send()
            .unwrap();
        let up = r.upstream().expect("reached upstream");
        assert_eq!(up.header(":path"), Some("/anything?a=1"));
        assert_eq!(up.header(":method"), Some("POST"));
        assert_eq!(up.header("x-probe"), Some("yes"));
        // The plugin's own header, written in on_http_request_headers.
        assert!(r.upstream_header("x-probe-eos").is_some());
        assert_eq!(r.action(0, Phase::RequestHeaders), Some(Action::Continue));
        assert_eq!(r.status(), Some(200));
        // Envoy lower-cases header names; nginx keeps them as sent.
        let names: Vec<&str> = up.headers.iter().map(|(k, _)| k.as_str()).collect();
        match profile {
            Profile::Envoy => {
                assert!(names.contains(&"x-probe") && names.contains(&"x-request-id"));
                assert_eq!(names[0], ":authority");
            }
            Profile::NgxWasmModule => {
                assert!(names.contains(&"X-Probe") && names.contains(&"Host"))
            }
        }
    }
}

#[test]
fn end_of_stream_in_header_callbacks_follows_the_profile() {
    for profile in Profile::ALL {
        let (_host, plugin) = probe(profile);
        let w = plugin.start().unwrap();
        let without_body = w.request().send().unwrap();
        let with_body = w.request().method("POST").body("x").send().unwrap();
        let expected = match profile {
            Profile::Envoy => "true",
            Profile::NgxWasmModule => "false", // always false in ngx_wasm_module
        };
        assert_eq!(
            without_body.upstream_header("x-probe-eos"),
            Some(expected),
            "{profile}"
        );
        assert_eq!(
            with_body.upstream_header("x-probe-eos"),
            Some("false"),
            "{profile}"
        );
        assert_eq!(
            without_body.response_header("x-probe-response-eos"),
            Some(expected)
        );
    }
}

/// Envoy: a pause on headers waits for the body (ngx_wasm_module never resumes it: host_ngx.rs).
#[test]
fn body_is_buffered_read_and_replaced() {
    {
        let profile = Profile::Envoy;
        let (host, plugin) = probe(profile);
        let w = plugin.start().unwrap();
        // Headers pause (the probe wants the body); chunks are buffered until end of stream.
        let r = w
            .request()
            .method("POST")
            .path("/body")
            .body_chunks(["hel", "lo ", "world"])
            .send()
            .unwrap();
        assert_eq!(r.action(0, Phase::RequestHeaders), Some(Action::Pause));
        let up = r.upstream().expect("body Continue resumes the stream");
        assert_eq!(up.body, b"HELLO WORLD");
        assert_eq!(up.header("x-probe-body-len"), Some("11"));
        let body_actions: Vec<Action> = r
            .actions()
            .iter()
            .filter(|a| a.phase == Phase::RequestBody)
            .map(|a| a.action)
            .collect();
        assert_eq!(
            body_actions,
            [Action::Pause, Action::Pause, Action::Continue]
        );
        assert_eq!(host.histogram("probe.sizes"), Some(vec![11]));
    }
}

/// Envoy only: ngx_wasm_module has no request trailers callback (host_ngx.rs).
#[test]
fn trailers_end_a_buffered_body_which_stays_readable() {
    {
        let profile = Profile::Envoy;
        let (_host, plugin) = probe(profile);
        let w = plugin.start().unwrap();
        let r = w
            .request()
            .method("POST")
            .path("/body")
            .body_chunks(["ab", "cd"])
            .trailer("x-sum", "1")
            .send()
            .unwrap();
        // No chunk had end_of_stream, so the probe paused (buffered) both; the trailers
        // callback read the whole buffer and continued, which sends it upstream.
        assert_eq!(
            r.upstream_header("x-probe-trailer-body"),
            Some("abcd"),
            "{profile}"
        );
        let up = r.upstream().expect("trailers continued");
        assert_eq!(up.body, b"abcd");
        assert_eq!(up.header_all("x-sum"), Vec::<&str>::new());
        assert_eq!(up.trailers, [("x-sum".to_string(), "1".to_string())]);
    }
}

#[test]
fn a_paused_request_nobody_resumes_stalls() {
    let (_host, plugin) = probe(Profile::Envoy);
    let w = plugin.start().unwrap();
    // `/body` without a body: headers pause with end_of_stream and nothing resumes them.
    let r = w.request().path("/body").send().unwrap();
    assert!(r.upstream().is_none());
    assert_eq!(r.status(), None);
    let stall = r.stall().expect("stalled");
    assert_eq!((stall.filter, stall.phase), (0, Phase::RequestHeaders));
}

#[test]
fn local_reply_is_captured_and_ends_the_stream() {
    for profile in Profile::ALL {
        let (_host, plugin) = probe(profile);
        let w = plugin.start().unwrap();
        let r = w.request().path("/reply").send().unwrap();
        let reply = r.local_reply().expect("local reply");
        assert_eq!(reply.status, 418);
        assert_eq!(reply.header("x-probe"), Some("reply"));
        assert_eq!(reply.body_text(), "short and stout");
        assert!(
            r.upstream().is_none(),
            "{profile}: a local reply never reaches the upstream"
        );
        // The client gets the reply, after the plugin's response callback ran on it.
        assert_eq!(r.status(), Some(418));
        assert_eq!(r.response_header("x-probe-upstream-status"), Some("418"));
        // nginx appends a line feed to a local reply's body (ngx_http_wasm_local_response.c).
        let sent = match profile {
            Profile::Envoy => "short and stout",
            Profile::NgxWasmModule => "short and stout\n",
        };
        assert_eq!(r.response_text(), sent);
    }
}

#[test]
fn upstream_response_runs_response_callbacks() {
    for profile in Profile::ALL {
        let (host, plugin) = probe(profile);
        let w = plugin.start().unwrap();
        let r = w
            .request()
            .respond(503, &[("set-cookie", "a=1"), ("set-cookie", "b=2")], "down")
            .send()
            .unwrap();
        assert_eq!(r.status(), Some(503));
        assert_eq!(r.response_header("x-probe-upstream-status"), Some("503"));
        assert_eq!(r.response_header_all("set-cookie"), ["a=1", "b=2"]);
        assert_eq!(r.response_text(), "down");
        // on_log read the `response.code` property (8-byte little-endian integer).
        assert_eq!(
            host.shared_data("probe.last_log_code"),
            Some(b"503".to_vec())
        );

        // A host-wide upstream function answers requests without `.respond`.
        host.set_upstream(|req| {
            UpstreamResponse::new(201).header("x-path", req.header(":path").unwrap_or(""))
        });
        let r = w.request().path("/p").send().unwrap();
        assert_eq!(r.status(), Some(201));
        assert_eq!(r.response_header("x-path"), Some("/p"));
    }
}

#[test]
fn pause_in_a_response_phase_follows_the_profile() {
    for profile in Profile::ALL {
        let (_host, plugin) = probe(profile);
        let w = plugin.start().unwrap();
        let r = w.request().path("/respause").send().unwrap();
        assert_eq!(r.action(0, Phase::ResponseHeaders), Some(Action::Pause));
        match profile {
            Profile::Envoy => {
                assert_eq!(r.stall().map(|s| s.phase), Some(Phase::ResponseHeaders));
                assert_eq!(r.status(), None);
            }
            Profile::NgxWasmModule => {
                // ngx_wasm_module cannot pause there: the response goes on.
                assert_eq!(r.stall(), None);
                assert_eq!(r.status(), Some(200));
                assert!(w
                    .log_text()
                    .contains("pausing in a response phase is not supported"));
            }
        }
    }
}

#[test]
fn properties_have_envoy_names_and_profile_values() {
    for profile in Profile::ALL {
        let (_host, plugin) = probe(profile);
        let w = plugin
            .root_id("probe_root")
            .vm_id("vm1")
            .name("probe")
            .start()
            .unwrap();
        let r = w
            .request()
            .method("PUT")
            .path("/props?q=1")
            .authority("api.example.com")
            .scheme("https")
            .header("x-probe", "hdr")
            .source("10.1.2.3:5555")
            .send()
            .unwrap();
        let prop = |name: &str| {
            r.upstream_header(&format!("x-prop-{name}"))
                .map(str::to_string)
        };
        assert_eq!(prop("path").as_deref(), Some("/props?q=1"));
        assert_eq!(prop("method").as_deref(), Some("PUT"));
        assert_eq!(prop("host").as_deref(), Some("api.example.com"));
        assert_eq!(prop("scheme").as_deref(), Some("https"));
        assert_eq!(prop("header").as_deref(), Some("hdr"));
        assert_eq!(prop("source").as_deref(), Some("10.1.2.3:5555"));
        assert_eq!(prop("destination").as_deref(), Some("127.0.0.1:10000"));
        assert_eq!(prop("name").as_deref(), Some("probe"));
        assert_eq!(prop("vm-id").as_deref(), Some("vm1"));
        assert_eq!(prop("missing").as_deref(), Some("<none>"));
        let root_id = match profile {
            Profile::Envoy => "probe_root",
            Profile::NgxWasmModule => "0",
        };
        assert_eq!(prop("root-id").as_deref(), Some(root_id));
        // request.id: Envoy's x-request-id.
        let id = prop("id").unwrap();
        assert_eq!(id.len(), 36);
        if profile == Profile::Envoy {
            assert_eq!(r.upstream_header("x-request-id"), Some(id.as_str()));
        }
        // set_property is stored on the stream and readable back (and by the test).
        assert_eq!(prop("wasmx-seen").as_deref(), Some("yes"));
        assert_eq!(r.property(&["wasmx", "probe_seen"]), Some(&b"yes"[..]));
        // Only set on request (`x-probe-custom`): see host_ngx.rs.
        assert_eq!(prop("probe-seen").as_deref(), Some("<none>"));
    }
}

#[test]
fn logs_are_captured_with_levels_and_the_level_is_configurable() {
    for profile in Profile::ALL {
        let (_host, plugin) = probe(profile);
        let w = plugin.clone().log_level(LogLevel::Debug).start().unwrap();
        if profile.is_ngx() {
            // ngx_wasm_module links proxy_get_log_level to its NYI stub: the call traps.
            let err = w.request().path("/loglevel").send().unwrap_err();
            assert!(
                err.to_string().contains("NYI - `proxy_get_log_level`"),
                "{err}"
            );
            assert_eq!(err.client_status(), Some(500));
            let w = plugin.clone().log_level(LogLevel::Debug).start().unwrap();
            w.request().path("/x").send().unwrap();
            assert!(w.log_text().contains("probe request /x"));
        } else {
            let r = w.request().path("/loglevel").send().unwrap();
            assert_eq!(r.upstream_header("x-probe-log-level"), Some("Debug"));
        }
        let w = plugin.clone().log_level(LogLevel::Debug).start().unwrap();
        w.request().path("/loglevel-not").send().unwrap();
        assert!(w
            .logs()
            .iter()
            .any(|l| l.level == LogLevel::Info && l.message == "probe request /loglevel-not"));

        // Below the proxy's level, lines are dropped, as a proxy does.
        let quiet = plugin.log_level(LogLevel::Warn).start().unwrap();
        quiet.request().send().unwrap();
        assert!(!quiet.log_text().contains("probe request"));
    }
}

#[test]
fn metrics_are_defined_incremented_and_read_back() {
    for profile in Profile::ALL {
        let (host, plugin) = probe(profile);
        let w = plugin.start().unwrap();
        w.request().send().unwrap();
        let r = w.request().path("/metric").send().unwrap();
        // The plugin reads its own counter with get_metric: 2 requests so far.
        assert_eq!(r.upstream_header("x-probe-metric"), Some("2"));
        assert_eq!(w.metric("probe.requests"), Some(2));
        assert_eq!(host.metrics().get("probe.ticks"), Some(&0));
    }
}
