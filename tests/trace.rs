//! Trace replay and `fleetsim fit`: replays keep the trace's requests and their order, rate
//! scaling multiplies them, a fitted workload reproduces the trace, bad rows are named or
//! skipped and counted, and every format is told apart.

mod common;
use common::{fleetsim, fleetsim_into, fleetsim_ok, write_scenario};

use fleetsim::engine::{Streams, simulate_keeping_completions};
use fleetsim::scenario::{Scenario, ScenarioFile, Variant, from_yaml};
use fleetsim::stats::quantile;
use fleetsim::workload::trace::BadRows;
use fleetsim::workload::{Request, RequestSource, Trace};
use std::fs;
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/traces")
        .join(name)
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A scenario replaying `trace_keys` (the keys of `workload.trace`, flow style) on a fleet
/// far larger than the traffic needs.
fn replay_yaml(trace_keys: &str, extra_workload: &str, horizon: &str) -> String {
    format!(
        "
workload:
  trace: {{{trace_keys}}}
  {extra_workload}
model: llama-3.1-8b
hardware: {{gpu: h100-sxm, gpus_per_server: 8}}
fleet: {{servers: 4, router: least-outstanding-requests}}
failures: {{enabled: false}}
study: {{horizon: {horizon}, timeseries_interval: 1m}}
"
    )
}

/// Every request of run `run` of `scenario`.
fn requests(scenario: &Scenario, run: u64) -> Vec<Request> {
    let streams = Streams {
        seed: scenario.seed,
        run,
    };
    let horizon = fleetsim::engine::SimTime::from_secs(scenario.horizon.0);
    let mut source = RequestSource::new(&scenario.workload, &streams);
    std::iter::from_fn(|| source.next_before(horizon)).collect()
}

#[test]
fn replay_preserves_the_count_and_order_of_requests() {
    for (file, requests_in_file) in [
        ("azure-conv-2000.csv", 2000),
        ("mooncake-conv-1000.jsonl", 1000),
        ("burstgpt-synthetic.csv", 58),
    ] {
        let path = data(file);
        let trace = Trace::read(&path, None, BadRows::Reject).unwrap();
        assert_eq!(trace.len(), requests_in_file, "{file}");
        let yaml = replay_yaml(&format!("file: {}", path.display()), "", "1h");
        let scenario = from_yaml(&yaml, "replay").unwrap();
        let replayed = requests(&scenario, 0);
        assert_eq!(replayed.len(), trace.len(), "{file}");
        for (i, (request, record)) in replayed.iter().zip(trace.records()).enumerate() {
            assert_eq!(request.id, i as u64);
            assert_eq!(
                request.arrival,
                fleetsim::engine::SimTime::from_secs(record.time_s),
                "{file} request {i}"
            );
            assert_eq!(
                (request.prompt_tokens, request.output_tokens),
                (record.prompt_tokens, record.output_tokens),
                "{file} request {i}"
            );
        }
        // Through the engine: every request arrives and completes on a large fleet.
        let run = simulate_keeping_completions(&scenario, Streams { seed: 1, run: 0 });
        let r = run.summary.requests;
        assert_eq!(r.arrived, requests_in_file as u64, "{file}");
        assert_eq!(r.completed, r.arrived, "{file}");
        let completions = run.completions.expect("kept");
        let mut ids: Vec<u64> = completions.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            (0..requests_in_file as u64).collect::<Vec<_>>(),
            "{file}"
        );
    }
}

#[test]
fn rate_scale_k_gives_k_times_the_requests() {
    let path = data("azure-conv-2000.csv");
    let n = 2000.0;
    for k in [0.3, 1.0, 2.0, 3.6] {
        let yaml = replay_yaml(
            &format!("file: {}, rate_scale: {k}", path.display()),
            "",
            "1h",
        );
        let scenario = from_yaml(&yaml, "scaled").unwrap();
        // Whole copies are exact; the thinned copy keeps each request with probability
        // q = frac(k): binomial, sd √(n·q·(1 − q)).
        let q = k - f64::floor(k);
        let sd = (n * q * (1.0 - q)).sqrt();
        let runs = 20;
        let counts: Vec<f64> = (0..runs)
            .map(|run| requests(&scenario, run).len() as f64)
            .collect();
        for count in &counts {
            assert!((count - k * n).abs() <= 4.0 * sd, "k {k}: {count} requests");
        }
        let mean = counts.iter().sum::<f64>() / runs as f64;
        assert!(
            (mean - k * n).abs() <= 4.0 * sd / (runs as f64).sqrt(),
            "k {k}: mean {mean}"
        );
        if q > 0.0 {
            assert_ne!(counts[0], counts[1], "runs thin differently");
        }
        // Arrivals stay in order.
        let replayed = requests(&scenario, 0);
        assert!(replayed.windows(2).all(|w| w[0].arrival <= w[1].arrival));
    }
    // A sweep's load multiplier scales the replay the same way.
    let yaml = replay_yaml(&format!("file: {}", path.display()), "", "1h");
    let mut file = ScenarioFile::parse(&yaml, "swept").unwrap();
    file.set_variant(Variant {
        load: 2.0,
        ..Variant::default()
    });
    assert_eq!(requests(&file.scenario(0).unwrap(), 0).len(), 4000);
}

#[test]
fn a_looped_replay_fills_the_horizon_at_the_traces_rate() {
    let path = data("azure-conv-2000.csv");
    let trace = Trace::read(&path, None, BadRows::Reject).unwrap();
    let yaml = replay_yaml(
        &format!("file: {}, loop: true, time_scale: 2", path.display()),
        "diurnal: {peak_to_trough: 3, peak_hour: 12}",
        "24h",
    );
    let scenario = from_yaml(&yaml, "looped").unwrap();
    let replayed = requests(&scenario, 0);
    // Time-warped by the profile, a day carries the trace's mean rate: one pass per period.
    let per_day = 86_400.0 / (trace.period_s() * 2.0) * 2000.0;
    assert!(
        (replayed.len() as f64 / per_day - 1.0).abs() < 0.005,
        "{} vs {per_day}",
        replayed.len()
    );
    // The busiest hour carries about three times the quietest's requests.
    let mut hourly = [0.0f64; 24];
    for r in &replayed {
        hourly[(r.arrival.secs() / 3600.0) as usize] += 1.0;
    }
    let ratio = hourly[12] / hourly[0];
    assert!((ratio / 3.0 - 1.0).abs() < 0.05, "{ratio}");
}

#[test]
fn a_fitted_workload_reproduces_the_traces_rate_and_length_quantiles() {
    let path = data("azure-conv-2000.csv");
    let output = fleetsim(&["fit", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let fitted = String::from_utf8(output.stdout).unwrap();
    let yaml = format!(
        "{fitted}
model: llama-3.1-8b
hardware: {{gpu: h100-sxm}}
fleet: {{servers: 1}}
study: {{horizon: 24h}}
"
    );
    let scenario = from_yaml(&yaml, "fitted").unwrap();
    let drawn = requests(&scenario, 0);

    let trace = Trace::read(&path, None, BadRows::Reject).unwrap();
    let trace_rate = (trace.len() - 1) as f64 / trace.span_s();
    let rate = drawn.len() as f64 / 86_400.0;
    assert!(
        (rate / trace_rate - 1.0).abs() < 0.05,
        "{rate} vs {trace_rate}"
    );

    let sorted = |values: Vec<f64>| {
        let mut values = values;
        values.sort_by(f64::total_cmp);
        values
    };
    let columns: [(&str, Vec<f64>, Vec<f64>); 2] = [
        (
            "prompt",
            trace
                .records()
                .map(|r| f64::from(r.prompt_tokens))
                .collect(),
            drawn.iter().map(|r| f64::from(r.prompt_tokens)).collect(),
        ),
        (
            "output",
            trace
                .records()
                .map(|r| f64::from(r.output_tokens))
                .collect(),
            drawn.iter().map(|r| f64::from(r.output_tokens)).collect(),
        ),
    ];
    for (name, in_trace, in_fit) in columns {
        let (in_trace, in_fit) = (sorted(in_trace), sorted(in_fit));
        for p in [0.5, 0.9, 0.99] {
            let (t, f) = (quantile(&in_trace, p), quantile(&in_fit, p));
            assert!(
                (f / t - 1.0).abs() < 0.05,
                "{name} p{}: {f} vs {t}",
                p * 100.0
            );
        }
    }

    // The lognormal form is a valid workload too.
    let output = fleetsim(&["fit", path.to_str().unwrap(), "--lengths", "lognormal"]);
    let lognormal = String::from_utf8(output.stdout).unwrap();
    assert!(lognormal.contains("lognormal: {median:"), "{lognormal}");
    from_yaml(&yaml.replace(&fitted, &lognormal), "fitted-lognormal").unwrap();
}

/// A folder with an Azure trace whose line 6 has a bad output length, and a scenario
/// replaying it.
fn bad_trace_folder() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(data("azure-conv-2000.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().take(40).map(str::to_string).collect();
    lines[5] = "2023-11-16 18:15:52.0000000,120,ten".into();
    fs::write(dir.path().join("bad.csv"), lines.join("\n")).unwrap();
    let scenario = write_scenario(
        dir.path(),
        "bad.yaml",
        &replay_yaml("file: bad.csv", "", "10m"),
    );
    (dir, scenario)
}

#[test]
fn a_bad_row_stops_with_its_line_and_column_and_writes_nothing() {
    let (dir, scenario) = bad_trace_folder();
    let out = dir.path().join("out");
    let output = fleetsim_into("run", &scenario, &out, &[]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains(
            "bad.csv:6:33: GeneratedTokens: expected a whole number of tokens ≥ 0, got `ten`"
        ),
        "{err}"
    );
    assert!(!out.exists());
    let output = fleetsim(&["fit", dir.path().join("bad.csv").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("bad.csv:6:33"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn skipped_bad_rows_are_counted_in_the_summary() {
    let (dir, scenario) = bad_trace_folder();
    let out = dir.path().join("out");
    let output = fleetsim_ok("run", &scenario, &out, &["--skip-bad-rows"]);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains("38 requests read from bad.csv (azure); 0 rows without tokens left out; 1 bad row skipped (the first: line 6, GeneratedTokens"),
        "{printed}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    let trace = &json["configuration"]["trace"];
    assert_eq!(trace["rows_skipped"], 1, "{trace}");
    assert_eq!(trace["requests"], 38);
    assert_eq!(json["first_run"]["results"]["requests"]["arrived"], 38);
    let markdown = fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(markdown.contains("1 bad row skipped"));
    let output = fleetsim(&[
        "fit",
        dir.path().join("bad.csv").to_str().unwrap(),
        "--skip-bad-rows",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 bad row skipped"));
}

#[test]
fn every_format_is_told_apart_or_named() {
    for (file, format) in [
        ("azure-conv-2000.csv", "azure"),
        ("azure-code-2000.csv", "azure"),
        ("burstgpt-synthetic.csv", "burstgpt"),
        ("mooncake-conv-1000.jsonl", "mooncake"),
    ] {
        let path = data(file);
        let output = fleetsim(&["fit", path.to_str().unwrap()]);
        assert!(output.status.success(), "{file}: {}", stderr(&output));
        let printed = String::from_utf8_lossy(&output.stdout);
        assert!(
            printed.starts_with(&format!("# fleetsim fit: {file} ({format} trace)")),
            "{printed}"
        );
        let named = fleetsim(&["fit", path.to_str().unwrap(), "--format", format]);
        assert_eq!(named.stdout, output.stdout, "{file}");
    }
    // BurstGPT's failed requests (0 response tokens) are left out and counted.
    let output = fleetsim(&["fit", data("burstgpt-synthetic.csv").to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("2 rows without prompt or output tokens")
    );
    // A named format whose columns are missing.
    let output = fleetsim(&[
        "fit",
        data("azure-conv-2000.csv").to_str().unwrap(),
        "--format",
        "burstgpt",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("expected a column `Request tokens`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn trace_keys_are_checked_and_exclude_drawn_arrivals() {
    let dir = tempfile::tempdir().unwrap();
    let trace = data("azure-conv-2000.csv");
    let file = format!("file: {}", trace.display());
    for (trace_keys, workload, expected) in [
        (
            file.clone(),
            "rate: 5/s",
            "workload.rate: a trace gives the arrivals",
        ),
        (
            file.clone(),
            "prompt_tokens: 100",
            "workload.prompt_tokens: a trace gives the arrivals and the lengths",
        ),
        (
            file.clone(),
            "diurnal: {peak_to_trough: 2}",
            "workload.diurnal: shapes a looped trace",
        ),
        (
            format!("{file}, rate_scale: 0"),
            "",
            "workload.trace.rate_scale",
        ),
        (format!("{file}, format: csv"), "", "unknown value `csv`"),
        (
            "file: missing.csv".into(),
            "",
            "workload.trace.file: cannot read the trace",
        ),
    ] {
        let scenario = write_scenario(
            dir.path(),
            "keys.yaml",
            &replay_yaml(&trace_keys, workload, "10m"),
        );
        let output = fleetsim(&["check", scenario.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{trace_keys} {workload}");
        let err = stderr(&output);
        assert!(err.contains("keys.yaml:"), "{err}");
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

/// Three runs on one thread and on two; and one run whose replicas (behind a random
/// router) are simulated in two parts on two threads.
#[test]
fn a_thinned_replay_gives_the_same_bytes_at_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = replay_yaml(
        &format!(
            "file: {}, rate_scale: 1.5, loop: true",
            data("azure-conv-2000.csv").display()
        ),
        "",
        "15m",
    );
    let runs = yaml.replace("study: {", "study: {runs: 3, ");
    let parts = yaml.replace("least-outstanding-requests", "random");
    for (name, yaml) in [("runs", runs), ("parts", parts)] {
        let scenario = write_scenario(dir.path(), &format!("{name}.yaml"), &yaml);
        let (one, two) = (
            dir.path().join(format!("{name}-1")),
            dir.path().join(format!("{name}-2")),
        );
        fleetsim_ok("run", &scenario, &one, &["--threads", "1", "--quiet"]);
        fleetsim_ok("run", &scenario, &two, &["--threads", "2", "--quiet"]);
        for file in ["summary.json", "runs.csv", "timeseries.csv"] {
            assert_eq!(
                fs::read(one.join(file)).unwrap(),
                fs::read(two.join(file)).unwrap(),
                "{name}: {file}"
            );
        }
    }
}

#[test]
fn the_shipped_replays_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mooncake");
    let output = fleetsim_ok(
        "run",
        Path::new("scenarios/mooncake-replay.yaml"),
        &out,
        &[],
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains("2,000 arrived, 2,000 completed"),
        "{printed}"
    );
}
