//! `unitgate-apollo-fixture`: run the Apollo stand-in by hand, for demos and manual tests.

use std::collections::BTreeMap;
use std::time::Duration;
use unitgate_apollo_fixture::{Fixture, Options};

const USAGE: &str = "usage: unitgate-apollo-fixture [--listen 127.0.0.1:8080] [--hold-secs 60] \
[--token TOKEN] [--access-key APPID=SECRET]...
A stand-in for Apollo's config service and Open API on loopback (not Apollo itself).
example: unitgate-apollo-fixture --listen 127.0.0.1:8080 --token t0k3n --hold-secs 30";

fn main() {
    if let Err(e) = run() {
        eprintln!("unitgate-apollo-fixture: {e}\n{USAGE}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut listen = "127.0.0.1:8080".to_string();
    let mut options = Options::default();
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => listen = value()?,
            "--hold-secs" => {
                let s: u64 = value()?.parse().map_err(|_| "--hold-secs takes seconds")?;
                options.hold = Duration::from_secs(s);
            }
            "--token" => options.open_api_token = Some(value()?),
            "--access-key" => {
                let v = value()?;
                let (app, secret) = v.split_once('=').ok_or("--access-key takes APPID=SECRET")?;
                keys.entry(app.into()).or_default().push(secret.into());
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    options.access_keys = keys;
    let addr = listen
        .parse()
        .map_err(|_| format!("bad --listen address {listen}"))?;
    if !matches!(addr, std::net::SocketAddr::V4(a) if a.ip().is_loopback()) {
        return Err("the fixture listens on loopback only".into());
    }
    let fixture =
        Fixture::start_on(addr, options).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    println!("Apollo stand-in listening on {}", fixture.url());
    loop {
        std::thread::park();
    }
}
