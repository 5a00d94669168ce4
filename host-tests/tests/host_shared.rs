//! State shared by the workers of one host: shared data with CAS, shared queues, metrics
//! (probe plugin).

use proxy_wasm_test_host::{Host, Profile};

const PROBE: &str = "unitgate_probe_plugin";

#[test]
fn cas_conflict_between_two_workers() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let ws = host.module(PROBE).unwrap().start_workers(2).unwrap();
        let (a, b) = (&ws[0], &ws[1]);
        // Seeded: on a missing key the SDK's cas is 0, which writes unconditionally.
        host.set_shared_data("probe.counter", "0");
        // Both read the counter (and its CAS token) before either writes.
        a.request().path("/cas-read").send().unwrap();
        b.request().path("/cas-read").send().unwrap();
        let first = a.request().path("/cas-write").send().unwrap();
        let second = b.request().path("/cas-write").send().unwrap();
        assert_eq!(
            first.upstream_header("x-probe-cas"),
            Some("ok"),
            "{profile}"
        );
        assert_eq!(
            second.upstream_header("x-probe-cas"),
            Some("mismatch"),
            "{profile}"
        );
        assert_eq!(host.shared_data("probe.counter"), Some(b"1".to_vec()));

        // Reading again gives the new token, and the write succeeds.
        b.request().path("/cas-read").send().unwrap();
        let third = b.request().path("/cas-write").send().unwrap();
        assert_eq!(third.upstream_header("x-probe-cas"), Some("ok"));
        assert_eq!(host.shared_data("probe.counter"), Some(b"2".to_vec()));
    }
}

#[test]
fn cas_retry_loops_converge_and_tests_can_seed_shared_data() {
    let host = Host::new(Profile::Envoy);
    let ws = host.module(PROBE).unwrap().start_workers(3).unwrap();
    host.set_shared_data("probe.incr_log", "seed");
    for w in ws.iter().cycle().take(9) {
        let r = w.request().path("/cas-incr").send().unwrap();
        assert_eq!(r.upstream_header("x-probe-cas"), Some("appended retries=0"));
    }
    let log = String::from_utf8(host.shared_data("probe.incr_log").unwrap()).unwrap();
    assert_eq!(log, format!("seed{}", ",x".repeat(9)));
    let (_, cas) = host.shared_data_cas("probe.incr_log").unwrap();
    assert_ne!(cas, 0);
}

#[test]
fn shared_queue_enqueued_by_one_worker_is_delivered_to_the_registering_worker() {
    let host = Host::new(Profile::Envoy);
    let plugin = host.module(PROBE).unwrap();
    let owner = plugin.clone().config("queue=probe").start().unwrap();
    let other = plugin.start().unwrap();
    let r = other.request().path("/enqueue?n=1").send().unwrap();
    assert_eq!(r.upstream_header("x-probe-enqueue"), Some("ok"));
    other.request().path("/enqueue?n=2").send().unwrap();
    // on_queue_ready ran in the owner's root context, which dequeued both items.
    assert_eq!(
        host.shared_data("probe.queue_log"),
        Some(b"/enqueue?n=1,/enqueue?n=2".to_vec())
    );
    assert_eq!(owner.metric("probe.queue_items"), Some(2));
}

#[test]
fn metrics_are_shared_by_the_workers_of_a_host() {
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let ws = host.module(PROBE).unwrap().start_workers(2).unwrap();
        ws[0].request().send().unwrap();
        ws[1].request().send().unwrap();
        ws[1].request().send().unwrap();
        assert_eq!(host.metric("probe.requests"), Some(3));
        // Each worker's logs are its own.
        assert_eq!(ws[1].log_text().matches("probe request").count(), 2);
    }
}
