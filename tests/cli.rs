//! The `fleetsim` binary end to end: shipped scenarios, outputs, determinism, bad input.

mod common;
use common::{fleetsim, fleetsim_into, write_scenario};

use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::Output;

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn run_into(scenario: &Path, out: &Path, extra: &[&str]) -> Output {
    fleetsim_into("run", scenario, out, extra)
}

/// A small scenario that runs in well under a second.
const SMALL: &str = "
name: small
workload:
  rate: 4/s
  diurnal: {peak_to_trough: 2, peak_hour: 0}
  prompt_tokens: {lognormal: {median: 300, sigma: 0.7}, max: 3000}
  output_tokens: {lognormal: {median: 100, sigma: 0.6}, max: 800}
model: llama-3.1-8b
hardware: {gpu: h100-sxm, gpus_per_server: 2}
fleet: {servers: 1, router: least-outstanding-requests}
study: {seed: 3, horizon: 20m, timeseries_interval: 1m}
";

#[test]
fn quickstart_writes_the_study_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("quickstart");
    let output = run_into(Path::new("scenarios/quickstart.yaml"), &out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("TTFT"), "{printed}");

    let json: Value = serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 3);
    assert_eq!(json["scenario"]["name"], "quickstart");
    assert_eq!(json["runs"], 1);
    let first = &json["first_run"];
    let r = &first["results"]["requests"];
    let count = |k: &str| r[k].as_u64().unwrap();
    assert!(count("arrived") > 400_000);
    assert_eq!(
        count("arrived"),
        count("completed") + count("rejected") + count("failed") + count("in_flight")
    );
    let cost = &first["cost"];
    let lines = cost["lines"].as_array().unwrap();
    let total: f64 = lines
        .iter()
        .map(|l| l["usd_per_day"].as_f64().unwrap())
        .sum();
    assert!((total - cost["total_usd_per_day"].as_f64().unwrap()).abs() < 1e-6);
    assert!(total > 0.0);
    let headline = json["headlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["key"] == "cost_usd_per_day")
        .unwrap();
    assert_eq!(headline["mean"].as_f64().unwrap(), total);
    let energy = &first["energy"];
    assert!(energy["facility_kwh"].as_f64().unwrap() > energy["it_kwh"].as_f64().unwrap());
    let markdown = fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(markdown.contains("## The answer") && markdown.contains("### Latency"));
    assert!(markdown.contains("### Cost per day") && markdown.contains("### Power and energy"));
    let csv = fs::read_to_string(out.join("timeseries.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 1440,
        "a header and one row per minute"
    );
    assert!(csv.starts_with("t_start_s,duration_s,arrivals_per_s_p5,arrivals_per_s_p50,"));
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",pue_p5,pue_p50,pue_p95")
    );
    let runs = fs::read_to_string(out.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 2);
    assert!(
        runs.starts_with("run,cost_usd_per_day,"),
        "no uncertain inputs: {runs}"
    );
    assert!(out.join("report.html").exists());
}

#[test]
fn every_shipped_scenario_checks() {
    for entry in fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        let output = fleetsim(&["check", path.to_str().unwrap()]);
        assert!(
            output.status.success(),
            "{}: {}",
            path.display(),
            stderr(&output)
        );
    }
}

#[test]
fn same_scenario_and_seed_give_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "small.yaml", SMALL);
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    for out in [&a, &b] {
        assert!(run_into(&scenario, out, &[]).status.success());
    }
    for file in [
        "summary.json",
        "summary.md",
        "timeseries.csv",
        "runs.csv",
        "report.html",
    ] {
        assert_eq!(
            fs::read(a.join(file)).unwrap(),
            fs::read(b.join(file)).unwrap(),
            "{file}"
        );
    }
    assert!(run_into(&scenario, &c, &["--seed", "4"]).status.success());
    assert_ne!(
        fs::read(a.join("summary.json")).unwrap(),
        fs::read(c.join("summary.json")).unwrap(),
        "another seed draws another day"
    );
}

#[test]
fn a_second_run_replaces_the_folder_whole() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "small.yaml", SMALL);
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("stale.txt"), "old").unwrap();
    assert!(run_into(&scenario, &out, &[]).status.success());
    assert!(!out.join("stale.txt").exists());
    assert!(out.join("summary.json").exists());
}

/// Runs a bad scenario and checks exit status 2, the message, and that nothing was written.
fn assert_rejected(text: Option<&str>, expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = match text {
        Some(text) => write_scenario(dir.path(), "bad.yaml", text),
        None => dir.path().join("missing.yaml"),
    };
    let out = dir.path().join("out");
    let output = run_into(&scenario, &out, &[]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    for part in expected {
        assert!(message.contains(part), "expected `{part}` in: {message}");
    }
    assert!(
        message.contains("bad.yaml") || message.contains("missing.yaml"),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");
    let written: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(!out.exists(), "nothing is written: {written:?}");
    assert!(written.len() <= 1, "no staging folder is left: {written:?}");
}

#[test]
fn malformed_yaml_is_rejected_with_its_line() {
    // An unterminated quote: the YAML parser reports where the document ended.
    assert_rejected(
        Some("name: \"quickstart\nworkload: 1\n"),
        &[
            "bad.yaml:3:1",
            "unexpected end of stream",
            "quoted scalar at line 1 column 7",
        ],
    );
}

#[test]
fn unknown_keys_suggest_the_nearest_valid_key() {
    let text = SMALL.replace("fleet: {servers: 1,", "fleet: {servrs: 1,");
    assert_rejected(
        Some(&text),
        &[
            "bad.yaml:10:",
            "fleet.servrs",
            "unknown field `servrs`",
            "did you mean `servers`",
        ],
    );
}

#[test]
fn a_negative_rate_is_rejected() {
    let text = SMALL.replace("rate: 4/s", "rate: -3/s");
    assert_rejected(Some(&text), &["bad.yaml:4:3", "workload.rate", "-3"]);
}

#[test]
fn zero_servers_are_rejected() {
    let text = SMALL.replace("servers: 1", "servers: 0");
    assert_rejected(Some(&text), &["fleet.servers", "must be at least 1, got 0"]);
}

#[test]
fn a_model_that_does_not_fit_says_by_how_much() {
    let text = SMALL.replace("llama-3.1-8b", "llama-3.1-405b");
    assert_rejected(
        Some(&text),
        &[
            "does not fit",
            "short by",
            "GiB per GPU",
            "GPUs per replica",
        ],
    );
}

#[test]
fn a_pue_below_one_is_rejected() {
    let text = format!("{SMALL}facility: {{pue: 0.95}}\n");
    assert_rejected(
        Some(&text),
        &[
            "bad.yaml:",
            "facility.pue",
            "expected a PUE (facility ÷ IT power) ≥ 1",
            "0.95",
        ],
    );
}

#[test]
fn negative_prices_are_rejected() {
    let text = format!("{SMALL}costs: {{egress_per_gb: -0.05}}\n");
    assert_rejected(
        Some(&text),
        &[
            "costs.egress_per_gb",
            "expected a price in dollars ≥ 0",
            "-0.05",
        ],
    );
    let text = format!("{SMALL}costs: {{hardware: {{rented: {{gpu_hour: -2}}}}}}\n");
    assert_rejected(
        Some(&text),
        &[
            "costs.hardware.rented.gpu_hour",
            "expected a price in dollars ≥ 0",
        ],
    );
}

#[test]
fn a_tariff_without_24_hours_is_rejected() {
    let text = format!("{SMALL}costs: {{energy: {{hourly: [0.1, 0.2, 0.3]}}}}\n");
    assert_rejected(
        Some(&text),
        &[
            "costs.energy.hourly",
            "expected 24 prices in $ per kWh",
            "got 3",
        ],
    );
}

#[test]
fn a_missing_file_is_rejected() {
    assert_rejected(None, &["cannot read the scenario"]);
}

#[test]
fn an_unknown_catalog_id_suggests_the_nearest() {
    let text = SMALL.replace("gpu: h100-sxm", "gpu: h100");
    assert_rejected(
        Some(&text),
        &[
            "hardware.gpu",
            "unknown GPU `h100`",
            "did you mean `h100-sxm`",
        ],
    );
}

#[test]
fn catalog_lists_every_gpu_and_model() {
    let output = fleetsim(&["catalog"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for id in [
        "a100-40gb",
        "a100-80gb",
        "h100-sxm",
        "h100-pcie",
        "h200",
        "b200",
        "l40s",
        "l4",
        "mi300x",
        "gpt2",
        "gpt2-xl",
        "gpt3-175b",
        "llama-2-7b",
        "llama-2-13b",
        "llama-2-70b",
        "llama-3.1-8b",
        "llama-3.1-70b",
        "llama-3.1-405b",
        "mixtral-8x7b",
        "deepseek-v3",
        "gpt4-class-moe",
    ] {
        assert!(text.contains(id), "{id} missing from:\n{text}");
    }
    let sourced = fleetsim(&["catalog", "models", "--sources"]);
    let text = String::from_utf8_lossy(&sourced.stdout);
    assert!(text.contains("gpt4-class-moe: ESTIMATE"), "{text}");
    assert!(!text.contains("h100-sxm"), "models only: {text}");
}

#[test]
fn single_steps_give_the_figures_of_runs_of_steps() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "small.yaml", SMALL);
    let headlines = |extra: &[&str]| -> Vec<(String, f64)> {
        let out = dir.path().join(format!("out{}", extra.len()));
        let output = run_into(
            &scenario,
            &out,
            &[&["--quiet", "--runs", "2"], extra].concat(),
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let json: Value =
            serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
        json["headlines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["key"].as_str().unwrap().to_string(),
                    h["mean"].as_f64().unwrap_or(f64::NAN),
                )
            })
            .collect()
    };
    let (runs, single) = (headlines(&[]), headlines(&["--single-step"]));
    assert_eq!(runs.len(), single.len());
    for ((key, a), (_, b)) in runs.iter().zip(&single) {
        let equal =
            (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + 1e-12;
        assert!(equal, "{key}: {a} with runs, {b} one step at a time");
    }
}

/// A reader that stops early (`fleetsim … | head`) ends the output quietly, without a panic.
#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    // A pipe whose reading end is closed before fleetsim starts: its first line meets it.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(["catalog", "gpus"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    const SIGPIPE: i32 = 13;
    assert_eq!(output.status.signal(), Some(SIGPIPE), "{:?}", output.status);
}
