//! Writes docs/BENCHMARKS.md from one run: the Envoy comparison, the targets of the one-module
//! design with met or missed, criterion's decide() and policy-load results, and module sizes.

use crate::criterion::{self, format_ns};
use crate::measure::{Results, Sample};
use crate::variants::Variant;
use std::fmt::Write;
use std::path::Path;

/// File name of the plot, next to BENCHMARKS.md.
pub const PLOT: &str = "benchmarks-envoy.png";

const DECIDE_SIZES: [usize; 3] = [10, 1_000, 100_000];
const KEY_SOURCES: [&str; 5] = ["header", "query", "cookie", "path_segment", "json_body"];
/// The module size budget (bytes).
const MODULE_BUDGET: u64 = 300_000;

/// 100000 -> "100,000".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|g| std::str::from_utf8(g).unwrap_or(""))
        .collect();
    groups.join(",")
}

fn mb(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

/// The whole document. `criterion_root` is where criterion wrote its results.
pub fn render(r: &Results, criterion_root: &Path) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let set = &r.settings;
    let _ = writeln!(s, "# Benchmarks\n");
    let _ = writeln!(
        s,
        "Written by `make bench` on {}. Run it again to reproduce this file on your machine.\n",
        m.date_utc
    );
    if set.rounds < 3 || set.seconds < 10.0 {
        let _ = writeln!(
            s,
            "> **Short run** ({} round(s) of {} s): these numbers show that the harness works, not \
             how fast anything is. `make bench` with its default settings measures 3 rounds of 10 s.\n",
            set.rounds, set.seconds
        );
    }
    if let Ok(note) = std::env::var("UNITGATE_BENCH_NOTE") {
        if !note.trim().is_empty() {
            let _ = writeln!(s, "> {}\n", note.trim());
        }
    }
    let _ = writeln!(s, "## Machine\n");
    let _ = writeln!(s, "| | |\n| --- | --- |");
    let _ = writeln!(s, "| CPU | {} × {} |", m.nproc, m.cpu_model);
    let _ = writeln!(s, "| kernel | {} |", m.kernel);
    let _ = writeln!(s, "| Envoy | {} |", m.envoy_version);
    let _ = writeln!(s, "| wrk | {} |", m.wrk_version);
    let _ = writeln!(
        s,
        "| pinning | {} |",
        if r.pinned {
            "Envoy (`--concurrency 1`) on CPU 0; wrk and the backends on CPU 1"
        } else {
            "none (one CPU)"
        }
    );
    let _ = writeln!(
        s,
        "| rounds | {} interleaved, each variant: {} s at 8 connections, then {} s at 1; medians |\n",
        set.rounds, set.seconds, set.c1_seconds
    );

    envoy_section(&mut s, r);
    targets_section(&mut s, r, criterion_root);
    criterion_section(&mut s, criterion_root);
    sizes_section(&mut s, r);
    method_section(&mut s);
    s
}

fn envoy_section(s: &mut String, r: &Results) {
    let base = r.median(Variant::NoFilter).unwrap_or_default();
    let trivial = r.median(Variant::Trivial).unwrap_or_default();
    let _ = writeln!(s, "## Envoy side by side\n");
    let _ = writeln!(
        s,
        "The same request mix through each setup (see [How it is measured](#how-it-is-measured)). \
         \"CPU\" is Envoy's own CPU time per request; \"busy\" is that CPU time over the wall time \
         (1.00: Envoy's core was saturated, so throughput measures Envoy).\n"
    );
    let _ = writeln!(
        s,
        "| variant | req/s | vs no filter | vs trivial | CPU µs/req | CPU added | busy | p50 c=8 | p99 c=8 | p50 c=1 | RSS |"
    );
    let _ = writeln!(
        s,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for v in &r.variants {
        let x: Sample = v.median;
        let added = if v.variant == Variant::NoFilter {
            "—".to_string()
        } else {
            format!("{:+.1}", x.cpu_us_per_req - base.cpu_us_per_req)
        };
        let _ = writeln!(
            s,
            "| {} | {:.0} | {:.2} | {:.2} | {:.1} | {} | {:.2} | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} MB |",
            v.variant.label(),
            x.rps,
            x.rps / base.rps.max(1e-9),
            x.rps / trivial.rps.max(1e-9),
            x.cpu_us_per_req,
            added,
            x.cpu_busy,
            x.p50_us,
            x.p99_us,
            x.p50_c1_us,
            mb(x.rss_bytes as f64),
        );
    }
    let _ = writeln!(s, "\n![throughput and CPU per request]({PLOT})\n");
    let _ = writeln!(
        s,
        "Requests per second in each round (the table shows the medians):\n"
    );
    let rounds = r.variants.first().map(|v| v.samples.len()).unwrap_or(0);
    let _ = write!(s, "| variant |");
    for i in 1..=rounds {
        let _ = write!(s, " round {i} |");
    }
    let _ = writeln!(s, "\n| --- |{}", " ---: |".repeat(rounds));
    for v in &r.variants {
        let _ = write!(s, "| {} |", v.variant.name());
        for x in &v.samples {
            let _ = write!(s, " {:.0} |", x.rps);
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s);
    if let Some(mem) = &r.memory {
        let _ = writeln!(
            s,
            "**Policy memory.** `unitgate.wasm` with the benchmark policy plus {} exact city values \
             ({:.1} MB of policy JSON), each Envoy measured right after start. One worker: RSS \
             {:.1} MB against {:.1} MB with the small policy, **{:.0} bytes per entry** for the \
             whole process (the worker's VM, the main thread's VM, and Envoy's own copies of the \
             configuration). Two workers: {:.1} MB against {:.1} MB, so the second worker's VM \
             adds **{:.0} bytes per entry**: what each further worker costs.\n",
            thousands(mem.entries),
            mb(mem.policy_json_bytes as f64),
            mb(mem.rss_large as f64),
            mb(mem.rss_small as f64),
            mem.bytes_per_entry(),
            mb(mem.rss_large_2w as f64),
            mb(mem.rss_small_2w as f64),
            mem.bytes_per_entry_per_vm(),
        );
    }
}

/// One row of the targets table.
fn target(s: &mut String, what: &str, measured: Option<String>, met: Option<bool>) {
    let verdict = match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    };
    let _ = writeln!(
        s,
        "| {what} | {} | {verdict} |",
        measured.unwrap_or_else(|| "—".into())
    );
}

fn targets_section(s: &mut String, r: &Results, root: &Path) {
    let _ = writeln!(s, "## Targets\n");
    let _ = writeln!(
        s,
        "The one-module unitgate against the trivial wasm filter, from the same run, and the \
         limits the design sets for the core and the module.\n"
    );
    let _ = writeln!(s, "| target | measured | |\n| --- | --- | --- |");
    let (ug, tr, base) = (
        r.median(Variant::Unitgate),
        r.median(Variant::Trivial),
        r.median(Variant::NoFilter),
    );
    let both = ug.zip(tr);
    target(
        s,
        "throughput ≥ 0.92 × the trivial filter's",
        both.map(|(u, t)| format!("{:.2} ×", u.rps / t.rps)),
        both.map(|(u, t)| u.rps >= 0.92 * t.rps),
    );
    let added = both.zip(base).map(|((u, t), b)| {
        (
            u.cpu_us_per_req - b.cpu_us_per_req,
            t.cpu_us_per_req - b.cpu_us_per_req,
        )
    });
    target(
        s,
        "CPU added ≤ the trivial filter's + 3 µs",
        added.map(|(u, t)| format!("{u:+.1} µs vs {t:+.1} µs")),
        added.map(|(u, t)| u <= t + 3.0),
    );
    target(
        s,
        "RSS ≤ the trivial filter's + 10 MB",
        both.map(|(u, t)| format!("{:+.1} MB", mb(u.rss_bytes as f64 - t.rss_bytes as f64))),
        both.map(|(u, t)| (u.rss_bytes as f64) <= t.rss_bytes as f64 + 10.0 * 1024.0 * 1024.0),
    );
    target(
        s,
        "p99 ≤ 1.2 × the trivial filter's",
        both.map(|(u, t)| {
            format!(
                "{:.0} µs vs {:.0} µs ({:.2} ×)",
                u.p99_us,
                t.p99_us,
                u.p99_us / t.p99_us
            )
        }),
        both.map(|(u, t)| u.p99_us <= 1.2 * t.p99_us),
    );
    let decide_max = DECIDE_SIZES
        .iter()
        .flat_map(|n| {
            ["ranges", "exact"]
                .map(|k| criterion::median_ns(root, "decide_size", k, &n.to_string()))
        })
        .collect::<Option<Vec<f64>>>()
        .map(|v| v.into_iter().fold(0.0, f64::max));
    target(
        s,
        "`decide()` < 1 µs at every size",
        decide_max.map(|ns| format!("slowest {}", format_ns(ns))),
        decide_max.map(|ns| ns < 1000.0),
    );
    let load = criterion::median_ns(root, "policy_load", "wasm_on_configure", "100000");
    target(
        s,
        "100,000 entries load in < 100 ms inside the module",
        load.map(format_ns),
        load.map(|ns| ns < 100e6),
    );
    let size = r
        .module_sizes
        .iter()
        .find(|(m, _)| m == "unitgate.wasm")
        .map(|(_, b)| *b);
    target(
        s,
        "module ≤ 300 KB",
        size.map(|b| format!("{} bytes", thousands(b as usize))),
        size.map(|b| b <= MODULE_BUDGET),
    );
    let mem = r.memory.as_ref();
    target(
        s,
        "policy memory ≤ 64 bytes per entry in each VM",
        mem.map(|m| {
            format!(
                "{:.0} bytes per entry for one more worker's VM ({:.0} for the whole one-worker Envoy)",
                m.bytes_per_entry_per_vm(),
                m.bytes_per_entry()
            )
        }),
        mem.map(|m| m.bytes_per_entry_per_vm() <= 64.0),
    );
    let _ = writeln!(
        s,
        "\nWhere `unitgate.wasm`'s CPU goes, counted in wasm instructions per callback (the same \
         on a busy machine), and what its extra RSS is (mostly memory Envoy's allocator keeps \
         after V8 compiled the module): [plugins/README.md](../plugins/README.md) §12."
    );
    let _ = writeln!(s);
}

fn criterion_section(s: &mut String, root: &Path) {
    let cell = |g: &str, f: &str, p: &str| {
        criterion::median_ns(root, g, f, p)
            .map(format_ns)
            .unwrap_or_else(|| "not run".into())
    };
    let _ = writeln!(
        s,
        "## decide() natively (criterion, `plugins/core/benches/decide.rs`)\n"
    );
    let _ = writeln!(
        s,
        "Median time of one `decide()` on an already-built request view. By size: a header key \
         looked up among N ten-wide ranges or N exact values.\n"
    );
    let _ = writeln!(
        s,
        "| entries | ranges | exact values |\n| ---: | ---: | ---: |"
    );
    for n in DECIDE_SIZES {
        let p = n.to_string();
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            thousands(n),
            cell("decide_size", "ranges", &p),
            cell("decide_size", "exact", &p)
        );
    }
    let _ = writeln!(s, "\nBy key source (10 ranges):\n");
    let _ = writeln!(s, "| key source | decide() |\n| --- | ---: |");
    for k in KEY_SOURCES {
        let _ = writeln!(s, "| {k} | {} |", cell("decide_key_source", k, ""));
    }
    let _ = writeln!(
        s,
        "\n## Policy load (criterion, `host-tests/benches/policy_load.rs`)\n"
    );
    let _ = writeln!(
        s,
        "The dual-cloud example policy with N ten-wide city ranges: `unitgate_core::load` natively, \
         and `on_configure` of `unitgate.wasm` in the host-tests harness (wasmtime).\n"
    );
    let _ = writeln!(
        s,
        "| entries | core `load()` native | `on_configure` in wasm |\n| ---: | ---: | ---: |"
    );
    for n in DECIDE_SIZES {
        let p = n.to_string();
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            thousands(n),
            cell("policy_load", "core_load", &p),
            cell("policy_load", "wasm_on_configure", &p)
        );
    }
    let _ = writeln!(s);
}

fn sizes_section(s: &mut String, r: &Results) {
    let _ = writeln!(s, "## Modules measured\n");
    let _ = writeln!(s, "| module | bytes |\n| --- | ---: |");
    for (m, b) in &r.module_sizes {
        let _ = writeln!(s, "| `{m}` | {} |", thousands(*b as usize));
    }
    let _ = writeln!(s);
}

fn method_section(s: &mut String) {
    let _ = writeln!(
        s,
        r#"## How it is measured

- **Setups.** One Envoy per variant, all started first and kept running; each has one listener
  and the same two backend clusters (`unit_a`, `unit_b`). The routing setups carry the same
  routing: the policy `bench/policy.json` (API class by path, ten city ranges over two units,
  a missing or unknown key to the local unit), Envoy routes with a header `range_match` per
  range, and `bench/envoy/city-routing.lua`. unitgate and the chain get the policy in their
  plugin configuration. The trivial filter (`bench/trivial-filter`) reads one header and sets
  the cluster header: the city's cluster by its hundreds digit, which is the policy's ranges,
  so Envoy forwards to the same two clusters as for the routing setups (the trivial filter
  reads no path, so the one `/static/` request goes by its city). Spreading requests over two
  clusters costs Envoy itself several µs a request: "the same, everything to one cluster"
  is that filter sending everything to `unit_a`, as the static route does, and the difference
  between the two rows is that cost. The backends are the end-to-end tests' small HTTP server
  (`unitgate-envoy`), one per unit, on the load CPU.
- **Checked before measuring.** Every request of the mix is sent once to every setup; each must
  answer 200 from the backend that `unitgate_core::decide` picks for it (the trivial filter:
  its city's cluster; the one-cluster floors: `unit_a`). Under load, the backends' hit
  counters must show traffic on both units for the routing setups and on `unit_a` alone for
  the one-cluster floors. wrk must report no socket error and no non-2xx
  answer. Any of these fails `make bench`.
- **Load.** wrk, one thread, cycling through 12 requests: nine cities across both units' ranges,
  a city outside every range, `/api/` without a key, and a `/static/` path (global class).
- **Rounds.** In each round every variant runs once at 8 connections (throughput, CPU, p50,
  p99), then at 1 connection (p50). The order rotates each round. Tables show medians.
- **CPU** is the change of `utime + stime` in `/proc/<envoy>/stat` (every thread) over the
  8-connection run, divided by the requests wrk completed. **RSS** is `VmRSS` after the
  variant's runs in each round.
- **Knobs.** `UNITGATE_BENCH_SECONDS` (default 10, c=1 runs take half),
  `UNITGATE_BENCH_ROUNDS` (default 3), `UNITGATE_BENCH_MEMORY_ENTRIES` (default 100000, 0
  skips the large-policy memory check), `UNITGATE_BENCH_VARIANTS` (comma-separated names,
  e.g. `trivial-wasm,unitgate`: only those run), `UNITGATE_BENCH_NOTE` (a line added to the
  top of this file). `cargo run --profile bench -p unitgate-bench -- report` rewrites this file from the
  last run's `target/bench/results.json` and criterion's results.
- `make test` runs the same harness for about a second per variant (`bench/tests/smoke.rs`),
  with every check above and no thresholds, so it cannot rot."#
    );
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(10), "10");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
    }
}
