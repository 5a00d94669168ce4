//! `unitgate import-appactive`: AppActive rule files -> a unitgate policy (core's importer).

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use unitgate_core::{import_appactive, AppActiveInput, Role, Unit};

pub const HELP: &str = "Example:
  unitgate import-appactive --dir appactive-rules/ \\
      --unit center:center:hangzhou:center_backend --unit unit-sh:normal:shanghai:unit_sh_backend \\
      -o imported.json

--dir reads idSource.json, idTransformer.json, idUnitMapping.json and, if present,
forbiddenRule.json; the per-file flags override it.";

#[derive(clap::Args)]
pub struct Args {
    /// Directory holding AppActive's idSource.json, idTransformer.json, idUnitMapping.json
    /// and optionally forbiddenRule.json.
    #[arg(long)]
    dir: Option<PathBuf>,
    #[arg(long)]
    id_source: Option<PathBuf>,
    #[arg(long)]
    id_transformer: Option<PathBuf>,
    #[arg(long)]
    id_unit_mapping: Option<PathBuf>,
    #[arg(long)]
    forbidden_rule: Option<PathBuf>,
    /// NAME:ROLE:CLOUD:UPSTREAM of each unit (AppActive files do not carry them); ROLE is
    /// center or normal.
    #[arg(long = "unit", required = true, value_parser = parse_unit)]
    units: Vec<Unit>,
    /// Write the policy here instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
}

fn parse_unit(s: &str) -> Result<Unit, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let [name, role, cloud, upstream] = parts.as_slice() else {
        return Err(format!("expected NAME:ROLE:CLOUD:UPSTREAM, got \"{s}\""));
    };
    let role = match *role {
        "center" => Role::Center,
        "normal" => Role::Normal,
        r => return Err(format!("role \"{r}\" is neither center nor normal")),
    };
    Ok(Unit {
        name: name.to_string(),
        role,
        cloud: cloud.to_string(),
        upstream: upstream.to_string(),
    })
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// The file from its flag, else from --dir; None when neither has it.
fn pick(flag: &Option<PathBuf>, dir: &Option<PathBuf>, file: &str) -> Option<PathBuf> {
    flag.clone()
        .or_else(|| dir.as_ref().map(|d| d.join(file)).filter(|p| p.exists()))
}

pub fn run(a: &Args) -> Result<u8> {
    let need = |flag: &Option<PathBuf>, file: &str, opt: &str| -> Result<Value> {
        match pick(flag, &a.dir, file) {
            Some(p) => read_json(&p),
            None => bail!("missing {file}: pass {opt} or --dir"),
        }
    };
    let input = AppActiveInput {
        id_source: need(&a.id_source, "idSource.json", "--id-source")?,
        id_transformer: need(&a.id_transformer, "idTransformer.json", "--id-transformer")?,
        id_unit_mapping: need(
            &a.id_unit_mapping,
            "idUnitMapping.json",
            "--id-unit-mapping",
        )?,
        forbidden_rule: pick(&a.forbidden_rule, &a.dir, "forbiddenRule.json")
            .map(|p| read_json(&p))
            .transpose()?,
    };
    let imported = match import_appactive(&input, &a.units) {
        Ok(i) => i,
        Err(issues) => {
            for i in &issues {
                eprintln!("error {i}");
            }
            bail!(
                "the AppActive rules cannot be imported ({} errors above)",
                issues.len()
            );
        }
    };
    // AppActive's own quirks (overlaps, repeated names) are kept, and said.
    for w in &imported.warnings {
        eprintln!("warning {w}");
    }
    let policy = imported.policy;
    let text = serde_json::to_string_pretty(&policy)? + "\n";
    match &a.output {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?;
            eprintln!("wrote {} (version {})", p.display(), policy.version);
        }
        None => print!("{text}"),
    }
    Ok(0)
}
