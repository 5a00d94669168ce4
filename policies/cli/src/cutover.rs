//! `unitgate plan-cutover CURRENT TARGET`: (placeholder, written next)

use anyhow::Result;
use std::path::PathBuf;

pub const HELP: &str = "";

#[derive(clap::Args)]
pub struct Args {
    current: PathBuf,
    target: PathBuf,
}

pub fn run(_a: &Args) -> Result<u8> {
    anyhow::bail!("not written yet")
}
