//! Monte Carlo studies end to end: uncertain inputs, thread-independent bytes, the statistics
//! in the outputs, charts, the HTML report, and what an interrupted study leaves behind.

mod common;
use common::{files, fleetsim_into, uncertain_scenario, write_scenario};

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The study these tests run: six runs of half an hour.
fn uncertain() -> String {
    uncertain_scenario("30m", "5m", 6)
}

fn scenario(dir: &Path, text: &str) -> PathBuf {
    write_scenario(dir, "study.yaml", text)
}

fn run(scenario: &Path, out: &Path, extra: &[&str]) -> Output {
    fleetsim_into("run", scenario, out, &[&["--quiet"], extra].concat())
}

/// Runs the uncertain study into a fresh folder; the folder lives as long as the guard.
fn uncertain_study() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = run(&scenario(dir.path(), &uncertain()), &out, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (dir, out)
}

/// One run whose replicas are independent given their arrivals (open loop, round-robin, no
/// failures): with two threads they are simulated in two parts in parallel.
const REPLICAS_APART: &str = "
name: apart
study: {seed: 5, horizon: 20m, timeseries_interval: 1m, runs: 1}
workload:
  rate: 30/s
  prompt_tokens: {lognormal: {median: 400, sigma: 0.8}, max: 4000}
  output_tokens: {lognormal: {median: 150, sigma: 0.7}, max: 1000}
model: llama-3.1-8b
hardware: {gpu: l40s, gpus_per_server: 4}
fleet: {servers: 1, router: round-robin}
failures: {enabled: false}
network: {edge: {bandwidth: 20Mb/s, latency: 2ms}}
costs: {hardware: {rented: {gpu_hour: 1.5}}}
";

/// Runs `text` with one thread and with two; returns the files each wrote, by name, after
/// checking they are the same bytes.
fn same_bytes_on_one_and_two_threads(text: &str) -> Vec<(String, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), text);
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    assert!(run(&scenario, &one, &["--threads", "1"]).status.success());
    assert!(run(&scenario, &two, &["--threads", "2"]).status.success());
    let (a, b) = (files(&one), files(&two));
    assert_eq!(a.len(), b.len());
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs between 1 and 2 threads");
    }
    a
}

#[test]
fn replicas_in_parallel_write_the_bytes_of_one_simulation() {
    let files = same_bytes_on_one_and_two_threads(REPLICAS_APART);
    assert!(files.len() > 5, "{} files", files.len());
    let summary = &files.iter().find(|(n, _)| n == "summary.json").unwrap().1;
    let summary: Value = serde_json::from_slice(summary).unwrap();
    let requests = &summary["first_run"]["results"]["requests"];
    assert!(
        requests["completed"].as_u64().unwrap() > 30_000,
        "{requests}"
    );
}

#[test]
fn one_thread_and_two_write_identical_bytes() {
    let a = same_bytes_on_one_and_two_threads(&uncertain());
    let names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "summary.json",
        "summary.md",
        "runs.csv",
        "timeseries.csv",
        "report.html",
        "charts/cost.png",
        "charts/cost.svg",
        "charts/tornado.svg",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
}

#[test]
fn runs_csv_holds_every_draw_and_the_summary_its_statistics() {
    let (_dir, out) = uncertain_study();
    let mut reader = csv::Reader::from_path(out.join("runs.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    for input in [
        "input:workload.rate",
        "input:workload.output_tokens.lognormal.median",
        "input:perf.memory_efficiency",
        "input:facility.pue",
        "input:costs.hardware.rented.gpu_hour",
    ] {
        assert!(
            headers.iter().any(|h| h == input),
            "{input} missing: {headers:?}"
        );
    }
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 6);
    let values = |name: &str| -> Vec<f64> {
        rows.iter()
            .map(|r| r[column(name)].parse().unwrap())
            .collect()
    };
    let rates = values("input:workload.rate");
    assert!(rates.iter().all(|r| (3.0..5.0).contains(r)));
    let prices = values("input:costs.hardware.rented.gpu_hour");
    assert!(prices.iter().all(|p| [2.0, 2.95, 4.0].contains(p)));

    // The summary's spread of the daily cost is the arithmetic of runs.csv's column.
    let costs = values("cost_usd_per_day");
    let n = costs.len() as f64;
    let mean = costs.iter().sum::<f64>() / n;
    let sd = (costs.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let half = 2.571 * sd / n.sqrt(); // t(0.975, 5 degrees of freedom)
    let json: Value = serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    let cost = json["headlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["key"] == "cost_usd_per_day")
        .unwrap();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
    assert!(close(cost["mean"].as_f64().unwrap(), mean));
    assert!(close(cost["sd"].as_f64().unwrap(), sd));
    assert!(close(cost["ci95_low"].as_f64().unwrap(), mean - half));
    assert!(close(cost["ci95_high"].as_f64().unwrap(), mean + half));
    // The hardware price drives the rented bill: the strongest input.
    assert_eq!(json["inputs"][0]["field"], "costs.hardware.rented.gpu_hour");
    assert!(
        json["inputs"][0]["rank_correlation_with_cost"]
            .as_f64()
            .unwrap()
            > 0.8
    );
    let attainment = json["slo"]["attainment"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&attainment));
}

#[test]
fn charts_are_valid_png_and_svg_with_their_titles_and_the_html_holds_them_all() {
    let (_dir, out) = uncertain_study();
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    let titles = [
        ("cost", "Daily cost"),
        ("utilisation", "GPU utilisation and facility power"),
        ("latency", "Latency distributions"),
        ("queue", "Requests waiting"),
        ("tornado", "What drives the daily cost"),
    ];
    for (stem, title) in titles {
        let png = fs::read(out.join(format!("charts/{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{stem}.png is a PNG");
        assert!(png.len() > 10_000, "{stem}.png has content");
        let svg = fs::read_to_string(out.join(format!("charts/{stem}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(title), "{stem}.svg is titled");
        assert!(
            html.contains(&format!("<figure id=\"{stem}\">")),
            "report.html shows {stem}"
        );
    }
    assert!(html.contains("cost (ρ") || html.contains("ρ with cost"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "self-contained"
    );
    // Axis labels carry units.
    let cost = fs::read_to_string(out.join("charts/cost.svg")).unwrap();
    assert!(cost.contains("cost per day ($)") && cost.contains("$ per day"));
}

#[test]
fn bad_distributions_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (bad, expected) in [
        ("{uniform: [3/s, 5/s]}", "{uniform: [5/s, 3/s]}"),
        (
            "{normal: {mean: 1.2, sd: 0.03}}",
            "{normal: {mean: 1.2, sd: -0.03}}",
        ),
        ("weights: [1, 2, 1]", "weights: [1, 2]"),
    ] {
        let text = uncertain().replace(bad, expected);
        let out = dir.path().join("never");
        let output = run(&scenario(dir.path(), &text), &out, &[]);
        let message = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{message}");
        assert!(message.contains("study.yaml:"), "{message}");
        let detail = match bad {
            b if b.starts_with("{uniform") => "uniform: expected low ≤ high, got [5, 3]",
            b if b.starts_with("{normal") => "sd ≥ 0",
            _ => "3 values but 2 weights",
        };
        assert!(message.contains(detail), "expected `{detail}` in {message}");
        assert!(!out.exists());
    }
}

#[test]
fn an_interrupted_study_leaves_the_old_results_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("old.txt"), "previous results").unwrap();
    // Long enough to be interrupted: many runs of a busy day.
    let text = uncertain()
        .replace("horizon: 30m", "horizon: 24h")
        .replace("runs: 6", "runs: 400");
    let scenario = scenario(dir.path(), &text);
    let child = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // SIGINT, as Ctrl-C sends.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("interrupted"));
    assert_eq!(
        fs::read_to_string(out.join("old.txt")).unwrap(),
        "previous results"
    );
    assert!(!out.join("summary.json").exists());
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no staging folder is left: {leftovers:?}"
    );
}

#[test]
fn runs_and_threads_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), &uncertain());
    let out = dir.path().join("out");
    let zero = run(&scenario, &out, &["--runs", "0"]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&zero.stderr).contains("--runs"));
    let two = run(&scenario, &out, &["--runs", "2"]);
    assert!(two.status.success());
    let runs = fs::read_to_string(out.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 3, "--runs overrides study.runs");
}
