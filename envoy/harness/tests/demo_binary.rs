//! The demo binary itself: Ctrl-C and a closed output pipe (`make demo | head`) stop every Envoy
//! it started, and a missing Envoy is a clear error (never a silent skip).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DEMO: &str = env!("CARGO_BIN_EXE_unitgate-demo");

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "))
}

/// Reads the demo's output up to step 1 and returns the Envoy pids of its topology table.
fn envoy_pids(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> Vec<i32> {
    // The topology table lists each Envoy's pid in its last column; step 1 follows it.
    let mut pids = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("== 1.") {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() == 6 && (cells[0] == "ucloud" || cells[0] == "jcloud") {
            pids.push(cells[5].parse::<i32>().unwrap());
        }
    }
    assert_eq!(pids.len(), 2, "no topology table");
    assert!(pids.iter().all(|p| alive(*p)));
    pids
}

fn assert_all_stopped(pids: &[i32]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|p| alive(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        pids.iter().all(|p| !alive(*p)),
        "Envoy left running: {pids:?}"
    );
}

#[test]
fn ctrl_c_stops_every_envoy() {
    let mut demo = Command::new(DEMO)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let demo_pid = demo.id() as i32;
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let pids = envoy_pids(&mut lines);
    // SAFETY: signals the demo process we spawned, by its pid.
    unsafe {
        libc::kill(demo_pid, libc::SIGINT);
    }
    // Keep draining stdout so the demo never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let status = demo.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_all_stopped(&pids);
}

#[test]
fn closed_output_pipe_stops_every_envoy() {
    let mut demo = Command::new(DEMO)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let pids = envoy_pids(&mut lines);
    // Like `| head`: the reader goes away while the demo still has output to write.
    drop(lines);
    let out = demo.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(141),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_all_stopped(&pids);
}

#[test]
fn missing_envoy_is_a_clear_error() {
    let out = Command::new(DEMO)
        .env("UNITGATE_ENVOY", "/nonexistent/envoy")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("make venv"), "{stderr}");
}
