//! `fleetsim validate` end to end: predictions a hand calculation can check, the outputs,
//! malformed files, and a fit that recovers the efficiencies that made its data.

mod common;
use common::{fleetsim, fleetsim_into, write_scenario};

use fleetsim::engine::SimTime;
use fleetsim::perf_model::{Calibration, DEFAULTS, PerfModel, StepWork};
use fleetsim::units::Seconds;
use fleetsim::validate::{self, Measurement, Metric, Setup, Statistic, predict};
use std::fs;
use std::path::Path;
use std::process::Output;

const HEADER: &str = "model,gpu,precision,tensor_parallel,concurrency,input_tokens,output_tokens,metric,statistic,value,source,lab_note";
const PROMPT: u64 = 200;
const OUTPUT: u64 = 50;

/// One client on one H100 serving Llama-3.1 8B, fixed lengths: `metric,statistic,value`.
fn one_client_row(metric: &str, statistic: &str, value: f64) -> String {
    format!(
        "llama-3.1-8b,h100-sxm,bf16,1,1,{PROMPT},{OUTPUT},{metric},{statistic},{value},a test,kept as is"
    )
}

/// Writes `rows` under the header into `dir/name` and validates it into `dir/out`.
fn validate_rows(dir: &Path, name: &str, rows: &[String]) -> (Output, std::path::PathBuf) {
    let file = write_scenario(dir, name, &format!("{HEADER}\n{}\n", rows.join("\n")));
    let out = dir.join("out");
    (fleetsim_into("validate", &file, &out, &[]), out)
}

fn setup() -> Setup {
    Setup {
        model: "llama-3.1-8b".into(),
        gpu: "h100-sxm".into(),
        precision: fleetsim::catalog::Precision::Bf16,
        tensor_parallel: 1,
        concurrency: 1,
        max_seqs: 1,
        input_tokens: PROMPT as f64,
        output_tokens: OUTPUT as f64,
        length_sigma: 0.0,
    }
}

/// The predictions worked out without the simulator: alone on its replica, each request is
/// one prefill step and then one decode step per further token, back to back, and the GPU
/// draws each step's power for the step's (tick-rounded) time.
struct HandWorked {
    ttft_ms: f64,
    itl_ms: f64,
    throughput: f64,
    power_w: f64,
}

fn hand_worked() -> HandWorked {
    let scenario = predict::scenario(&setup(), &DEFAULTS, Seconds(600.0)).unwrap();
    let perf = PerfModel::new(&scenario.replica);
    let mut clock = SimTime::ZERO;
    let mut energy = 0.0;
    let mut step = |work: &StepWork| {
        let cost = perf.step(work);
        let start = clock;
        clock = clock + cost.time;
        let seconds = clock.secs() - start.secs();
        energy += scenario.gpu_power.power(perf.activity(&cost, cost.time)).0 * seconds;
        seconds
    };
    let mut prefill = StepWork::default();
    prefill.add_sequence(0, PROMPT, true);
    let ttft = step(&prefill);
    let mut decode_total = 0.0;
    for generated in 1..OUTPUT {
        let mut decode = StepWork::default();
        decode.add_sequence(PROMPT + generated - 1, 1, true);
        decode_total += step(&decode);
    }
    let service = ttft + decode_total;
    HandWorked {
        ttft_ms: ttft * 1e3,
        itl_ms: decode_total / (OUTPUT - 1) as f64 * 1e3,
        throughput: OUTPUT as f64 / service,
        power_w: energy / service,
    }
}

fn predicted(csv_path: &Path) -> Vec<(String, String, f64, f64, String)> {
    let mut reader = csv::Reader::from_path(csv_path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (metric, statistic, value, predicted, note) = (
        at("metric"),
        at("statistic"),
        at("value"),
        at("predicted"),
        at("lab_note"),
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[metric].to_string(),
                r[statistic].to_string(),
                r[value].parse().unwrap(),
                r[predicted].parse().unwrap(),
                r[note].to_string(),
            )
        })
        .collect()
}

#[test]
fn one_row_per_metric_gets_the_hand_worked_prediction() {
    let expected = hand_worked();
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        one_client_row("ttft_ms", "mean", 20.0),
        one_client_row("itl_ms", "p50", 7.0),
        one_client_row("tpot_ms", "mean", 7.0),
        one_client_row("throughput_tok_s", "mean", 130.0),
        one_client_row("gpu_power_w", "mean", 450.0),
        one_client_row("energy_per_token_j", "mean", 3.5),
    ];
    let (run, out) = validate_rows(dir.path(), "one-client.csv", &rows);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("6 rows, 1 configurations"), "{stdout}");
    for metric in ["ttft_ms mean", "itl_ms p50", "gpu_power_w mean"] {
        assert!(stdout.contains(metric), "{metric} in {stdout}");
    }
    let rows = predicted(&out.join("validation.csv"));
    assert_eq!(rows.len(), 6);
    let get = |name: &str| rows.iter().find(|r| r.0 == name).unwrap().3;
    let close = |name: &str, got: f64, want: f64, tolerance: f64| {
        assert!(
            ((got - want) / want).abs() < tolerance,
            "{name}: predicted {got}, worked by hand {want}"
        );
    };
    // Every request is the same: the TTFT is the prefill step exactly; the median gap lies
    // within the histogram's 0.1% of the decode steps, which differ by microseconds.
    close("ttft_ms", get("ttft_ms"), expected.ttft_ms, 1e-9);
    close("tpot_ms", get("tpot_ms"), expected.itl_ms, 1e-9);
    close("itl_ms", get("itl_ms"), expected.itl_ms, 3e-3);
    // The horizon cuts one request short, of about 1,300.
    close(
        "throughput",
        get("throughput_tok_s"),
        expected.throughput,
        2e-3,
    );
    close("power", get("gpu_power_w"), expected.power_w, 2e-3);
    close(
        "energy per token",
        get("energy_per_token_j"),
        expected.power_w / expected.throughput,
        3e-3,
    );
    // Error is (predicted − measured) ÷ measured; other columns ride along.
    for (_, _, measured, predicted, note) in &rows {
        assert_eq!(note, "kept as is");
        assert!(*predicted > 0.0 && *measured > 0.0);
    }
    for file in [
        "validation.md",
        "charts/validation.svg",
        "charts/validation.png",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let markdown = fs::read_to_string(out.join("validation.md")).unwrap();
    assert!(markdown.contains("## Error per metric"), "{markdown}");
}

#[test]
fn malformed_rows_are_listed_by_line_with_exit_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        one_client_row("itl_ms", "p50", 7.0),
        one_client_row("itl_ms", "p95", 7.0),
        one_client_row("watts", "mean", 7.0).replace("h100-sxm", "h100"),
    ];
    let (run, out) = validate_rows(dir.path(), "bad.csv", &rows);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("bad.csv: 2 malformed rows:"), "{stderr}");
    assert!(
        stderr.contains("line 3, statistic: expected mean, p50, p90 or p99, got `p95`"),
        "{stderr}"
    );
    assert!(stderr.contains("line 4, gpu:"), "{stderr}");
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn a_configuration_that_does_not_fit_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let row = one_client_row("itl_ms", "p50", 7.0).replace("llama-3.1-8b", "llama-3.1-405b");
    let (run, _) = validate_rows(dir.path(), "too-big.csv", &[row]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("line 2: the configuration cannot be simulated"),
        "{stderr}"
    );
}

/// Measurements made by the simulator itself under a known calibration.
fn synthetic(calibration: &Calibration) -> Vec<Measurement> {
    let configurations = [
        ("llama-3.1-8b", 1, 2000, 20),
        ("llama-3.1-8b", 16, 200, 100),
        ("gpt2", 1, 100, 100),
    ];
    let mut rows = Vec::new();
    for (model, clients, prompt, output) in configurations {
        for (metric, statistic) in [
            (Metric::TtftMs, Statistic::Mean),
            (Metric::ItlMs, Statistic::Mean),
            (Metric::ThroughputTokS, Statistic::Mean),
        ] {
            rows.push(Measurement {
                line: rows.len() + 2,
                setup: Setup {
                    model: model.into(),
                    concurrency: clients,
                    max_seqs: clients,
                    input_tokens: prompt as f64,
                    output_tokens: output as f64,
                    ..setup()
                },
                metric,
                statistic,
                value: 1.0,
                source: String::new(),
                cells: Vec::new(),
            });
        }
    }
    let refs: Vec<&Measurement> = rows.iter().collect();
    let values = validate::predict_rows(&refs, calibration, Seconds(60.0)).unwrap();
    for (row, value) in rows.iter_mut().zip(values) {
        row.value = value.unwrap();
    }
    rows
}

#[test]
fn a_fit_recovers_the_efficiencies_that_made_its_data() {
    let truth = Calibration {
        efficiencies: fleetsim::perf_model::Efficiencies {
            compute: 0.45,
            memory: 0.6,
            ..DEFAULTS.efficiencies
        },
        overheads: fleetsim::perf_model::Overheads {
            step: Seconds(4e-3),
            ..DEFAULTS.overheads
        },
    };
    let rows = synthetic(&truth);
    let refs: Vec<&Measurement> = rows.iter().collect();
    let fit = validate::fit::fit(&refs, &DEFAULTS, Seconds(60.0)).unwrap();
    let c = fit.calibration;
    assert!(fit.mean_log_error < 0.01, "{fit:?}");
    assert!((c.efficiencies.compute - 0.45).abs() < 0.03, "{c:?}");
    assert!((c.efficiencies.memory - 0.6).abs() < 0.03, "{c:?}");
    assert!((c.overheads.step.0 - 4e-3).abs() < 0.4e-3, "{c:?}");
    for (value, (low, high)) in [
        c.efficiencies.compute,
        c.efficiencies.memory,
        c.overheads.step.0,
    ]
    .into_iter()
    .zip(validate::fit::RANGES)
    {
        assert!((low..=high).contains(&value), "within the physical range");
    }
}

#[test]
fn the_shipped_validation_set_parses_with_every_row() {
    let file = validate::file::read(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/validation/mlenergy_v3.csv"
    )))
    .unwrap();
    assert_eq!(file.rows.len(), 42 * 6);
    assert!(file.headers.iter().any(|h| h == "source_avg_batch_size"));
}

#[test]
fn a_fit_to_rows_that_are_not_there_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("h100.csv");
    fs::write(
        &file,
        format!("{HEADER}\n{}\n", one_client_row("itl_ms", "p50", 7.0)),
    )
    .unwrap();
    for (fit_on, message) in [
        ("gpu=b200", "--fit-on: no row has gpu=b200"),
        (
            "colour=red",
            "expected gpu=ID or model=ID, got `colour=red`",
        ),
    ] {
        let run = fleetsim(&["validate", file.to_str().unwrap(), "--fit-on", fit_on]);
        assert_eq!(run.status.code(), Some(2), "{fit_on}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains(message), "{stderr}");
    }
}
