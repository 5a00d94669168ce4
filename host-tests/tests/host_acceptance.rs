//! The acceptance suite: small plugins of our own (host-tests/acceptance/), written as an outside
//! author writes them with the proxy-wasm SDK, each driving one host feature end to end under
//! both profiles. Where a host cannot do something, the test asserts what that host does instead.

use proxy_wasm_test_host::{
    CalloutResponse, GrpcReply, GrpcStreamEvent, Host, HostError, Profile, UpstreamResponse, Worker,
};

fn start(host: &Host, module: &str, config: &str) -> Worker {
    host.module(module).unwrap().config(config).start().unwrap()
}

#[test]
fn an_http_callout_grants_or_denies() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        // Envoy calls a cluster; nginx a bare host name, which it sends to port 80.
        let (upstream, scripted) = match profile {
            Profile::Envoy => ("auth", "auth"),
            Profile::NgxWasmModule => ("auth.internal", "auth.internal:80"),
        };
        host.script_http_call(scripted, |req| {
            let status = if req.header("x-user") == Some("alice") {
                200
            } else {
                403
            };
            Some(CalloutResponse::new(status))
        });
        let w = start(&host, "acceptance_http_auth", upstream);

        let r = w.request().header("x-user", "alice").send().unwrap();
        assert_eq!(r.upstream_header("x-auth"), Some("granted"), "{profile}");
        assert_eq!(r.status(), Some(200));

        let r = w.request().header("x-user", "bob").send().unwrap();
        assert!(
            r.upstream().is_none(),
            "{profile}: a denied request stays at the proxy"
        );
        assert_eq!(r.status(), Some(403));
        assert_eq!(r.response_header("x-auth"), Some("denied"));

        let calls = host.http_calls();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].upstream, upstream);
        assert_eq!(calls[1].header("x-user"), Some("bob"));
        assert_eq!(calls[1].path(), "/check");
    }
}

#[test]
fn a_grpc_callout_decides_under_envoy_and_traps_under_nginx() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        host.script_grpc_call("authz", |call| {
            if call.message == b"/ok" {
                GrpcReply::ok("fine")
            } else {
                GrpcReply::error(7, "not yours")
            }
        });
        let w = start(&host, "acceptance_grpc_call", "authz");
        let r = w.request().path("/ok").send();
        if profile == Profile::NgxWasmModule {
            // ngx_wasm_module links proxy_grpc_call to its NYI stub: the filter traps, 500.
            let Err(err) = r else {
                panic!("nginx has no gRPC calls")
            };
            assert!(matches!(err, HostError::Trap { .. }), "{err:?}");
            assert_eq!(err.client_status(), Some(500));
            continue;
        }
        let r = r.unwrap();
        assert_eq!(r.upstream_header("x-grpc-reply"), Some("fine"));

        let r = w.request().path("/no").send().unwrap();
        assert_eq!(r.status(), Some(403));
        assert_eq!(r.response_header("x-grpc-status"), Some("7"));
        assert_eq!(r.response_text(), "not yours");

        let calls = host.grpc_calls();
        assert_eq!(calls.len(), 2);
        assert_eq!(
            (calls[0].service.as_str(), calls[0].method.as_str()),
            ("authz.Authz", "Check")
        );
        assert_eq!(
            calls[0].initial_metadata,
            [("x-caller".to_string(), "acceptance".to_string())]
        );
        assert_eq!(calls[0].timeout_ms, 500);

        // A stream: the server answers the one message with metadata, two messages, a close.
        host.script_grpc_stream("chat", |stream, end_stream| {
            assert!(end_stream, "the plugin sends one message and ends its side");
            let said = String::from_utf8_lossy(&stream.message).into_owned();
            vec![
                GrpcStreamEvent::InitialMetadata(vec![("x-server".into(), "chat-1".into())]),
                GrpcStreamEvent::Message(format!("heard {said}").into_bytes()),
                GrpcStreamEvent::Message(b"bye".to_vec()),
                GrpcStreamEvent::Close(0, String::new()),
            ]
        });
        let w = start(&host, "acceptance_grpc_call", "authz chat");
        let r = w.request().path("/stream").send().unwrap();
        let heard = "server=chat-1,heard /stream,bye,status=0";
        assert_eq!(r.upstream_header("x-grpc-stream"), Some(heard));
        let opened = host.grpc_calls().pop().unwrap();
        assert_eq!(
            (opened.service.as_str(), opened.method.as_str()),
            ("chat.Chat", "Talk")
        );

        // A cluster Envoy does not know: the dispatch itself fails (ParseFailure in Envoy 1.40).
        let w = start(&host, "acceptance_grpc_call", "missing");
        let r = w.request().send().unwrap();
        assert_eq!(r.status(), Some(503));
        assert_eq!(r.response_text(), "grpc unavailable");
    }
}

#[test]
fn a_body_rewrite_sees_the_whole_chunked_response() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let w = start(&host, "acceptance_body_rewrite", "");
        let upstream = UpstreamResponse::new(200)
            .header("content-length", "21")
            .body_chunks(["a ca", "t and anoth", "er cat"]);
        let r = w.request().response(upstream).send().unwrap();
        assert_eq!(r.response_text(), "a dog and another dog", "{profile}");
        assert_eq!(r.response_header("content-length"), None);
        // Envoy calls back on every chunk, the paused ones buffered; nginx buffers after the
        // first Pause and calls back once more with the whole body.
        let callbacks = match profile {
            Profile::Envoy => 3,
            Profile::NgxWasmModule => 2,
        };
        let expected = format!("rewrote 21 bytes after {callbacks} body callbacks");
        assert!(
            r.log_text().contains(&expected),
            "{profile}: {}",
            r.log_text()
        );
        // The log of this request only: the next one has none of it.
        let r = w.request().send().unwrap();
        assert!(!r.log_text().contains("rewrote 21"), "{}", r.log_text());
    }
}

#[test]
fn a_filter_reads_per_request_metadata() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let path: &[&str] = match profile {
            Profile::Envoy => &["metadata", "filter_metadata", "acme", "tenant"],
            Profile::NgxWasmModule => &["ngx", "tenant"],
        };
        let w = start(&host, "acceptance_metadata", &path.join("."));
        let r = w.request().property(path, "blue").send().unwrap();
        assert_eq!(r.upstream_header("x-tenant"), Some("blue"), "{profile}");
        let r = w.request().property(path, "green").send().unwrap();
        assert_eq!(r.upstream_header("x-tenant"), Some("green"));
        let r = w.request().send().unwrap();
        assert_eq!(r.upstream_header("x-tenant"), Some("none"));
    }
    // nginx has no dynamic metadata to seed.
    let host = Host::new(Profile::NgxWasmModule);
    let w = start(
        &host,
        "acceptance_metadata",
        "metadata.filter_metadata.acme.tenant",
    );
    let err = w
        .request()
        .property(&["metadata", "filter_metadata", "acme", "tenant"], "blue")
        .send()
        .err()
        .unwrap();
    assert!(matches!(err, HostError::Usage(_)), "{err:?}");
}

#[test]
fn ticks_follow_the_configuration_and_a_reload() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let w = start(&host, "acceptance_ticker", "blue 100");
        assert_eq!(w.tick_period_ms(), 100);
        host.advance(350).unwrap();
        let r = w.request().send().unwrap();
        assert_eq!(r.response_header("x-label"), Some("blue"), "{profile}");
        assert_eq!(r.response_header("x-ticks"), Some("3"));

        match profile {
            // Envoy (ECDS): on_configure again in the same VM; the count goes on.
            Profile::Envoy => {
                w.reconfigure("green 50").unwrap();
                assert_eq!(w.tick_period_ms(), 50);
                host.advance(100).unwrap();
                let r = w.request().send().unwrap();
                assert_eq!(r.response_header("x-label"), Some("green"));
                assert_eq!(r.response_header("x-ticks"), Some("5"));
            }
            // nginx reloads by starting new workers: a fresh VM counts from zero.
            Profile::NgxWasmModule => {
                let fresh = start(&host, "acceptance_ticker", "green 50");
                host.advance(100).unwrap();
                let r = fresh.request().send().unwrap();
                assert_eq!(r.response_header("x-label"), Some("green"));
                assert_eq!(r.response_header("x-ticks"), Some("2"));
                // The old worker ticks on with its own configuration.
                let r = w.request().send().unwrap();
                assert_eq!(r.response_header("x-ticks"), Some("4"));
            }
        }
        // A configuration the plugin rejects fails the start.
        let err = host
            .module("acceptance_ticker")
            .unwrap()
            .config("blue")
            .start()
            .err();
        assert!(matches!(err, Some(HostError::Rejected { .. })), "{err:?}");
    }
}

#[test]
fn metrics_count_requests() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let w = start(&host, "acceptance_metrics", "");
        for (i, body) in ["hello", "0123456789", ""].iter().enumerate() {
            let r = w.request().method("POST").body(body).send().unwrap();
            let seen = (i + 1).to_string();
            assert_eq!(
                r.upstream_header("x-requests"),
                Some(seen.as_str()),
                "{profile}"
            );
            assert_eq!(host.metric("acme.inflight"), Some(0));
        }
        assert_eq!(host.metric("acme.requests"), Some(3));
        assert_eq!(host.histogram("acme.body_bytes"), Some(vec![5, 10, 0]));
    }
}

#[test]
fn local_replies_carry_the_headers_each_proxy_adds() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let w = start(&host, "acceptance_local_reply", "");
        let ngx = profile == Profile::NgxWasmModule;

        let r = w.request().path("/deny").send().unwrap();
        assert_eq!(r.status(), Some(403), "{profile}");
        assert_eq!(r.response_header("x-reason"), Some("policy"));
        assert_eq!(r.response_header("content-type"), Some("text/plain"));
        // nginx appends a line feed to the body.
        let (len, body) = if ngx {
            ("17", "denied by policy\n")
        } else {
            ("16", "denied by policy")
        };
        assert_eq!(r.response_header("content-length"), Some(len));
        assert_eq!(r.response_text(), body);
        assert_eq!(r.local_reply().unwrap().body_text(), "denied by policy");

        let r = w.request().path("/empty").send().unwrap();
        assert_eq!(r.status(), Some(204));
        assert_eq!(r.response_header("content-type"), None);
        let empty_len = if ngx { Some("0") } else { None };
        assert_eq!(r.response_header("content-length"), empty_len);

        // A gRPC client: Envoy answers in gRPC (status 200, grpc-status, grpc-message, no body);
        // nginx ignores grpc_status and sends the body.
        let grpc = |path: &str| {
            let req = w
                .request()
                .path(path)
                .header("content-type", "application/grpc");
            req.send().unwrap()
        };
        let r = grpc("/grpc-deny");
        assert_eq!(r.status(), Some(200));
        assert_eq!(r.local_reply().unwrap().grpc_status, 7);
        if ngx {
            assert_eq!(r.response_header("grpc-status"), None);
            assert_eq!(r.response_text(), "not yours\n");
        } else {
            assert_eq!(r.response_header("content-type"), Some("application/grpc"));
            assert_eq!(r.response_header("grpc-status"), Some("7"));
            assert_eq!(r.response_header("grpc-message"), Some("not yours"));
            assert_eq!(r.response_text(), "");
            // An http reply to a gRPC client: Envoy maps 403 to PERMISSION_DENIED.
            let r = grpc("/deny");
            assert_eq!(
                (r.status(), r.response_header("grpc-status")),
                (Some(200), Some("7"))
            );
        }
    }
}
