//! `fleetsim estimate` end to end: the closed form of the quickstart, its comparison with a
//! simulated day, and bad input (exit status 2, nothing printed but the error).

mod common;
use common::fleetsim;

use std::fs;
use std::path::Path;
use std::process::Output;

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The line of `text` that starts, after its indent, with `name`.
fn line<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find(|l| l.trim_start().starts_with(name))
        .unwrap_or_else(|| panic!("no line `{name}` in:\n{text}"))
}

#[test]
fn the_quickstart_estimate_shows_every_step_with_its_numbers() {
    let output = fleetsim(&["estimate", "scenarios/quickstart.yaml"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for section in [
        "\ntraffic\n",
        "\nprefill\n",
        "\ndecode\n",
        "\nfleet size\n",
        "\npower and energy, 1 server × 4 L40S\n",
        "\ncost per day, 1 server × 4 L40S\n",
    ] {
        assert!(text.contains(section), "`{section}` missing:\n{text}");
    }
    // Every step is `name = formula [= numbers] = value`.
    for step in text.lines().filter(|l| l.starts_with("  ")) {
        assert!(step.matches(" = ").count() >= 2, "not a step: {step}");
    }
    assert!(
        line(&text, "requests/day").ends_with("= 5.787/s × 86,400 s = 500,000 requests"),
        "{text}"
    );
    assert!(line(&text, "mean prompt").contains("E[lognormal(median 600, σ 1), max 8000]"));
    assert!(line(&text, "batch B").contains("min(256, ⌊216,528 ÷"));
    assert!(line(&text, "scenario's fleet").ends_with("= 1 × 4 = 4 GPUs"));
    assert!(line(&text, "PUE").ends_with("= 1.2"));
    assert!(
        line(&text, "hardware: GPU rental, on demand")
            .ends_with("= 4 × 24 h × 100% × $1.86 = $178.56")
    );
    assert!(line(&text, "energy: IT").ends_with("= in the GPU rental = $0.00"));
    assert!(line(&text, "per 1M output tokens").contains("÷ 137,"));
}

#[test]
fn with_results_the_estimate_is_set_beside_the_simulated_day() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("quickstart");
    let out_arg = out.to_str().unwrap();
    let run = fleetsim(&[
        "run",
        "scenarios/quickstart.yaml",
        "--out",
        out_arg,
        "--quiet",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));

    let output = fleetsim(&[
        "estimate",
        "scenarios/quickstart.yaml",
        "--results",
        out_arg,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let table = &text[text
        .find("closed form vs simulation")
        .expect("a comparison")..];
    assert!(table.contains("summary.json: 1 run of 24.0 h"), "{table}");
    // Columns: figure, closed form, simulated, difference, meaning.
    let difference = |name: &str| -> f64 {
        let row = line(table, name);
        let cell = row[name.len() + 2..]
            .split_whitespace()
            .nth(2)
            .unwrap_or_else(|| panic!("no difference in `{row}`"));
        cell.trim_end_matches('%').parse().unwrap()
    };
    // The same fleet at the same prices.
    assert_eq!(difference("fleet GPUs"), 0.0);
    assert_eq!(difference("cost: hardware"), 0.0);
    assert!(
        line(table, "cost: hardware").ends_with("the same fleet at the same prices, busy or not")
    );
    // FLOPs follow the tokens, whatever the batches: the closed form counts the same work.
    assert!(difference("FLOP utilisation").abs() < 3.0, "{table}");
    assert!(difference("requests/day").abs() < 1.0, "{table}");
    assert!(difference("output tokens/day").abs() < 2.0, "{table}");
    // The load fills batches of about ten, not the full batch: the GPUs are busy far longer.
    assert!(difference("GPU busy") > 100.0, "{table}");
    assert!(line(table, "GPU busy").contains("not the full"), "{table}");
    assert!(difference("IT energy (kWh/day)") > 0.0, "{table}");
    assert!(table.contains("note: the price of queueing and of batches the load cannot fill"));
}

/// Runs `estimate` with `--results dir` and checks exit status 2, a message naming the
/// file and `expected`, and nothing on standard output.
fn assert_results_rejected(dir: &Path, expected: &[&str]) {
    let output = fleetsim(&[
        "estimate",
        "scenarios/quickstart.yaml",
        "--results",
        dir.to_str().unwrap(),
    ]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains("summary.json"), "{message}");
    for part in expected {
        assert!(message.contains(part), "expected `{part}` in: {message}");
    }
    assert!(!message.contains("panicked"), "{message}");
    assert_eq!(stdout(&output), "", "only the error is printed");
}

#[test]
fn a_malformed_results_folder_is_rejected_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_results_rejected(dir.path(), &["cannot read the results of `fleetsim run`"]);

    fs::write(dir.path().join("summary.json"), "{\"schema_version\": 3,").unwrap();
    assert_results_rejected(dir.path(), &["not valid JSON"]);

    let partial = r#"{"schema_version": 3, "scenario": {"name": "quickstart", "horizon_s": 86400},
        "runs": 1, "configuration": {"gpus": 4}, "headlines": []}"#;
    fs::write(dir.path().join("summary.json"), partial).unwrap();
    assert_results_rejected(
        dir.path(),
        &["headlines[key = cost_hardware_usd_per_day].mean: missing"],
    );
}

#[test]
fn bad_scenarios_and_options_are_rejected_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    let quickstart =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.yaml"))
            .unwrap();
    fs::write(&bad, quickstart.replace("servers: 1", "servers: 0")).unwrap();
    let output = fleetsim(&["estimate", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("bad.yaml"), "{}", stderr(&output));
    assert!(stderr(&output).contains("fleet.servers: must be at least 1, got 0"));

    // A closed loop has no offered rate: the volume must be given.
    let closed = dir.path().join("closed.yaml");
    let text = quickstart
        .replace("requests_per_day: 5e5", "concurrency: 64")
        .replace("  diurnal:\n    peak_to_trough: 3              # busiest hour has 3× the traffic of the quietest\n    peak_hour: 14\n", "");
    fs::write(&closed, text).unwrap();
    let output = fleetsim(&["estimate", closed.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("closed.yaml: workload.concurrency: a closed loop has no offered rate"),
        "{message}"
    );
    let given = fleetsim(&[
        "estimate",
        closed.to_str().unwrap(),
        "--requests-per-day",
        "5e5",
    ]);
    assert!(given.status.success(), "{}", stderr(&given));
    assert!(stdout(&given).contains("given (--requests-per-day) = 500,000 requests"));

    let output = fleetsim(&[
        "estimate",
        "scenarios/quickstart.yaml",
        "--utilization",
        "0",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("expected a share above 0 and at most 1"));
}
