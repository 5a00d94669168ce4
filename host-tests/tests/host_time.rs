//! Virtual time: the clock only moves when the test advances it; ticks fire at their due times
//! on every worker (probe plugin).

use proxy_wasm_test_host::{CalloutResponse, Host, Profile};

const PROBE: &str = "unitgate_probe_plugin";

#[test]
fn plugin_time_is_the_virtual_clock() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let w = host.start(PROBE, "").unwrap();
        let before = host.now_ms();
        let r = w.request().path("/time").send().unwrap();
        // proxy_get_current_time_nanoseconds and WASI clock_time_get both read it.
        assert_eq!(
            r.upstream_header("x-probe-now-ms"),
            Some(before.to_string().as_str())
        );
        assert_eq!(
            r.upstream_header("x-probe-wasi-ms"),
            Some(before.to_string().as_str())
        );
        host.advance(1_500).unwrap();
        let r = w.request().path("/time").send().unwrap();
        let after = (before + 1_500).to_string();
        assert_eq!(r.upstream_header("x-probe-now-ms"), Some(after.as_str()));
        assert_eq!(r.upstream_header("x-probe-wasi-ms"), Some(after.as_str()));
    }
}

#[test]
fn ticks_fire_at_their_period_on_every_worker() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let workers = host
            .module(PROBE)
            .unwrap()
            .config("tick_ms=100")
            .start_workers(2)
            .unwrap();
        assert_eq!(workers[0].tick_period_ms(), 100);
        let start = host.now_ms();
        host.advance(99).unwrap();
        assert_eq!(
            host.metric("probe.ticks"),
            Some(0),
            "{profile}: not due yet"
        );
        host.advance(1).unwrap();
        assert_eq!(
            host.metric("probe.ticks"),
            Some(2),
            "{profile}: one tick per worker"
        );
        host.advance(1_000).unwrap();
        assert_eq!(host.metric("probe.ticks"), Some(22));
        // on_tick saw the virtual time of its due moment.
        let last = String::from_utf8(host.shared_data("probe.last_tick_ms").unwrap()).unwrap();
        assert_eq!(last, (start + 1_100).to_string());
    }
}

#[test]
fn a_tick_can_dispatch_a_callout_from_the_root_context() {
    let host = Host::new(Profile::Envoy);
    host.script_http_call("config_service", |req| {
        Some(CalloutResponse::new(200).body(format!("answer for {}", req.path())))
    });
    // Keep the handle: a dropped worker is gone (no more ticks).
    let _worker = host
        .module(PROBE)
        .unwrap()
        .config("tick_ms=1000;upstream=config_service")
        .start()
        .unwrap();
    assert_eq!(host.shared_data("probe.tick_callout"), None);
    host.advance(1_000).unwrap();
    assert_eq!(
        host.shared_data("probe.tick_callout"),
        Some(b"answer for /tick".to_vec())
    );
    assert_eq!(host.http_calls().len(), 1);
}
