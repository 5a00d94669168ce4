//! `unitgate validate FILE…`: every error and warning with its JSON pointer.

use crate::policy_file::load_file;
use crate::{Format, EXIT_FOUND};
use anyhow::Result;
use serde_json::json;
use std::path::PathBuf;
use unitgate_core::Issue;

#[derive(clap::Args)]
pub struct Args {
    /// Policy files (JSON); "-" reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(a: &Args) -> Result<u8> {
    let mut any_error = false;
    let mut reports = Vec::new();
    for f in &a.files {
        let (version, errors, warnings) = match load_file(f)? {
            Ok(l) => (Some(l.policy.version().to_string()), Vec::new(), l.warnings),
            Err(r) => (None, r.errors, r.warnings),
        };
        any_error |= !errors.is_empty();
        match a.format {
            Format::Table => {
                let name = f.display();
                for e in &errors {
                    println!("{name}: error {e}");
                }
                for w in &warnings {
                    println!("{name}: warning {w}");
                }
                match &version {
                    Some(v) => println!("{name}: valid, version {v} ({} warnings)", warnings.len()),
                    None => println!(
                        "{name}: invalid ({} errors, {} warnings)",
                        errors.len(),
                        warnings.len()
                    ),
                }
            }
            Format::Json => reports.push(json!({
                "file": f.display().to_string(),
                "valid": errors.is_empty(),
                "version": version,
                "errors": issues(&errors),
                "warnings": issues(&warnings),
            })),
        }
    }
    if a.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    Ok(if any_error { EXIT_FOUND } else { 0 })
}

fn issues(list: &[Issue]) -> serde_json::Value {
    list.iter()
        .map(|i| json!({"path": i.path, "message": i.message}))
        .collect()
}
