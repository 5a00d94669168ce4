//! `make demo-mixed`: the Dada case. Cloud "ucloud" runs Envoy, cloud "jcloud" runs nginx with
//! ngx_wasm_module; both load the same `unitgate.wasm` with the same policy. The narration
//! shows each request's entry ingress, the unit that served it and the hops it took, then a
//! gray rollout, and a write-forbidden window applied by `nginx -s reload` on the nginx side.
//! Every process is stopped at the end, on Ctrl-C, and on any panic (`make demo-mixed | head`).

use anyhow::Result;
use std::time::Duration;
use unitgate_envoy::{clock, policies, process, table, Reply, Request};
use unitgate_nginx::{locate, Clouds, Options, Proxy, ProxyKind};

const UC: &str = "ucloud";
const JC: &str = "jcloud";

fn main() {
    process::main_stopping_children("Envoy, nginx and every backend stopped", run)
}

fn step(title: &str) {
    println!("\n== {title} ==");
}

/// One narrated row: entry cloud, request, served by, hops, the final ingress's explain.
fn row(clouds: &Clouds, cloud: &str, what: &str, req: &Request) -> Result<Vec<String>> {
    let r: Reply = clouds.send(cloud, req)?;
    Ok(vec![
        cloud.to_string(),
        what.to_string(),
        r.served_by()
            .unwrap_or_else(|| format!("(proxy {})", r.status)),
        r.hops().unwrap_or_else(|| "-".into()),
        r.header("x-unitgate-explain").unwrap_or("-").to_string(),
    ])
}

const HEADER: [&str; 5] = [
    "enters at",
    "request",
    "served by",
    "hops",
    "explain (last ingress)",
];

fn run() -> Result<()> {
    println!(
        "unitgate mixed demo: ucloud behind Envoy, jcloud behind nginx + ngx_wasm_module ({}),\nboth running {}",
        locate::ngx_wasm_module()?.display(),
        locate::unitgate_wasm()?.display()
    );
    let mut options = Options::new("demo-mixed", policies::demo_policy())
        .with_proxy(UC, ProxyKind::Envoy)
        .with_proxy(JC, ProxyKind::Nginx);
    options.request_timeout = Duration::from_secs(3);
    options.keep_dir = true;
    let mut clouds = Clouds::start(options)?;
    let rows: Vec<Vec<String>> = clouds
        .ingresses
        .iter()
        .map(|i| {
            let (proxy, pid) = match &i.proxy {
                Proxy::Envoy(e) => ("Envoy", e.pid()),
                Proxy::Nginx(n) => ("nginx", n.pid()),
            };
            vec![
                i.cloud.clone(),
                i.local_unit.clone(),
                proxy.to_string(),
                format!("127.0.0.1:{}", i.proxy.listen_port()),
                pid.to_string(),
            ]
        })
        .collect();
    table::print(
        &["cloud", "local unit", "proxy", "listens on", "pid"],
        &rows,
    );
    println!("configs and logs: {}", clouds.dir.display());

    step("routing by city (1~299 -> uc, 300~999 -> jc), forwarded across proxies at most once");
    let mut rows = Vec::new();
    for (cloud, city) in [(UC, "7"), (UC, "720"), (JC, "720"), (JC, "7")] {
        let req = Request::get("/api/orders/1").city(city);
        rows.push(row(
            &clouds,
            cloud,
            &format!("GET /api/orders/1 city {city}"),
            &req,
        )?);
    }
    let body = Request::post("/api/orders", r#"{"city_id":450}"#);
    rows.push(row(&clouds, JC, "POST /api/orders {city_id:450}", &body)?);
    rows.push(row(&clouds, UC, "POST /api/orders {city_id:450}", &body)?);
    rows.push(row(
        &clouds,
        JC,
        "GET /api/config (global)",
        &Request::get("/api/config"),
    )?);
    table::print(&HEADER, &rows);

    step("a forged cluster header and stamp from the client change nothing");
    let forged = Request::get("/api/orders/2")
        .city("7")
        .header("x-unitgate-cluster", "jc_backend")
        .header(
            "x-unitgate-ctx",
            "v1;3;jcloud;jc;orders;core;key_range;demo-1;0;AAAA",
        );
    let rows = vec![
        row(&clouds, JC, "city 7 + forged headers", &forged)?,
        row(&clouds, UC, "city 7 + forged headers", &forged)?,
    ];
    table::print(&HEADER, &rows);

    step("write-forbidden window on jc, reloaded into nginx (nginx -s reload) only");
    let until = clock::now_ms() / 1000 + 60;
    let window = policies::with_write_forbidden(clouds.policy(), "cutover", &["jc"], until);
    let outcome = clouds.reload_cloud(JC, window)?;
    println!("nginx reload: {outcome:?}");
    let write = Request::post("/api/orders", "{}").city("720");
    let rows = vec![
        row(&clouds, JC, "POST city 720 (jc, in the window)", &write)?,
        row(
            &clouds,
            JC,
            "GET city 720",
            &Request::get("/api/orders").city("720"),
        )?,
        row(&clouds, UC, "POST city 720 via Envoy (old policy)", &write)?,
    ];
    table::print(&HEADER, &rows);
    println!(
        "Envoy still runs the old policy: only the jcloud ingress was reloaded. In production\n\
         both clouds get the same policy; `make demo` shows live policy swaps through ECDS."
    );
    Ok(())
}
