//! `make drill`: the load-and-fault drill against real Envoy (see `drill.rs`), then its Apollo
//! phase (see `drill_apollo.rs`). Prints each report as a Markdown table and exits non-zero
//! when a target is missed. `UNITGATE_DRILL_SECONDS` sets the length of each phase (default
//! 60; jc is down from 1/3 to 1/2 of the first).

use std::time::Duration;
use unitgate_envoy::drill::{self, DrillSettings};
use unitgate_envoy::drill_apollo;

fn main() {
    unitgate_envoy::process::main_stopping_children("every process the drill started stopped", run)
}

fn run() -> anyhow::Result<()> {
    let mut settings = DrillSettings::full();
    if let Some(secs) = std::env::var("UNITGATE_DRILL_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        settings.duration = Duration::from_secs(secs.max(6));
        settings.kill_at = settings.duration / 3;
        settings.down_for = settings.duration / 6;
    }
    println!(
        "drill: {} s of wrk reads (c={}) on jcloud, a policy swap every {} ms through ECDS (every {}th invalid), jc down from {} s for {} s",
        settings.duration.as_secs(),
        settings.connections,
        settings.swap_every.as_millis(),
        settings.invalid_every,
        settings.kill_at.as_secs(),
        settings.down_for.as_secs()
    );
    let report = drill::run(&settings);
    unitgate_envoy::process::stop_all();
    let report = report?;
    print!("{}", report.table());
    let mut misses = report.misses(0.10);

    println!(
        "\ndrill, Apollo phase: {} s of wrk reads (c={}) on an ingress following the Apollo stand-in, a release every {} ms ({} invalid in a row of every {})",
        settings.duration.as_secs(),
        settings.connections,
        settings.swap_every.as_millis(),
        drill_apollo::INVALID_RUN,
        drill_apollo::CYCLE,
    );
    let apollo = drill_apollo::run(&settings);
    unitgate_envoy::process::stop_all();
    let apollo = apollo?;
    print!("{}", apollo.table());
    misses.extend(
        apollo
            .misses(0.10)
            .into_iter()
            .map(|m| format!("Apollo: {m}")),
    );
    if misses.is_empty() {
        println!("drill: every target met");
        Ok(())
    } else {
        anyhow::bail!("drill: targets missed: {}", misses.join("; "))
    }
}
