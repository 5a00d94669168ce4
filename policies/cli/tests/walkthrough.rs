//! The README's operator walkthrough ("Changing the policy through Apollo"), run for real:
//! every `$ unitgate …` command in it, in order, against the Apollo stand-in and a real Envoy
//! whose module follows it. Each must succeed and print what the README shows (the stand-in's
//! and the ingress's addresses aside). `UNITGATE_WALKTHROUGH_PRINT=1` prints the real output.

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use unitgate_envoy::apollo::{ApolloIngress, TOKEN};
use unitgate_envoy::locate::workspace_root;

/// The addresses the README uses, and its Open API token.
const DOC_APOLLO: &str = "http://127.0.0.1:8080";
const DOC_INGRESS: &str = "http://127.0.0.1:10000";
const DOC_TOKEN: &str = "t0k3n";

/// (command line without `$ `, documented output) of each `$ unitgate` in the section.
fn documented(readme: &str) -> Vec<(String, Vec<String>)> {
    let section = readme
        .split("\n## Changing the policy through Apollo")
        .nth(1)
        .expect("README has the walkthrough section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_block = false;
    let mut continued = false;
    for line in section.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
            continued = false;
            continue;
        }
        if !in_block {
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            out.push((cmd.trim_end_matches('\\').trim().to_string(), Vec::new()));
            continued = line.ends_with('\\');
        } else if continued {
            let last = out.last_mut().unwrap();
            last.0.push(' ');
            last.0.push_str(line.trim().trim_end_matches('\\').trim());
            continued = line.ends_with('\\');
        } else if let Some(last) = out.last_mut() {
            last.1.push(line.to_string());
        }
    }
    out
}

/// Splits a command line as a POSIX shell would, for the quoting the README uses ('…').
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let steps = documented(&readme);
    let commands: Vec<_> = steps
        .iter()
        .filter(|(c, _)| c.starts_with("unitgate "))
        .collect();
    assert!(commands.len() >= 5, "walkthrough commands: {steps:?}");

    let ing = ApolloIngress::start("walkthrough", 2, Duration::from_secs(30)).unwrap();
    let apollo = ing.apollo_url();
    let ingress = ing.envoy.url("");
    let _ = std::fs::remove_dir_all(root.join("target/cutover"));
    let print = std::env::var_os("UNITGATE_WALKTHROUGH_PRINT").is_some();
    for (line, expected) in commands {
        let real = line
            .replace(DOC_APOLLO, &apollo)
            .replace(DOC_INGRESS, &ingress)
            .replace(DOC_TOKEN, TOKEN);
        let args = words(&real);
        let out = run(&root, &args[1..]);
        let text = out
            .replace(&apollo, DOC_APOLLO)
            .replace(&ingress, DOC_INGRESS);
        if print {
            // Printing to update the README: every command runs, nothing is compared.
            println!("$ {line}\n{text}");
            continue;
        }
        let got: Vec<&str> = text.lines().collect();
        let want: Vec<&str> = expected.iter().map(String::as_str).collect();
        assert_eq!(got, want, "output of `{line}`");
    }
}

/// Runs the CLI in `dir`; stdout then stderr. Panics on a non-zero exit.
fn run(dir: &Path, args: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_unitgate"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "unitgate {args:?} failed:\n{text}");
    text
}
