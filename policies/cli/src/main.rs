//! `unitgate`: the operator's command. It validates, compares, explains, exports and publishes
//! policies with the same core the proxy modules run, so what it says is what the proxy does.

mod apollo;
mod appactive;
mod cutover;
mod diff;
mod explain;
mod export;
mod ingress;
mod policy_file;
mod table;
mod traffic;
mod validate;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

/// Exit code of a command that ran and found a problem (invalid policy, failed check).
pub const EXIT_FOUND: u8 = 1;
/// Exit code of a command that could not run (bad arguments, unreadable file, HTTP error).
pub const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "unitgate",
    version,
    about = "Validate, diff, explain, export and publish unitgate policies."
)]
#[command(after_help = "Example:\n  unitgate validate policies/examples/dual-cloud-city.json")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Output format of the reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check policy files: every error and warning with its JSON pointer. Exit 1 on errors.
    #[command(after_help = "Example:\n  unitgate validate policies/examples/*.json --format json")]
    Validate(validate::Args),
    /// What changes from policy A to policy B, and what it would have done to recorded traffic.
    #[command(after_help = diff::HELP)]
    Diff(diff::Args),
    /// Decide one request, as an ingress would, and show why.
    #[command(after_help = explain::HELP)]
    Explain(explain::Args),
    /// Turn a policy into an Envoy filter, an ECDS resource, an Istio WasmPlugin or an nginx block.
    #[command(after_help = export::HELP)]
    Export(export::Args),
    /// Convert AppActive rule files into a unitgate policy.
    #[command(name = "import-appactive", after_help = appactive::HELP)]
    ImportAppactive(appactive::Args),
    /// Validate a policy, then store and release it in Apollo through its Open API.
    #[command(after_help = apollo::PUBLISH_HELP)]
    Publish(apollo::PublishArgs),
    /// Write the ordered policies of a safe cutover from CURRENT to TARGET (and run it with --apply).
    #[command(name = "plan-cutover", after_help = cutover::HELP)]
    PlanCutover(cutover::Args),
}

/// Clap's message as one line: its first paragraph, without the usage and tips that follow.
fn one_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let first: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    first.join(" ").trim_start_matches("error: ").to_string()
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            eprintln!("unitgate: {} (see --help)", one_line(&e));
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let result = match cli.command {
        Command::Validate(a) => validate::run(&a),
        Command::Diff(a) => diff::run(&a),
        Command::Explain(a) => explain::run(&a),
        Command::Export(a) => export::run(&a),
        Command::ImportAppactive(a) => appactive::run(&a),
        Command::Publish(a) => apollo::publish(&a),
        Command::PlanCutover(a) => cutover::run(&a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // One line: the context chain joined, the way an operator reads it.
            let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("unitgate: {}", msg.join(": "));
            ExitCode::from(EXIT_ERROR)
        }
    }
}
