//! `make drill`: the load-and-fault drill against real Envoy (see `drill.rs`). Prints the
//! report as a Markdown table and exits non-zero when a target is missed.
//! `UNITGATE_DRILL_SECONDS` sets the length (default 60; jc is down from 1/3 to 1/2 of it).

use std::time::Duration;
use unitgate_envoy::drill::{self, DrillSettings};

fn main() -> anyhow::Result<()> {
    if let Err(e) = ctrlc::set_handler(|| {
        unitgate_envoy::process::stop_all();
        std::process::exit(130);
    }) {
        eprintln!("warning: no Ctrl-C handler: {e}");
    }
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
        "drill: {} s of wrk reads (c={}) on jcloud, a policy swap every {} ms (every {}th invalid), jc down from {} s for {} s",
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
    let misses = report.misses(0.10);
    if misses.is_empty() {
        println!("drill: every target met");
        Ok(())
    } else {
        anyhow::bail!("drill: targets missed: {}", misses.join("; "))
    }
}
