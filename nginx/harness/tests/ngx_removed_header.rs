//! What real nginx 1.22 + ngx_wasm_module forwards when a plugin removes a request header, with
//! and without a `proxy_set_header <name> "";` line for it. unitgate.wasm configured WITHOUT
//! `nginx_variable` (so it does not know it runs on nginx) removes every internal header a client
//! sent, here `x-unitgate-forged`; a raw backend records the request head nginx sent. (The probe
//! plugin cannot load in ngx_wasm_module: its SDK imports `proxy_get_log_level` with another
//! signature.) The module and the emulated ngx profile (host-tests) rely on these answers.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use unitgate_envoy::plugin_config::{plugin_config, PluginSettings};
use unitgate_envoy::process::ManagedProcess;
use unitgate_envoy::{ports, Client, Request};
use unitgate_nginx::conf::quote;
use unitgate_nginx::{locate, scenario};

/// A backend that answers 200 with the request head it received as the body.
fn raw_backend() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            std::thread::spawn(move || answer(stream));
        }
    });
    port
}

fn answer(mut stream: TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let reply = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        head.len()
    );
    let _ = stream.write_all(reply.as_bytes());
    let _ = stream.write_all(&head);
}

/// Lower-cased `name: value` lines of a request head.
fn header_values(head: &str, name: &str) -> Vec<String> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
        .collect()
}

struct Case {
    port: u16,
    plugin: bool,
    override_rm: bool,
}

fn server(case: &Case, backend: u16, config: &str) -> String {
    let plugin = if case.plugin {
        format!("proxy_wasm unitgate {};", quote(config).unwrap())
    } else {
        String::new()
    };
    let set = if case.override_rm {
        "proxy_set_header x-unitgate-forged \"\";"
    } else {
        ""
    };
    format!(
        "    server {{ listen 127.0.0.1:{port}; location / {{ {plugin} {set} proxy_pass http://127.0.0.1:{backend}; }} }}\n",
        port = case.port
    )
}

#[test]
fn a_removed_header_is_forwarded_and_escapes_proxy_set_header() {
    let backend = raw_backend();
    let ports = ports::free_ports(3).unwrap();
    let cases = [
        // The module removes x-unitgate-forged; no conf line for it.
        Case {
            port: ports[0],
            plugin: true,
            override_rm: false,
        },
        // The module removes x-unitgate-forged; the conf overrides it with an empty value.
        Case {
            port: ports[1],
            plugin: true,
            override_rm: true,
        },
        // No module: the conf's empty override alone.
        Case {
            port: ports[2],
            plugin: false,
            override_rm: true,
        },
    ];
    // Fail open, so whatever the policy decides the request reaches the backend.
    let policy = scenario::load("parity").unwrap().policy;
    let unit = policy["units"][0]["name"].as_str().unwrap().to_string();
    let settings = PluginSettings {
        secret: scenario::load("parity").unwrap().secret,
        fail_mode: "open".to_string(),
        ..PluginSettings::default()
    };
    let config = plugin_config(&policy, &unit, &BTreeMap::new(), &settings);
    let dir = locate::scratch_dir("removed-header").unwrap();
    let tmp = dir.join("tmp").display().to_string();
    let servers: String = cases.iter().map(|c| server(c, backend, &config)).collect();
    let conf = format!(
        "load_module {module};\ndaemon off;\nmaster_process on;\nworker_processes 1;\npid {dir}/nginx.pid;\n\
         error_log {dir}/error.log info;\nevents {{ worker_connections 64; }}\n\
         wasm {{ module unitgate {wasm}; shm_kv * 1m; }}\n\
         http {{ access_log off; client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;\n\
         fastcgi_temp_path {tmp}/fastcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;\n{servers}}}\n",
        module = locate::ngx_wasm_module().unwrap().display(),
        wasm = locate::unitgate_wasm().unwrap().display(),
        dir = dir.display(),
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let mut cmd = Command::new(locate::nginx_binary().unwrap());
    cmd.arg("-p").arg(&dir).arg("-c").arg(&conf_path);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut nginx = ManagedProcess::spawn(cmd).unwrap();

    let client = Client::new();
    let req = Request::get("/api/orders/1").header("x-unitgate-forged", "client");
    let mut heads = Vec::new();
    for case in &cases {
        let deadline = Instant::now() + Duration::from_secs(60);
        let reply = loop {
            match client.send(case.port, &req) {
                Ok(r) if r.status == 200 => break r,
                other if Instant::now() > deadline => panic!("port {}: {other:?}", case.port),
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        heads.push(reply.body);
    }
    nginx.stop();

    // The plugin's removal: forwarded anyway (nginx 1.22's proxy module skips no deleted entry).
    assert_eq!(
        header_values(&heads[0], "x-unitgate-forged"),
        ["client"],
        "{}",
        heads[0]
    );
    // A removed header also escapes `proxy_set_header x-unitgate-forged ""`: the removal zeroed the hash the
    // proxy module looks the name up by.
    assert_eq!(
        header_values(&heads[1], "x-unitgate-forged"),
        ["client"],
        "{}",
        heads[1]
    );
    // Left untouched, the client's copy is dropped by `proxy_set_header x-unitgate-forged ""`.
    assert!(
        header_values(&heads[2], "x-unitgate-forged").is_empty(),
        "{}",
        heads[2]
    );
}
