//! `unitgate diff A B`: what moves between units, and what recorded traffic would have done.

use crate::ingress::{now_ms, IngressArgs};
use crate::policy_file::load_valid;
use crate::table::{percent, render};
use crate::traffic;
use crate::Format;
use anyhow::Result;
use serde_json::json;
use std::path::PathBuf;
use unitgate_core::diff::{Change, PolicyDiff};
use unitgate_core::diff_policies;

pub const HELP: &str = "Example:
  unitgate diff current.json next.json
  unitgate diff current.json next.json --traffic access.log --local-unit uc --format json

--traffic reads one JSON object per line: {\"method\":\"GET\",\"path\":\"/api/orders?city_id=42\",
\"headers\":{\"x-user-id\":\"u16\"},\"body\":\"...\"}, or an Envoy JSON access log whose fields are
method, path and req.<header> (see the README). Exit 0 whether or not anything moves.";

#[derive(clap::Args)]
pub struct Args {
    /// The policy serving now.
    from: PathBuf,
    /// The policy you mean to publish.
    to: PathBuf,
    /// Recorded requests to replay through both policies.
    #[arg(long)]
    traffic: Option<PathBuf>,
    /// How many moved requests to list.
    #[arg(long, default_value_t = 5)]
    examples: usize,
    #[command(flatten)]
    ingress: IngressArgs,
    /// Clock for the replay (RFC 3339 UTC) [default: now].
    #[arg(long)]
    now: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(a: &Args) -> Result<u8> {
    let (la, lb) = (load_valid(&a.from)?, load_valid(&a.to)?);
    let d = diff_policies(&la.policy, &lb.policy);
    let replay = match &a.traffic {
        Some(path) => {
            let records = traffic::read(path)?;
            let ia = a.ingress.ingress(&la.policy)?;
            let ib = a.ingress.ingress(&lb.policy)?;
            let now = now_ms(a.now.as_deref())?;
            Some(traffic::replay(
                &records,
                (&la.policy, &ia),
                (&lb.policy, &ib),
                now,
                a.examples,
            ))
        }
        None => None,
    };
    match a.format {
        Format::Json => {
            let out = json!({"diff": d, "traffic": replay});
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Format::Table => {
            print!("{}", table(&d));
            if let Some(r) = &replay {
                print!("{}", replay_table(r));
            }
        }
    }
    Ok(0)
}

fn change_rows(changes: &[Change]) -> Vec<Vec<String>> {
    changes
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.field.clone(),
                c.from.clone(),
                c.to.clone(),
            ]
        })
        .collect()
}

/// The human report: one section per kind of change, empty sections left out.
pub fn table(d: &PolicyDiff) -> String {
    let mut out = format!("policy {} -> {}\n", d.from_version, d.to_version);
    if d.is_empty() {
        out.push_str("no routing change\n");
        return out;
    }
    for r in &d.rules {
        let domain = r
            .domain
            .map_or("-".to_string(), |(lo, hi)| format!("{lo}~{hi}"));
        out.push_str(&format!(
            "\nrule {} (key {}, domain {domain}): {} of the key space moves\n",
            r.rule,
            r.key,
            percent(r.moved_share)
        ));
        let mut rows: Vec<Vec<String>> = r
            .range_moves
            .iter()
            .map(|m| {
                let share = r.domain.map_or(0.0, |(lo, hi)| {
                    (m.hi - m.lo + 1) as f64 / (hi - lo + 1) as f64
                });
                vec![
                    format!("{}~{}", m.lo, m.hi),
                    m.from.clone(),
                    m.to.clone(),
                    percent(share),
                ]
            })
            .collect();
        rows.extend(r.exact_moves.iter().map(|m| {
            vec![
                format!("exact {}", m.value),
                m.from.clone(),
                m.to.clone(),
                "-".into(),
            ]
        }));
        if !rows.is_empty() {
            out.push_str(&render(&["keys", "from", "to", "share"], &rows));
        }
        if !r.changes.is_empty() {
            out.push_str(&render(
                &["rule", "field", "from", "to"],
                &change_rows(&r.changes),
            ));
        }
    }
    for (title, changes) in [
        ("units", &d.units),
        ("apis", &d.apis),
        ("isolation", &d.isolation),
        ("missing_key", &d.missing_key),
    ] {
        if !changes.is_empty() {
            out.push_str(&format!("\n{title}\n"));
            out.push_str(&render(
                &["name", "field", "from", "to"],
                &change_rows(changes),
            ));
        }
    }
    if !d.gray.is_empty() {
        out.push_str("\ngray\n");
        let pct = |p: Option<f64>| p.map_or("-".into(), |p| format!("{p}%"));
        let rows: Vec<Vec<String>> = d
            .gray
            .iter()
            .map(|g| {
                let fields: Vec<&str> = g.changes.iter().map(|c| c.field.as_str()).collect();
                vec![
                    g.rule.clone(),
                    pct(g.from_percent),
                    pct(g.to_percent),
                    percent(g.moved_share),
                    fields.join(","),
                ]
            })
            .collect();
        out.push_str(&render(
            &["rule", "from", "to", "users moved", "changed"],
            &rows,
        ));
    }
    out
}

fn replay_table(r: &traffic::Replay) -> String {
    let share = if r.requests == 0 {
        0.0
    } else {
        r.moved as f64 / r.requests as f64
    };
    let mut out = format!(
        "\ntraffic: {} of {} requests would move ({})\n",
        r.moved,
        r.requests,
        percent(share)
    );
    if r.moved == 0 {
        return out;
    }
    let units: Vec<Vec<String>> = r
        .by_units
        .iter()
        .map(|(k, v)| vec![k.clone(), v.to_string()])
        .collect();
    out.push_str(&render(&["from -> to", "requests"], &units));
    let apis: Vec<Vec<String>> = r
        .by_api
        .iter()
        .map(|(k, v)| vec![k.clone(), v.to_string()])
        .collect();
    out.push_str(&render(&["api", "requests"], &apis));
    let ex: Vec<Vec<String>> = r
        .examples
        .iter()
        .map(|e| {
            vec![
                e.line.to_string(),
                format!("{} {}", e.method, e.path),
                e.api.clone(),
                e.from.clone(),
                e.to.clone(),
            ]
        })
        .collect();
    out.push_str("examples\n");
    out.push_str(&render(&["line", "request", "api", "from", "to"], &ex));
    out
}
