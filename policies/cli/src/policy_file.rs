//! Reading policy files: JSON text -> a validated, compiled policy, or a one-line error.

use anyhow::{bail, Context, Result};
use std::path::Path;
use unitgate_core::{load, Loaded, Report};

/// The file's text ("-" reads standard input).
pub fn read_text(path: &Path) -> Result<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).context("reading stdin")?;
        return Ok(s);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Load and validate; the report when invalid.
pub fn load_file(path: &Path) -> Result<std::result::Result<Loaded, Report>> {
    Ok(load(&read_text(path)?))
}

/// Load a policy that must be valid: an invalid one is an error naming its first problem.
pub fn load_valid(path: &Path) -> Result<Loaded> {
    match load_file(path)? {
        Ok(l) => Ok(l),
        Err(r) => {
            let first = r.errors.first().map(|e| e.to_string()).unwrap_or_default();
            bail!(
                "{} is not a valid policy ({} errors; first: error {first}); run `unitgate validate {}`",
                path.display(),
                r.errors.len(),
                path.display()
            )
        }
    }
}
