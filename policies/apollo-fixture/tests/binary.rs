//! The `unitgate-apollo-fixture` binary: serves on the address it prints, loopback only.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Kills the fixture (by its own handle) even when an assertion fails first.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serves_on_the_address_it_prints_and_refuses_other_addresses() {
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_unitgate-apollo-fixture"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--token",
                "t0k3n",
                "--hold-secs",
                "1",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    let stdout = child.0.stdout.take().unwrap();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .build()
        .into();
    let status = |path: &str, token: Option<&str>| {
        let mut req = agent.get(format!("{url}{path}"));
        if let Some(t) = token {
            req = req.header("Authorization", t);
        }
        req.call().unwrap().status().as_u16()
    };
    assert_eq!(status("/configs/app/default/unitgate.json", None), 404);
    let latest =
        "/openapi/v1/envs/DEV/apps/app/clusters/default/namespaces/unitgate.json/releases/latest";
    assert_eq!(status(latest, None), 401);
    assert_eq!(status(latest, Some("t0k3n")), 404);
    drop(child);

    let out = Command::new(env!("CARGO_BIN_EXE_unitgate-apollo-fixture"))
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback only"));
}
