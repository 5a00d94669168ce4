//! `unitgate plan-cutover CURRENT TARGET`: the ordered policies of a safe cutover, and
//! `--apply` to run them through Apollo, checking each step before the next.
//!
//! Steps: 1 forbid writes for the moving shards (with an end time); 2 wait until replication
//! has caught up (the operator's command or HTTP check); 3 remap (TARGET, writes still
//! forbidden); 4 lift (TARGET as it is). Each policy has its own version, so a proxy that
//! serves a step can be told apart.

use crate::apollo::{title_for, OpenApi, Target};
use crate::ingress::now_ms;
use crate::policy_file::{load_valid, read_text};
use crate::table::render;
use crate::EXIT_FOUND;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use unitgate_core::time::format_rfc3339_utc;
use unitgate_core::{diff_policies, load_value, CompiledPolicy, UnreadableKey, WriteForbid};

pub const HELP: &str = "Example:
  unitgate plan-cutover current.json target.json --out cutover/ --forbid-minutes 20 \\
      --replication-cmd 'check-replication --lag-below 1s'
  unitgate plan-cutover current.json target.json --out cutover/ --replication-url http://db-ops/caught-up \\
      --apply --portal http://apollo-portal:8070 --app-id unitgate --operator ops \\
      --served-url http://ingress-uc/healthz --served-url http://ingress-jc/healthz

A step counts as served when every --served-url answers with its version in the
x-unitgate-explain header (version=<v>) or in the body. On a failed check, --apply publishes
the last policy that was served again and exits 1.";

#[derive(clap::Args)]
pub struct Args {
    /// The policy serving now.
    current: PathBuf,
    /// The policy after the cutover (a new version).
    target: PathBuf,
    /// Directory for the step files and plan.json.
    #[arg(long, default_value = "cutover")]
    out: PathBuf,
    /// End of the write-forbidden window, RFC 3339 UTC [default: now + --forbid-minutes].
    #[arg(long)]
    forbid_until: Option<String>,
    #[arg(long, default_value_t = 15)]
    forbid_minutes: u64,
    /// Shell command that exits 0 once replication has caught up.
    #[arg(long)]
    replication_cmd: Option<String>,
    /// URL that answers 2xx once replication has caught up.
    #[arg(long)]
    replication_url: Option<String>,
    /// Run the plan through Apollo.
    #[arg(long, requires_all = ["portal", "token", "app_id", "served_url"])]
    apply: bool,
    #[command(flatten)]
    apollo: Target,
    /// URL answered through a proxy; checked for each step's version (repeatable).
    #[arg(long)]
    served_url: Vec<String>,
    /// How long each check may take, in seconds.
    #[arg(long, default_value_t = 60)]
    step_timeout: u64,
}

/// One step of the plan.
struct Step {
    action: &'static str,
    /// The policy to publish (None: a check only).
    policy: Option<(String, Value)>,
}

pub fn run(a: &Args) -> Result<u8> {
    let current = load_valid(&a.current)?;
    let target = load_valid(&a.target)?;
    let check = match (&a.replication_cmd, &a.replication_url) {
        (Some(c), None) => json!({"command": c}),
        (None, Some(u)) => json!({"url": u}),
        _ => bail!("pass exactly one of --replication-cmd and --replication-url"),
    };
    let until = match &a.forbid_until {
        Some(t) => t.clone(),
        None => format_rfc3339_utc(now_ms(None)? + a.forbid_minutes * 60_000),
    };
    let docs = (raw_json(&a.current)?, raw_json(&a.target)?);
    let steps = plan(&current.policy, &target.policy, docs, &until)?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    let mut listed = Vec::new();
    let mut rows = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let n = i + 1;
        let (file, version, step_check) = match &s.policy {
            Some((version, doc)) => {
                let file = format!("{n}-{}.json", s.action);
                write_json(&a.out.join(&file), doc)?;
                (
                    Some(file),
                    Some(version.clone()),
                    json!({"served_version": version}),
                )
            }
            None => (None, None, check.clone()),
        };
        rows.push(vec![
            n.to_string(),
            s.action.to_string(),
            file.clone().unwrap_or("-".into()),
            version.clone().unwrap_or("-".into()),
            step_check.to_string(),
        ]);
        listed.push(json!({"step": n, "action": s.action, "file": file, "version": version, "check": step_check}));
    }
    let plan_doc = json!({
        "from": current.policy.version(),
        "to": target.policy.version(),
        "forbid_until": until,
        "steps": listed,
    });
    write_json(&a.out.join("plan.json"), &plan_doc)?;
    println!(
        "cutover {} -> {} ({})",
        current.policy.version(),
        target.policy.version(),
        a.out.display()
    );
    print!(
        "{}",
        render(
            &[
                "step",
                "action",
                "file",
                "version",
                "check before the next step"
            ],
            &rows
        )
    );
    if !a.apply {
        return Ok(0);
    }
    apply(a, &a.apollo, &steps, &current.policy)
}

/// The policy document as the operator wrote it (the step files keep its shape).
fn raw_json(path: &Path) -> Result<Value> {
    serde_json::from_str(&read_text(path)?)
        .with_context(|| format!("{} is not JSON", path.display()))
}

fn write_json(path: &Path, v: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(v)? + "\n";
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The four steps, each policy validated by the core. `docs`: the two documents as written.
fn plan(
    current: &CompiledPolicy,
    target: &CompiledPolicy,
    docs: (Value, Value),
    until: &str,
) -> Result<Vec<Step>> {
    if current.version() == target.version() {
        bail!(
            "TARGET has the same version as CURRENT ({}); give it a new one",
            current.version()
        );
    }
    let d = diff_policies(current, target);
    let mut windows = Vec::new();
    for r in &d.rules {
        let (Some(rc), Some(rt)) = (
            current.source().rules.iter().find(|x| x.name == r.rule),
            target.source().rules.iter().find(|x| x.name == r.rule),
        ) else {
            continue; // an added or removed rule moves no existing shard by itself
        };
        if rc.key != rt.key {
            bail!(
                "rule {} changes its key ({} -> {}): not a cutover of shards",
                r.rule,
                rc.key,
                rt.key
            );
        }
        if r.range_moves.is_empty() && r.exact_moves.is_empty() {
            continue;
        }
        let apis: Vec<String> = current
            .source()
            .apis
            .iter()
            .filter(|api| api.rule.as_deref() == Some(r.rule.as_str()))
            .map(|api| api.name.clone())
            .collect();
        windows.push(WriteForbid {
            name: format!("cutover-{}", r.rule),
            // Every owner: the shard's owner changes at remap, the window must hold on both sides.
            units: Vec::new(),
            apis,
            methods: Vec::new(),
            key: Some(rc.key.clone()),
            ranges: r
                .range_moves
                .iter()
                .map(|m| format!("{}~{}", m.lo, m.hi))
                .collect(),
            values: r.exact_moves.iter().map(|m| m.value.clone()).collect(),
            until: Some(until.to_string()),
            retry_after_s: None,
            // The safe default: a write whose key cannot be read is refused too.
            unreadable_key: UnreadableKey::Forbid,
        });
    }
    if windows.is_empty() {
        bail!(
            "no key range or exact value moves between the two policies; publish TARGET directly"
        );
    }
    let tv = target.version();
    let windows: Vec<Value> = windows.iter().map(window_json).collect::<Result<_>>()?;
    let with_windows = |doc: &Value, version: String| -> Result<(String, Value)> {
        let mut doc = doc.clone();
        doc["version"] = json!(version);
        let iso = doc
            .as_object_mut()
            .context("a policy is a JSON object")?
            .entry("isolation")
            .or_insert_with(|| json!({}));
        let list = iso
            .as_object_mut()
            .context("isolation is a JSON object")?
            .entry("write_forbidden")
            .or_insert_with(|| json!([]));
        list.as_array_mut()
            .context("write_forbidden is a list")?
            .extend(windows.iter().cloned());
        if let Err(r) = load_value(&doc) {
            bail!("the generated policy {version} is invalid:\n{r}");
        }
        Ok((version, doc))
    };
    Ok(vec![
        Step {
            action: "forbid",
            policy: Some(with_windows(&docs.0, format!("{tv}-1-forbid"))?),
        },
        Step {
            action: "wait-replication",
            policy: None,
        },
        Step {
            action: "remap",
            policy: Some(with_windows(&docs.1, format!("{tv}-3-remap"))?),
        },
        Step {
            action: "lift",
            policy: Some((tv.to_string(), docs.1.clone())),
        },
    ])
}

/// A window as an operator would write it: no null fields, no empty lists.
fn window_json(w: &WriteForbid) -> Result<Value> {
    let mut v = serde_json::to_value(w)?;
    if let Some(m) = v.as_object_mut() {
        m.retain(|_, x| !(x.is_null() || x.as_array().is_some_and(Vec::is_empty)));
    }
    Ok(v)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into()
}

/// Whether `url` shows `version` in its explain header or its body.
fn serves(url: &str, version: &str) -> bool {
    let Ok(mut resp) = agent().get(url).call() else {
        return false;
    };
    let explained = resp
        .headers()
        .get_all("x-unitgate-explain")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(';')
                .any(|f| f.trim() == format!("version={version}"))
        });
    explained
        || resp
            .body_mut()
            .read_to_string()
            .is_ok_and(|b| b.contains(version))
}

fn replicated(check: (&Option<String>, &Option<String>)) -> bool {
    match check {
        (Some(cmd), _) => Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .status()
            .is_ok_and(|s| s.success()),
        (None, Some(url)) => agent()
            .get(url)
            .call()
            .is_ok_and(|r| r.status().is_success()),
        (None, None) => false,
    }
}

/// Poll `ok` until it holds or `timeout` passes.
fn wait_for(timeout: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if ok() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn apply(a: &Args, apollo: &Target, steps: &[Step], current: &CompiledPolicy) -> Result<u8> {
    let api = OpenApi::new(apollo);
    let timeout = Duration::from_secs(a.step_timeout);
    // The last policy every proxy was seen serving: what a failed step rolls back to.
    let mut last_good = (
        current.version().to_string(),
        serde_json::to_value(current.source())?,
    );
    for (i, s) in steps.iter().enumerate() {
        let n = i + 1;
        let ok = match &s.policy {
            Some((version, doc)) => {
                let released = api.publish(
                    &serde_json::to_string_pretty(doc)?,
                    &title_for(version),
                    s.action,
                )?;
                println!(
                    "step {n} {}: published {version} (release {})",
                    s.action, released.id
                );
                wait_for(timeout, || a.served_url.iter().all(|u| serves(u, version)))
            }
            None => wait_for(timeout, || {
                replicated((&a.replication_cmd, &a.replication_url))
            }),
        };
        if !ok {
            let (version, doc) = &last_good;
            api.publish(
                &serde_json::to_string_pretty(doc)?,
                &title_for(&format!("rollback {version}")),
                "rollback",
            )?;
            eprintln!(
                "unitgate: step {n} {} failed its check within {}s; published {version} again and stopped",
                s.action, a.step_timeout
            );
            return Ok(EXIT_FOUND);
        }
        println!("step {n} {}: check passed", s.action);
        if let Some(p) = &s.policy {
            last_good = p.clone();
        }
    }
    println!("cutover done");
    Ok(0)
}
