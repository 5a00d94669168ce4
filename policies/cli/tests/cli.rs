//! The `unitgate` binary, run as an operator runs it: real files in, real output checked.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use unitgate_apollo_fixture::{Fixture, Options};

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/dual-cloud-city.json"
);
const CENTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/center-units.json");

fn unitgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_unitgate"))
        .args(args)
        .env_remove("UNITGATE_APOLLO_TOKEN")
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh directory for one test.
fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn example() -> Value {
    serde_json::from_str(&std::fs::read_to_string(EXAMPLE).unwrap()).unwrap()
}

/// The example with city ranges 0~399 / 400~999 and the gray rule at 30%.
fn next_step(d: &Path) -> PathBuf {
    let mut p = example();
    p["version"] = json!("dada-2026-11-22.2");
    p["rules"][0]["ranges"] =
        json!([{"unit": "uc", "ranges": ["0~399"]}, {"unit": "jc", "ranges": ["400~999"]}]);
    p["gray"][0]["percent"] = json!(30);
    let path = d.join("next.json");
    std::fs::write(&path, serde_json::to_string_pretty(&p).unwrap()).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn validate_reports_every_error_with_its_pointer_and_exit_codes() {
    let ok = unitgate(&["validate", EXAMPLE, CENTER]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("dual-cloud-city.json: valid, version dada-2026-11-22.1"));

    let d = dir("validate");
    let mut bad = example();
    bad["units"][1]["name"] = json!("j c");
    bad["rules"][0]["ranges"][1]["ranges"] = json!(["400~999"]);
    let bad_path = d.join("bad.json");
    std::fs::write(&bad_path, bad.to_string()).unwrap();
    let out = unitgate(&["validate", s(&bad_path)]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("error at /units/1/name:"), "{text}");
    assert!(
        text.contains("error at /rules/0/ranges/1/ranges/0:"),
        "{text}"
    );
    assert!(text.contains("invalid ("), "{text}");

    let out = unitgate(&["validate", "--format", "json", s(&bad_path), EXAMPLE]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v[0]["valid"], false);
    let paths: Vec<&str> = v[0]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"/units/1/name") && paths.contains(&"/rules/0/ranges/1/ranges/0"),
        "{paths:?}"
    );
    assert_eq!(v[1]["valid"], true);
    assert_eq!(v[1]["version"], "dada-2026-11-22.1");
}

#[test]
fn diff_of_the_two_examples_lists_units_rules_and_apis() {
    let out = unitgate(&["diff", EXAMPLE, CENTER]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("policy dada-2026-11-22.1 -> alibaba-2026-11-22.1"),
        "{text}"
    );
    for needle in [
        "by-city  removed",
        "by-user  added",
        "uc       removed",
        "unit-sz  added",
        "default_api  class    core",
        "failover/unit-sh",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let out = unitgate(&["diff", EXAMPLE, CENTER, "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let removed: Vec<&str> = v["diff"]["units"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["field"] == "removed")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(removed, ["uc", "jc"]);
    assert_eq!(v["traffic"], Value::Null);
}

#[test]
fn diff_of_a_gray_step_and_a_range_move_with_shares() {
    let d = dir("diff-step");
    let next = next_step(&d);
    let out = unitgate(&["diff", EXAMPLE, s(&next)]);
    let text = stdout(&out);
    assert!(
        text.contains("rule by-city (key city, domain 0~999): 10% of the key space moves"),
        "{text}"
    );
    assert!(text.contains("400~499  uc    jc  10%"), "{text}");
    assert!(text.contains("city-42-to-jc  10%   30%  20%"), "{text}");

    let out = unitgate(&["diff", EXAMPLE, s(&next), "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        v["diff"]["rules"][0]["range_moves"],
        json!([{"lo": 400, "hi": 499, "from": "uc", "to": "jc"}])
    );
    assert_eq!(v["diff"]["rules"][0]["moved_share"], 0.1);
    assert_eq!(v["diff"]["gray"][0]["to_percent"], 30.0);

    let same = unitgate(&["diff", EXAMPLE, EXAMPLE]);
    assert!(stdout(&same).contains("no routing change"));
}

#[test]
fn diff_replays_json_lines_and_envoy_access_log_records() {
    let d = dir("diff-traffic");
    let next = next_step(&d);
    let log = d.join("traffic.log");
    std::fs::write(&log, [
        r#"{"method":"GET","path":"/api/orders?city_id=450"}"#,
        r#"{"method":"GET","path":"/api/orders?city_id=100","headers":{"x-user-id":"u1"}}"#,
        "# an Envoy JSON access log line (see the README for its format)",
        r#"{"method":"POST","path":"/api/orders","req.x-city-id":"480","req.x-user-id":"-","req.cookie":null}"#,
        r#"{"method":"GET","path":"/api/profile?city_id=450"}"#,
        r#"{"method":"GET","path":"/admin/x"}"#,
        "",
    ].join("\n")).unwrap();
    let out = unitgate(&[
        "diff",
        EXAMPLE,
        s(&next),
        "--traffic",
        s(&log),
        "--local-unit",
        "uc",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("traffic: 2 of 5 requests would move (40%)"),
        "{text}"
    );
    assert!(text.contains("uc -> jc    2"), "{text}");
    assert!(text.contains("4     POST /api/orders"), "{text}");

    let out = unitgate(&[
        "diff",
        EXAMPLE,
        s(&next),
        "--traffic",
        s(&log),
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["traffic"]["requests"], 5);
    assert_eq!(v["traffic"]["moved"], 2);
    assert_eq!(v["traffic"]["by_api"], json!({"orders": 2}));
    assert_eq!(
        v["traffic"]["examples"][0]["path"],
        "/api/orders?city_id=450"
    );
    assert_eq!(v["traffic"]["examples"][1]["line"], 4);

    std::fs::write(&log, "{not json\n").unwrap();
    let out = unitgate(&["diff", EXAMPLE, s(&next), "--traffic", s(&log)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("traffic.log:1: not a JSON object"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn explain_decides_like_the_proxy() {
    let out = unitgate(&[
        "explain",
        EXAMPLE,
        "--local-unit",
        "uc",
        "http://shop/api/orders?city_id=600",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (
            v["unit"].as_str(),
            v["reason"].as_str(),
            v["crossed"].as_bool()
        ),
        (Some("jc"), Some("key_range"), Some(true))
    );
    assert_eq!(v["upstream"], "jc_backend");

    let out = unitgate(&[
        "explain",
        EXAMPLE,
        "--local-unit",
        "jc",
        "/api/orders/7",
        "-X",
        "post",
        "-H",
        "x-city-id: 12",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (v["unit"].as_str(), v["api"].as_str(), v["class"].as_str()),
        (Some("uc"), Some("orders"), Some("core"))
    );

    // The steps: the README's walk-through of user u16 in city 42 (bucket 735 < 1000).
    let out = unitgate(&[
        "explain",
        EXAMPLE,
        "--local-unit",
        "uc",
        "-X",
        "POST",
        "http://shop.example/api/orders?city_id=42",
        "-H",
        "x-user-id: u16",
        "-d",
        r#"{"sku":1}"#,
    ]);
    let text = stdout(&out);
    for line in [
        "api        orders: class core, rule by-city",
        "key        city = 42 from query city_id; transform number -> 42",
        "mapping    rule by-city: range 0~499 -> uc",
        "shard      uc (key_range)",
        "gray       rule city-42-to-jc: user=u16, bucket 735 vs threshold 1000 (10%), target jc",
        "gray ->    jc (gray)",
        "isolation  jc (gray)",
        "upstream          jc_backend",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let out = unitgate(&[
        "explain",
        EXAMPLE,
        "/api/orders",
        "-b",
        "city=700",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["trace"]["key"]["source"], "cookie city");
    assert_eq!(v["trace"]["mapping"], "rule by-city: range 500~999 -> jc");
    assert_eq!(v["trace"]["result"]["unit"], "jc");

    let out = unitgate(&["explain", EXAMPLE, "--local-unit", "nowhere", "/api/orders"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown unit \"nowhere\""),
        "{}",
        stderr(&out)
    );
}

fn export(to: &str) -> String {
    let out = unitgate(&[
        "export",
        EXAMPLE,
        "--to",
        to,
        "--local-unit",
        "uc",
        "--secret",
        "k",
        "--remote-upstream",
        "jcloud=peer_jcloud",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn export_writes_each_host_shape_with_the_plugin_configuration() {
    let envoy: Value = serde_yaml_ng::from_str(&export("envoy-filter")).unwrap();
    let cfg = &envoy["typed_config"]["config"];
    assert_eq!(
        cfg["vm_config"]["code"]["local"]["filename"],
        "/etc/unitgate/unitgate.wasm"
    );
    assert_eq!(cfg["allow_on_headers_stop_iteration"], true);
    let plugin: Value =
        serde_json::from_str(cfg["configuration"]["value"].as_str().unwrap()).unwrap();
    assert_eq!(plugin["local_unit"], "uc");
    assert_eq!(plugin["remote_upstreams"]["jcloud"], "peer_jcloud");
    assert_eq!(plugin["policy"], example());

    let ecds: Value = serde_yaml_ng::from_str(&export("ecds")).unwrap();
    assert_eq!(
        ecds["resources"][0]["@type"],
        "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig"
    );
    assert_eq!(ecds["version_info"], "dada-2026-11-22.1");

    let istio: Value = serde_yaml_ng::from_str(&export("istio")).unwrap();
    assert_eq!(istio["kind"], "WasmPlugin");
    assert_eq!(istio["spec"]["pluginConfig"]["fail_mode"], "closed");

    let nginx = export("nginx");
    assert!(nginx.contains("shm_kv * 1m;"), "{nginx}");
    assert!(
        nginx.contains("proxy_pass http://$unitgate_upstream;"),
        "{nginx}"
    );
    assert!(
        nginx.contains("proxy_set_header x-unitgate-ctx $unitgate_ctx;"),
        "{nginx}"
    );
    assert!(
        nginx.contains("set $unitgate_upstream uc_backend;"),
        "{nginx}"
    );
    let line = nginx
        .lines()
        .find(|l| l.trim_start().starts_with("proxy_wasm unitgate '"))
        .unwrap();
    let quoted = line
        .trim()
        .trim_start_matches("proxy_wasm unitgate '")
        .trim_end_matches("';");
    let plugin: Value = serde_json::from_str(&quoted.replace("\\\\", "\\")).unwrap();
    assert_eq!(plugin["nginx_ctx_variable"], "unitgate_ctx");
}

#[test]
fn import_appactive_writes_a_valid_policy() {
    let d = dir("appactive");
    std::fs::write(
        d.join("idSource.json"),
        r#"{"source":"arg,header,cookie","tokenKey":"r_id"}"#,
    )
    .unwrap();
    std::fs::write(
        d.join("idTransformer.json"),
        r#"[{"id":"userIdBetween","mod":"10000"}]"#,
    )
    .unwrap();
    std::fs::write(
        d.join("idUnitMapping.json"),
        r#"{"itemType":"UnitRuleItem","items":[
        {"name":"CENTER","conditions":[{"@userIdBetween":["0~4999"]}]},
        {"name":"UNIT","conditions":[{"@userIdBetween":["5000~9999"]}]}]}"#,
    )
    .unwrap();
    let out_path = d.join("imported.json");
    let out = unitgate(&[
        "import-appactive",
        "--dir",
        s(&d),
        "--unit",
        "center:center:hz:center_up",
        "--unit",
        "unit:normal:sh:unit_up",
        "-o",
        s(&out_path),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let check = unitgate(&["validate", s(&out_path)]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
    let explain = unitgate(&[
        "explain",
        s(&out_path),
        "/any?r_id=7777",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&explain)).unwrap();
    assert_eq!(v["unit"], "unit");

    let out = unitgate(&[
        "import-appactive",
        "--dir",
        s(&d.join("missing")),
        "--unit",
        "a:center:c:u",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("missing idSource.json"),
        "{}",
        stderr(&out)
    );
}

fn apollo() -> Fixture {
    Fixture::start(Options {
        open_api_token: Some("t0k3n".into()),
        hold: Duration::from_millis(300),
        ..Options::default()
    })
    .unwrap()
}

fn apollo_args(f: &Fixture) -> Vec<String> {
    [
        "--portal",
        &f.url(),
        "--token",
        "t0k3n",
        "--app-id",
        "unitgate",
        "--env",
        "PRO",
        "--operator",
        "ops",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect()
}

#[test]
fn publish_then_read_back_through_the_config_service() {
    let f = apollo();
    let mut args = vec!["publish".to_string(), EXAMPLE.to_string()];
    args.extend(apollo_args(&f));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = unitgate(&argv);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(
            "published dada-2026-11-22.1 to unitgate/default/unitgate.json (PRO): release 1"
        ),
        "{}",
        stdout(&out)
    );

    let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).build().into();
    let body = agent
        .get(format!(
            "{}/configs/unitgate/default/unitgate.json?ip=127.0.0.1",
            f.url()
        ))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let served: Value = serde_json::from_str(&body).unwrap();
    let content: Value =
        serde_json::from_str(served["configurations"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(content, example());

    // An invalid policy is refused and nothing is released.
    let d = dir("publish");
    let bad = d.join("bad.json");
    std::fs::write(&bad, r#"{"version":"x","units":[]}"#).unwrap();
    let mut args = vec!["publish".to_string(), s(&bad).to_string()];
    args.extend(apollo_args(&f));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = unitgate(&argv);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("refusing to publish"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("error at /default_api"),
        "{}",
        stderr(&out)
    );
    assert_eq!(f.release_count("unitgate", "default", "unitgate.json"), 1);

    // A wrong token: Apollo's 401 as one line.
    let out = unitgate(&[
        "publish",
        EXAMPLE,
        "--portal",
        &f.url(),
        "--token",
        "nope",
        "--app-id",
        "unitgate",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("Apollo answered 401"), "{err}");
}

#[test]
fn plan_cutover_writes_ordered_policies_with_their_checks() {
    let d = dir("cutover-plan");
    let next = next_step(&d);
    let out_dir = d.join("plan");
    let out = unitgate(&[
        "plan-cutover",
        EXAMPLE,
        s(&next),
        "--out",
        s(&out_dir),
        "--forbid-until",
        "2030-01-01T00:00:00Z",
        "--replication-cmd",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("plan.json")).unwrap()).unwrap();
    let actions: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["forbid", "wait-replication", "remap", "lift"]);
    assert_eq!(plan["steps"][1]["check"], json!({"command": "true"}));

    let forbid: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("1-forbid.json")).unwrap())
            .unwrap();
    assert_eq!(forbid["version"], "dada-2026-11-22.2-1-forbid");
    assert_eq!(
        forbid["rules"],
        example()["rules"],
        "still the current mapping"
    );
    let w = &forbid["isolation"]["write_forbidden"][0];
    assert_eq!(
        (w["key"].as_str(), w["ranges"].clone(), w["until"].as_str()),
        (
            Some("city"),
            json!(["400~499"]),
            Some("2030-01-01T00:00:00Z")
        )
    );
    // A write to a moving city is refused during the window; a read passes; another city writes.
    let forbid_file = out_dir.join("1-forbid.json");
    let explain = |args: &[&str]| -> Value {
        let mut all = vec![
            "explain",
            s(&forbid_file),
            "--format",
            "json",
            "--now",
            "2029-01-01T00:00:00Z",
        ];
        all.extend_from_slice(args);
        serde_json::from_str(&stdout(&unitgate(&all))).unwrap()
    };
    assert_eq!(
        explain(&["-X", "POST", "/api/orders?city_id=450"])["status"],
        503
    );
    assert_eq!(explain(&["/api/orders?city_id=450"])["unit"], "uc");
    assert_eq!(
        explain(&["-X", "POST", "/api/orders?city_id=300"])["unit"],
        "uc"
    );

    let remap: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("3-remap.json")).unwrap())
            .unwrap();
    assert_eq!(remap["rules"][0]["ranges"][1]["ranges"], json!(["400~999"]));
    assert_eq!(
        remap["isolation"]["write_forbidden"][0]["name"],
        "cutover-by-city"
    );
    let lift: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("4-lift.json")).unwrap())
            .unwrap();
    assert_eq!(lift["version"], "dada-2026-11-22.2");
    assert_eq!(lift["isolation"]["write_forbidden"], json!([]));

    let out = unitgate(&[
        "plan-cutover",
        EXAMPLE,
        EXAMPLE,
        "--replication-cmd",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("same version"), "{}", stderr(&out));
}

#[test]
fn plan_cutover_apply_runs_through_apollo_and_rolls_back_on_a_failed_check() {
    let d = dir("cutover-apply");
    let next = next_step(&d);
    let f = apollo();
    f.seed(
        "unitgate",
        "default",
        "unitgate.json",
        &std::fs::read_to_string(EXAMPLE).unwrap(),
    );
    // Stand-in for the proxies: the config service itself shows which version is released.
    let served = format!("{}/configs/unitgate/default/unitgate.json", f.url());
    let run = |check: &str| {
        let mut args: Vec<String> = [
            "plan-cutover",
            EXAMPLE,
            s(&next),
            "--out",
            s(&d.join(check)),
            "--replication-cmd",
            check,
            "--apply",
            "--served-url",
            &served,
            "--step-timeout",
            "2",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        args.extend(apollo_args(&f));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        unitgate(&argv)
    };
    let out = run("true");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("cutover done"));
    let content: Value = serde_json::from_str(
        &f.active_content("unitgate", "default", "unitgate.json")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(content["version"], "dada-2026-11-22.2");

    // Replication never catches up: stop after step 1 and publish what was served then.
    f.seed(
        "unitgate",
        "default",
        "unitgate.json",
        &std::fs::read_to_string(EXAMPLE).unwrap(),
    );
    let out = run("false");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("step 2 wait-replication failed its check"),
        "{}",
        stderr(&out)
    );
    let content: Value = serde_json::from_str(
        &f.active_content("unitgate", "default", "unitgate.json")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(content["version"], "dada-2026-11-22.2-1-forbid");
}

#[test]
fn errors_are_one_line_and_every_help_has_an_example() {
    let out = unitgate(&["validate", "/no/such/policy.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "unitgate: cannot read /no/such/policy.json: No such file or directory (os error 2)"
    );
    let out = unitgate(&["publish", EXAMPLE, "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("unitgate: unexpected argument '--bogus' found"),
        "{}",
        stderr(&out)
    );
    let out = unitgate(&["publish", EXAMPLE]);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("the following required arguments were not provided: --portal <PORTAL>"),
        "{err}"
    );
    for cmd in [
        "validate",
        "diff",
        "explain",
        "export",
        "import-appactive",
        "publish",
        "plan-cutover",
    ] {
        let out = unitgate(&[cmd, "--help"]);
        assert!(
            stdout(&out).contains("Example:"),
            "{cmd} --help has no example"
        );
    }
}
