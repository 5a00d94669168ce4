//! Host-call accounting: each count below is derived by hand from the probe's code, call by
//! call and byte by byte, so the tally is shown to be exact, not just plausible.

use proxy_wasm_test_host::{Chain, Host, HostCalls, Profile};
use std::collections::BTreeMap;

const PROBE: &str = "unitgate_probe_plugin";

fn calls(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// `len("true")` or `len("false")`: the probe echoes `end_of_stream` into headers.
fn bool_len(b: bool) -> u64 {
    b.to_string().len() as u64
}

/// What the probe does for any request with no body to a path with no special meaning:
/// - request headers: read `:path` (value), log `probe request <path>` (log), count the request
///   (increment_metric), set `x-probe-eos` (replace);
/// - response headers: read `:status` (value), set `x-probe-upstream-status` (replace), add
///   `x-probe-response-eos` (add);
/// - on_log: read property `response.code` (8 bytes back), write shared data
///   `probe.last_log_code` = "200".
fn plain_request(
    path: &str,
    request_eos: bool,
    response_eos: bool,
) -> (BTreeMap<String, u64>, u64, u64) {
    let names = calls(&[
        ("proxy_get_header_map_value", 2),
        ("proxy_log", 1),
        ("proxy_increment_metric", 1),
        ("proxy_replace_header_map_value", 2),
        ("proxy_add_header_map_value", 1),
        ("proxy_get_property", 1),
        ("proxy_set_shared_data", 1),
    ]);
    let path_len = path.len() as u64;
    let bytes_in = path_len + "200".len() as u64 + 8;
    let bytes_out = ":path".len() as u64
        + "probe request ".len() as u64
        + path_len
        + "x-probe-eos".len() as u64
        + bool_len(request_eos)
        + ":status".len() as u64
        + "x-probe-upstream-status".len() as u64
        + "200".len() as u64
        + "x-probe-response-eos".len() as u64
        + bool_len(response_eos)
        + "response\0code".len() as u64
        + "probe.last_log_code".len() as u64
        + "200".len() as u64;
    (names, bytes_in, bytes_out)
}

#[test]
fn a_request_is_counted_call_by_call_and_byte_by_byte() {
    for profile in Profile::ALL {
        let w = Host::new(profile).start(PROBE, "").unwrap();
        let r = w.request().path("/counted").send().unwrap();
        // Envoy: end_of_stream is true on headers of a body-less request; nginx: always false.
        let eos = !profile.is_ngx();
        let (names, bytes_in, bytes_out) = plain_request("/counted", eos, eos);
        let got = r.host_calls();
        assert_eq!(got.by_name(), &names, "{profile}");
        assert_eq!(got.total(), 9, "{profile}");
        assert_eq!(got.count("proxy_get_header_map_value"), 2, "{profile}");
        assert_eq!(got.count("proxy_http_call"), 0, "{profile}");
        assert_eq!(
            (got.bytes_in, got.bytes_out),
            (bytes_in, bytes_out),
            "{profile}"
        );
        assert_eq!(r.host_calls_of(0), Some(&got));
        assert_eq!(r.host_calls_of(1), None);
    }
}

#[test]
fn body_bytes_are_counted_both_ways() {
    for profile in Profile::ALL {
        let w = Host::new(profile).start(PROBE, "").unwrap();
        let r = w
            .request()
            .method("POST")
            .path("/b")
            .body("hello")
            .send()
            .unwrap();
        assert_eq!(r.upstream().unwrap().body, b"HELLO");
        // Headers are no longer the end of the stream.
        let (mut names, mut bytes_in, mut bytes_out) =
            plain_request("/b", false, !profile.is_ngx());
        // The body callback: read the body (buffer bytes, 5 in), record its size (histogram),
        // set `x-probe-body-len: 5` (replace), write it back upper-cased (5 out).
        for name in [
            "proxy_get_buffer_bytes",
            "proxy_record_metric",
            "proxy_replace_header_map_value",
            "proxy_set_buffer_bytes",
        ] {
            *names.entry(name.to_string()).or_default() += 1;
        }
        bytes_in += 5;
        bytes_out += "x-probe-body-len".len() as u64 + 1 + 5;
        let got = r.host_calls();
        assert_eq!(got.by_name(), &names, "{profile}");
        assert_eq!(
            (got.bytes_in, got.bytes_out),
            (bytes_in, bytes_out),
            "{profile}"
        );
    }
}

#[test]
fn a_chain_counts_each_filter_and_the_sum() {
    let host = Host::new(Profile::Envoy);
    let plugin = host.module(PROBE).unwrap();
    let (a, b) = (plugin.start().unwrap(), plugin.start().unwrap());
    let r = Chain::new(&[&a, &b])
        .unwrap()
        .request()
        .path("/c")
        .send()
        .unwrap();
    let (names, bytes_in, bytes_out) = plain_request("/c", true, true);
    for i in 0..2 {
        let one = r.host_calls_of(i).unwrap();
        assert_eq!(one.by_name(), &names, "filter {i}");
        assert_eq!(
            (one.bytes_in, one.bytes_out),
            (bytes_in, bytes_out),
            "filter {i}"
        );
    }
    let sum = r.host_calls();
    assert_eq!(sum.total(), 18);
    assert_eq!(sum.count("proxy_log"), 2);
    assert_eq!((sum.bytes_in, sum.bytes_out), (2 * bytes_in, 2 * bytes_out));
}

#[test]
fn an_http_call_and_its_answer_are_counted() {
    let host = Host::new(Profile::Envoy);
    host.script_http_call("svc", |_| {
        Some(proxy_wasm_test_host::CalloutResponse::new(200).body("pong"))
    });
    let w = host.start(PROBE, "upstream=svc").unwrap();
    let r = w.request().path("/callout").send().unwrap();
    assert_eq!(r.upstream_header("x-probe-callout-body"), Some("pong"));
    let got = r.host_calls();
    assert_eq!(got.count("proxy_http_call"), 1);
    // The answer: `:status` and `x-echo` read from the call's headers, the body read once.
    assert_eq!(got.count("proxy_get_buffer_bytes"), 1);
    assert_eq!(got.count("proxy_continue_stream"), 1);
}

#[test]
fn calls_outside_requests_are_kept_apart() {
    let w = Host::new(Profile::Envoy).start(PROBE, "").unwrap();
    // Start: read the (empty) plugin configuration, log "probe vm start" and
    // "probe configured: ", define four metrics.
    let start = w.take_host_calls();
    let expected = calls(&[
        ("proxy_get_buffer_bytes", 1),
        ("proxy_log", 2),
        ("proxy_define_metric", 4),
    ]);
    assert_eq!(start.by_name(), &expected);
    let names = "probe.requests probe.ticks probe.queue_items probe.sizes";
    let metric_bytes = names.replace(' ', "").len() as u64;
    let log_bytes = ("probe vm start".len() + "probe configured: ".len()) as u64;
    assert_eq!(
        (start.bytes_in, start.bytes_out),
        (0, log_bytes + metric_bytes)
    );

    // A request's calls belong to the request only.
    w.request().send().unwrap();
    assert_eq!(w.take_host_calls(), HostCalls::default());

    // A reconfigure reads its configuration (now 9 bytes in) and defines the metrics again.
    w.reconfigure("tick_ms=5").unwrap();
    let again = w.take_host_calls();
    assert_eq!(again.count("proxy_get_buffer_bytes"), 1);
    assert_eq!(again.count("proxy_define_metric"), 4);
    assert_eq!(again.count("proxy_set_tick_period_milliseconds"), 1);
    assert_eq!(again.bytes_in, "tick_ms=5".len() as u64);
}

#[test]
fn a_request_that_traps_is_counted_nowhere() {
    let w = Host::new(Profile::Envoy).start(PROBE, "").unwrap();
    w.take_host_calls();
    w.request().path("/panic").send().unwrap_err();
    // The request's calls (read `:path`, log it, count it) died with it.
    assert_eq!(w.take_host_calls(), HostCalls::default());
}

#[test]
fn instructions_are_counted_per_callback_and_repeat_exactly() {
    let w = Host::new(Profile::Envoy).start(PROBE, "").unwrap();
    let start = w.take_host_calls();
    assert!(start.instructions_by_hook()["proxy_on_configure"] > 0);
    w.request().path("/a").send().unwrap();
    // The same request again: the same instructions in every callback (the machine's load
    // does not enter into it).
    let second = w.request().path("/a").send().unwrap().host_calls();
    let third = w.request().path("/a").send().unwrap().host_calls();
    assert_eq!(second.instructions_by_hook(), third.instructions_by_hook());
    let hooks = second.instructions_by_hook();
    for hook in [
        "proxy_on_context_create",
        "proxy_on_request_headers",
        "proxy_on_response_headers",
        "proxy_on_log",
    ] {
        assert!(hooks.get(hook).is_some_and(|n| *n > 0), "{hook}: {hooks:?}");
    }
    assert_eq!(second.instructions(), hooks.values().sum::<u64>());
    // A longer path is more bytes to log and copy: more instructions in the request callback.
    let longer = w
        .request()
        .path(&"/a".repeat(200))
        .send()
        .unwrap()
        .host_calls();
    assert!(
        longer.instructions_by_hook()["proxy_on_request_headers"]
            > hooks["proxy_on_request_headers"]
    );
}
