//! The harness itself, on real Envoy without the wasm modules: generated bootstraps load,
//! `cluster_header` routing works, ports are distinct, a stopped backend gives 503 and a
//! restarted one serves again, and every Envoy process is gone after drop.

use unitgate_envoy::{policies, MultiCloud, Options, Request};

fn pid_alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[test]
fn envoy_pair_routes_by_cluster_header_and_stops_cleanly() {
    let mut options = Options::new("plain", policies::demo_policy());
    options.with_plugins = false;
    let mut mc = MultiCloud::start(options).unwrap();
    let uc = mc.ingress("ucloud").unwrap().envoy.listen_port;
    let jc = mc.ingress("jcloud").unwrap().envoy.listen_port;
    assert_ne!(uc, jc);

    // Without the plugins the client's header steers routing (the plugins strip it; see e2e).
    let r = mc
        .send(
            "ucloud",
            &Request::get("/x").header("x-unitgate-cluster", "uc_backend"),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.served_by().as_deref(), Some("uc"));
    assert_eq!(r.hops().as_deref(), Some("unitgate-ucloud"));

    // ucloud -> jcloud's ingress via the peer cluster; jcloud has no cluster of that name.
    // A read that gets a 5xx is retried once (the ingress's retry policy): two requests.
    let r = mc
        .send(
            "ucloud",
            &Request::get("/x").header("x-unitgate-cluster", "peer_jcloud"),
        )
        .unwrap();
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(
        mc.ingress("ucloud")
            .unwrap()
            .envoy
            .counter("cluster.peer_jcloud.upstream_rq_total")
            .unwrap(),
        2
    );

    // A stopped backend: connection refused -> 503; restarted on the same port -> 200.
    let to_jc = Request::post("/y", "{\"a\":1}").header("x-unitgate-cluster", "jc_backend");
    assert_eq!(mc.send("jcloud", &to_jc).unwrap().status, 200);
    mc.stop_backend("jc");
    let r = mc.send("jcloud", &to_jc).unwrap();
    assert_eq!(r.status, 503, "{}", r.body);
    mc.start_backend("jc").unwrap();
    let r = mc.send("jcloud", &to_jc).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json().unwrap()["body_bytes"], 7);

    let pids: Vec<i32> = mc.ingresses.iter().map(|i| i.envoy.pid()).collect();
    assert!(pids.iter().all(|p| pid_alive(*p)));
    drop(mc);
    assert!(pids.iter().all(|p| !pid_alive(*p)), "Envoy still running");
}
