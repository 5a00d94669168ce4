//! `unitgate-bench [run|report|smoke]`.
//! - `run` (default): the Envoy comparison, then docs/BENCHMARKS.md and its plot (with whatever
//!   criterion results are in the target directory; `make bench` runs criterion first);
//! - `report`: rewrite docs/BENCHMARKS.md from the last run's target/bench/results.json;
//! - `smoke`: a second per variant, every check, no files written.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use unitgate_bench::measure::{self, Results, Settings};
use unitgate_bench::{criterion, plot, report};
use unitgate_envoy::locate::workspace_root;

fn main() -> Result<()> {
    // Ctrl-C stops every Envoy this run started.
    ctrlc_stop();
    let mode = std::env::args().nth(1).unwrap_or_else(|| "run".into());
    match mode.as_str() {
        "run" => {
            let results = measure::run(&Settings::from_env()?)?;
            let path = results_path();
            std::fs::create_dir_all(path.parent().context("results path")?)?;
            std::fs::write(&path, serde_json::to_string_pretty(&results)?)?;
            write_docs(&results)
        }
        "report" => {
            let path = results_path();
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("{} (run `make bench` first)", path.display()))?;
            write_docs(&serde_json::from_str(&text)?)
        }
        "smoke" => {
            let results = measure::run(&Settings::smoke())?;
            println!("{}", report::render(&results, &criterion::dir()));
            Ok(())
        }
        other => bail!("unknown mode {other:?}: use run, report or smoke"),
    }
}

fn results_path() -> PathBuf {
    criterion::dir()
        .with_file_name("bench")
        .join("results.json")
}

fn write_docs(results: &Results) -> Result<()> {
    let docs = workspace_root().join("docs");
    std::fs::create_dir_all(&docs)?;
    plot::write(results, &docs.join(report::PLOT))?;
    let md = docs.join("BENCHMARKS.md");
    std::fs::write(&md, report::render(results, &criterion::dir()))?;
    eprintln!("bench: wrote {} and {}", md.display(), report::PLOT);
    Ok(())
}

fn ctrlc_stop() {
    let _ = ctrlc::set_handler(|| {
        unitgate_envoy::process::stop_all();
        std::process::exit(130);
    });
}
