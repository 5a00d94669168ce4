//! HTTP callouts: a real HTTP/1.1 request to a loopback server, scripted answers, failures, and
//! each profile's rule for naming the upstream (probe plugin).

use proxy_wasm_test_host::{CalloutResponse, Host, Profile};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

const PROBE: &str = "unitgate_probe_plugin";

/// A tiny HTTP/1.1 server on 127.0.0.1:<free port> answering `n` requests, echoing what it got.
fn loopback_server(n: usize) -> (String, thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..n {
            let (mut conn, _) = listener.accept().unwrap();
            let mut raw = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let got = conn.read(&mut buf).unwrap();
                raw.extend_from_slice(&buf[..got]);
                let text = String::from_utf8_lossy(&raw).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if raw.len() >= end + 4 + len || got == 0 {
                        break;
                    }
                }
            }
            let text = String::from_utf8_lossy(&raw).to_string();
            let first = text.lines().next().unwrap_or("").to_string();
            let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
            let reply = "hello from loopback";
            write!(
                conn,
                "HTTP/1.1 207 Multi\r\nx-echo: {first} {body}\r\ncontent-length: {}\r\n\r\n{reply}",
                reply.len()
            )
            .unwrap();
            seen.push(text);
        }
        seen
    });
    (addr, handle)
}

#[test]
fn real_loopback_callout_then_on_http_call_response_resumes_the_request() {
    for profile in Profile::ALL {
        let (addr, server) = loopback_server(1);
        let host = Host::new(profile);
        let upstream = match profile {
            Profile::Envoy => {
                host.cluster("echo_cluster", &addr);
                "echo_cluster".to_string()
            }
            Profile::NgxWasmModule => addr.clone(), // nginx names host:port
        };
        let w = host.start(PROBE, format!("upstream={upstream}")).unwrap();
        let r = w.request().path("/callout").send().unwrap();
        let up = r.upstream().expect("resumed after the callout");
        assert_eq!(
            up.header("x-probe-callout-status"),
            Some("207"),
            "{profile}"
        );
        assert_eq!(
            up.header("x-probe-callout-body"),
            Some("hello from loopback")
        );
        assert_eq!(
            up.header("x-probe-callout-echo"),
            Some("POST /hello HTTP/1.1 ping")
        );
        let seen = server.join().unwrap();
        assert!(seen[0].contains("x-probe-call: 1"), "{}", seen[0]);
        assert!(seen[0].to_ascii_lowercase().contains("host: probe.local"));
        let calls = host.http_calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].upstream, upstream);
        assert_eq!(calls[0].method(), "POST");
    }
}

#[test]
fn scripted_callouts_get_unique_tokens_across_requests() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let upstream = match profile {
            Profile::Envoy => "auth",
            Profile::NgxWasmModule => "auth.internal:8080",
        };
        host.script_http_call(upstream, |req| {
            Some(
                CalloutResponse::new(200)
                    .header("x-echo", req.path())
                    .body(format!("body of {}", String::from_utf8_lossy(&req.body))),
            )
        });
        let w = host.start(PROBE, format!("upstream={upstream}")).unwrap();
        let mut tokens = Vec::new();
        for _ in 0..3 {
            // The SDK panics on a reused token: three calls on one VM prove they are unique.
            let r = w.request().path("/callout").send().unwrap();
            assert_eq!(
                r.upstream_header("x-probe-callout-body"),
                Some("body of ping")
            );
            assert_eq!(r.upstream_header("x-probe-callout-echo"), Some("/hello"));
            tokens.push(r.upstream_header("x-probe-token").unwrap().to_string());
        }
        tokens.dedup();
        assert_eq!(tokens.len(), 3, "{profile}: {tokens:?}");
    }
}

#[test]
fn a_failed_callout_delivers_no_headers_and_no_body() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let upstream = match profile {
            Profile::Envoy => "flaky",
            Profile::NgxWasmModule => "flaky:80",
        };
        host.script_http_call(upstream, |_| None);
        let w = host.start(PROBE, format!("upstream={upstream}")).unwrap();
        let r = w.request().path("/callout").send().unwrap();
        assert_eq!(r.upstream_header("x-probe-callout-status"), Some("none"));
        assert_eq!(r.upstream_header("x-probe-callout-body"), Some(""));
    }
}

#[test]
fn a_loopback_callout_to_a_closed_port_fails_cleanly() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = Host::new(Profile::NgxWasmModule);
    let w = host
        .start(PROBE, format!("upstream=127.0.0.1:{port}"))
        .unwrap();
    let r = w.request().path("/callout").send().unwrap();
    assert_eq!(r.upstream_header("x-probe-callout-status"), Some("none"));
}

#[test]
fn upstream_naming_follows_the_profile() {
    // Envoy: an unknown cluster is BadArgument; the probe turns the error into a 502.
    let host = Host::new(Profile::Envoy);
    let w = host.start(PROBE, "upstream=nowhere").unwrap();
    let r = w.request().path("/callout").send().unwrap();
    let reply = r.local_reply().expect("502 from the probe");
    assert_eq!(
        (reply.status, reply.header("x-probe-error")),
        (502, Some("BadArgument"))
    );
    assert!(w.log_text().contains("unknown cluster `nowhere`"));
    assert!(host.http_calls().is_empty());

    // Envoy: a host:port is not a cluster either.
    let r = w
        .request()
        .path("/callout")
        .header("x-probe-upstream", "127.0.0.1:1")
        .send()
        .unwrap();
    assert_eq!(r.local_reply().map(|l| l.status), Some(502));

    // nginx: a bare name is a host on port 80 (ngx_wasm_socket_tcp_init `default_port`).
    let host = Host::new(Profile::NgxWasmModule);
    host.script_http_call("auth_cluster:80", |_| Some(CalloutResponse::new(204)));
    let w = host.start(PROBE, "upstream=auth_cluster").unwrap();
    let r = w.request().path("/callout").send().unwrap();
    assert_eq!(r.upstream_header("x-probe-callout-status"), Some("204"));
    assert_eq!(host.http_calls()[0].upstream, "auth_cluster");

    // nginx: a port that is not a number fails the dispatch -> InternalFailure.
    let w = host.start(PROBE, "upstream=auth:http").unwrap();
    let r = w.request().path("/callout").send().unwrap();
    let reply = r.local_reply().expect("502 from the probe");
    assert_eq!(reply.header("x-probe-error"), Some("InternalFailure"));
    assert!(w.log_text().contains("not host[:port]"));
}
