//! Several plugins on one request, as an Envoy filter chain or an nginx `proxy_wasm` list.

use proxy_wasm_test_host::{Action, Chain, Host, HostError, Phase, Profile};

const PROBE: &str = "unitgate_probe_plugin";

/// Request callbacks run in chain order on both hosts; response callbacks run in reverse on
/// Envoy and in chain order on ngx_wasm_module (it resets the chain for the response steps).
#[test]
fn filters_run_in_order_and_responses_in_the_hosts_order() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let plugin = host.module(PROBE).unwrap();
        let (first, second) = (plugin.clone().start().unwrap(), plugin.start().unwrap());
        let chain = Chain::new(&[&first, &second]).unwrap();
        let r = chain.request().path("/props").send().unwrap();
        let order: Vec<(usize, Phase)> = r.actions().iter().map(|a| (a.filter, a.phase)).collect();
        let responses = match profile {
            Profile::Envoy => [1, 0],
            Profile::NgxWasmModule => [0, 1],
        };
        assert_eq!(
            order,
            [
                (0, Phase::RequestHeaders),
                (1, Phase::RequestHeaders),
                (responses[0], Phase::ResponseHeaders),
                (responses[1], Phase::ResponseHeaders),
            ],
            "{profile}"
        );
        // What the client got: the last filter to run wrote `x-probe-response-eos` last.
        let eos = r.response_header_all("x-probe-response-eos");
        assert_eq!(eos.len(), 2, "{profile}");
        // The second filter saw the first one's `wasmx.*` property: it is per request.
        assert_eq!(
            r.upstream_header("x-prop-wasmx-seen"),
            Some("yes"),
            "{profile}"
        );
        assert_eq!(host.metric("probe.requests"), Some(2));
    }
}

#[test]
fn a_local_reply_stops_the_chain() {
    let host = Host::new(Profile::Envoy);
    let plugin = host.module(PROBE).unwrap();
    let (first, second) = (plugin.clone().start().unwrap(), plugin.start().unwrap());
    let r = Chain::new(&[&first, &second])
        .unwrap()
        .request()
        .path("/reply")
        .send()
        .unwrap();
    assert_eq!(
        r.local_reply().map(|l| (l.status, l.filter)),
        Some((418, 0))
    );
    assert_eq!(
        r.action(1, Phase::RequestHeaders),
        None,
        "the second filter never saw it"
    );
    assert_eq!(r.action(0, Phase::ResponseHeaders), Some(Action::Continue));
}

#[test]
fn a_worker_twice_in_a_chain_is_a_usage_error() {
    let host = Host::new(Profile::Envoy);
    let w = host.start(PROBE, "").unwrap();
    assert!(matches!(Chain::new(&[&w, &w]), Err(HostError::Usage(_))));
}
