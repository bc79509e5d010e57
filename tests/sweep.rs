//! `fleetsim sweep`: fleet sizes × loads under common random numbers, the capacity search,
//! bad sweep values, and thread-independent bytes.

mod common;
use common::{csv_rows, fleetsim, fleetsim_into, fleetsim_ok, write_scenario};

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

/// One H100 per server serving Llama-3.1 8B for five minutes: about three servers meet the
/// SLO at 100 requests/s.
const TINY: &str = "
name: tiny-sweep
study: {seed: 5, horizon: 5m, timeseries_interval: 5m, runs: 3}
workload:
  rate: 100/s
  prompt_tokens: {lognormal: {median: 400, sigma: 0.6}, max: 3000}
  output_tokens: {lognormal: {median: 120, sigma: 0.5}, max: 600}
model: llama-3.1-8b
hardware: {gpu: h100-sxm, gpus_per_server: 1}
fleet: {servers: 2, router: least-outstanding-requests}
failures: {enabled: false}
perf: {memory_efficiency: {uniform: [0.65, 0.75]}}
slo: {ttft_p99: 500ms, tpot_p99: 30ms}
sweep:
  servers: {from: 1, to: 5}
  load: [0.5, 1]
  slo_share: 0.6
";

fn scenario(dir: &Path, text: &str) -> PathBuf {
    write_scenario(dir, "tiny.yaml", text)
}

fn sweep(scenario: &Path, out: &Path, extra: &[&str]) -> Output {
    fleetsim_ok("sweep", scenario, out, &[&["--quiet"], extra].concat())
}

/// `sweep.csv` as one map of column to value per row.
fn rows(out: &Path) -> Vec<BTreeMap<String, String>> {
    csv_rows(&out.join("sweep.csv"))
}

fn number(row: &BTreeMap<String, String>, key: &str) -> f64 {
    row[key].parse().unwrap()
}

#[test]
fn slo_attainment_never_falls_as_the_fleet_grows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    sweep(&scenario(dir.path(), TINY), &out, &[]);
    let rows = rows(&out);
    assert_eq!(rows.len(), 10, "5 fleet sizes × 2 loads");
    let mut seen_both = false;
    for load in ["0.5", "1"] {
        let attainment: Vec<f64> = rows
            .iter()
            .filter(|r| r["load"] == load)
            .map(|r| number(r, "slo_attainment"))
            .collect();
        assert!(
            attainment.windows(2).all(|w| w[0] <= w[1]),
            "load {load}: {attainment:?}"
        );
        seen_both |= attainment.first() == Some(&0.0) && attainment.last() == Some(&1.0);
        // The same traffic at every fleet size: cost rises with servers, offered load does not
        // change.
        let offered: Vec<&String> = rows
            .iter()
            .filter(|r| r["load"] == load)
            .map(|r| &r["offered_requests_per_day"])
            .collect();
        assert!(offered.windows(2).all(|w| w[0] == w[1]), "{offered:?}");
    }
    assert!(seen_both, "the sweep crosses the SLO boundary");
    let png = fs::read(out.join("charts/slo_vs_servers.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    let svg = fs::read_to_string(out.join("charts/cost_vs_load.svg")).unwrap();
    assert!(svg.contains("Cost against offered load"));
    let md = fs::read_to_string(out.join("sweep.md")).unwrap();
    assert!(md.contains("charts/utilisation_vs_servers.svg"), "{md}");
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<figure id=\"slo_vs_servers\">\n<svg"),
        "charts inline"
    );
    assert!(html.contains("<table>"));
}

#[test]
fn the_chosen_fleet_meets_the_share_and_the_next_smaller_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let printed = sweep(
        &scenario(dir.path(), TINY),
        &out,
        &[
            "--servers",
            "1",
            "--load",
            "1,2",
            "--find",
            "--slo-share",
            "0.6",
        ],
    );
    assert!(printed.stdout.is_empty(), "--quiet prints nothing");
    let rows = rows(&out);
    for load in ["1", "2"] {
        let at_load: Vec<_> = rows.iter().filter(|r| r["load"] == load).collect();
        let chosen: Vec<_> = at_load.iter().filter(|r| r["chosen"] == "1").collect();
        assert_eq!(chosen.len(), 1, "one answer at load {load}");
        let servers = number(chosen[0], "servers");
        assert!(number(chosen[0], "slo_attainment") >= 0.6);
        assert!(servers > 1.0, "one server is too few at load {load}");
        let smaller = at_load
            .iter()
            .find(|r| number(r, "servers") == servers - 1.0)
            .expect("the next smaller fleet is studied");
        assert!(number(smaller, "slo_attainment") < 0.6);
    }
    let md = fs::read_to_string(out.join("sweep.md")).unwrap();
    assert!(md.contains("## Capacity"), "{md}");
    assert!(md.contains("per day (95% CI"), "{md}");
}

#[test]
fn each_tensor_parallel_degree_is_searched_and_the_cheapest_answer_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let extra = [
        "--servers",
        "2",
        "--tensor-parallel",
        "1,2",
        "--load",
        "1",
        "--find",
    ];
    sweep(&scenario(dir.path(), TINY), &out, &extra);
    let rows = rows(&out);
    let answers: Vec<_> = rows.iter().filter(|r| r["answer"] == "1").collect();
    assert_eq!(answers.len(), 2, "one answer per degree");
    for answer in &answers {
        assert!(number(answer, "slo_attainment") >= 0.6);
        let tp = &answer["tensor_parallel"];
        // A replica of tp 2 spans two one-GPU servers: the fleet steps by two.
        let unit = if tp == "2" { 2.0 } else { 1.0 };
        let servers = number(answer, "servers");
        assert_eq!(servers % unit, 0.0);
        if servers > unit {
            let smaller = rows
                .iter()
                .find(|r| &r["tensor_parallel"] == tp && number(r, "servers") == servers - unit)
                .expect("the next smaller fleet of the same degree is studied");
            assert!(number(smaller, "slo_attainment") < 0.6);
        }
    }
    let chosen: Vec<_> = rows.iter().filter(|r| r["chosen"] == "1").collect();
    assert_eq!(chosen.len(), 1);
    let cost = |r: &BTreeMap<String, String>| number(r, "cost_usd_per_day_mean");
    assert!(answers.iter().all(|a| cost(chosen[0]) <= cost(a)));
}

#[test]
fn one_thread_and_two_write_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), TINY);
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    let extra = ["--servers", "2,3", "--load", "1", "--find"];
    sweep(&path, &one, &[&extra[..], &["--threads", "1"]].concat());
    sweep(&path, &two, &[&extra[..], &["--threads", "2"]].concat());
    let mut names = Vec::new();
    for name in [
        "sweep.csv",
        "sweep.md",
        "charts/cost_vs_load.svg",
        "charts/cost_vs_load.png",
        "charts/slo_vs_servers.svg",
        "charts/slo_vs_servers.png",
        "charts/utilisation_vs_servers.svg",
        "charts/utilisation_vs_servers.png",
        "report.html",
    ] {
        let (a, b) = (
            fs::read(one.join(name)).unwrap(),
            fs::read(two.join(name)).unwrap(),
        );
        assert!(a == b, "{name} differs between 1 and 2 threads");
        names.push(name);
    }
    let count = |dir: &Path| fs::read_dir(dir.join("charts")).unwrap().count() + 3;
    assert_eq!(count(&one), names.len(), "no other files");
}

#[test]
fn bad_sweep_values_exit_2_naming_the_field_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cases: [(&str, &[&str], &str); 9] = [
        (
            "  servers: [0, 2]",
            &[],
            "sweep.servers: expected fleet sizes of at least 1",
        ),
        (
            "  servers: {from: 4, to: 2}",
            &[],
            "sweep.servers: expected from ≥ 1",
        ),
        ("  servers: two", &[], "a list of server counts"),
        (
            "  load: [1, -2]",
            &[],
            "sweep.load: expected load multipliers above 0",
        ),
        ("  slo_share: 1.5", &[], "sweep.slo_share: expected a share"),
        ("  servrs: [1]", &[], "did you mean `servers`?"),
        (
            "  servers: [1]",
            &["--servers", "0..3"],
            "expected a range from ≥ 1",
        ),
        (
            "  servers: [1]",
            &["--load", "x"],
            "expected load multipliers above 0",
        ),
        (
            "  search: {max_servers: 0}",
            &[],
            "sweep.search.max_servers: expected at least 1",
        ),
    ];
    for (line, flags, expected) in cases {
        let section = "  servers: {from: 1, to: 5}\n  load: [0.5, 1]\n  slo_share: 0.6\n";
        let text = TINY.replace(section, &format!("{line}\n"));
        let path = scenario(dir.path(), &text);
        let output = fleetsim_into("sweep", &path, &out, flags);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{line} {flags:?}: {stderr}");
        assert!(stderr.contains(expected), "{line} {flags:?}: {stderr}");
        assert!(!out.exists(), "nothing written");
    }
    // The line of the sweep section's field is named.
    let path = scenario(dir.path(), &TINY.replace("slo_share: 0.6", "slo_share: 0"));
    let output = fleetsim(&["sweep", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("tiny.yaml:17:3: sweep.slo_share"),
        "{stderr}"
    );
    // No SLO, no search.
    let path = scenario(
        dir.path(),
        &TINY.replace("slo: {ttft_p99: 500ms, tpot_p99: 30ms}\n", ""),
    );
    let output = fleetsim(&["sweep", path.to_str().unwrap(), "--find"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("slo: the capacity search needs latency targets"),
        "{stderr}"
    );
    // A degree that does not divide the model's heads, at every point that uses it.
    let output = fleetsim(&["sweep", path.to_str().unwrap(), "--tensor-parallel", "1,3"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("must divide the 32 attention heads"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(sweep point: 3 servers, tensor_parallel 3, load"),
        "{stderr}"
    );
}

/// The capacity search's answers: (load, gpu, servers, chosen), from `sweep.csv`.
fn answers(rows: &[BTreeMap<String, String>]) -> Vec<(String, String, f64, bool)> {
    rows.iter()
        .filter(|r| r["answer"] == "1")
        .map(|r| {
            let servers = number(r, "servers");
            (
                r["load"].clone(),
                r["gpu"].clone(),
                servers,
                r["chosen"] == "1",
            )
        })
        .collect()
}

#[test]
fn each_gpu_is_searched_and_the_cheapest_configuration_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let extra = [
        "--gpus",
        "h100-sxm,h200",
        "--servers",
        "2",
        "--load",
        "1",
        "--find",
    ];
    let printed = fleetsim_into("sweep", &scenario(dir.path(), TINY), &out, &extra);
    assert!(printed.status.success());
    let rows = rows(&out);
    for gpu in ["h100-sxm", "h200"] {
        assert!(
            rows.iter().any(|r| r["gpu"] == gpu && r["servers"] == "2"),
            "{gpu}"
        );
    }
    let answers = answers(&rows);
    let gpus: Vec<&str> = answers.iter().map(|a| a.1.as_str()).collect();
    assert_eq!(gpus, ["h100-sxm", "h200"], "one answer per GPU");
    assert_eq!(answers.iter().filter(|a| a.3).count(), 1, "one chosen");
    let cost = |r: &BTreeMap<String, String>| number(r, "cost_usd_per_day_mean");
    let chosen = rows.iter().find(|r| r["chosen"] == "1").unwrap();
    assert!(
        rows.iter()
            .filter(|r| r["answer"] == "1")
            .all(|a| cost(chosen) <= cost(a))
    );
    let text = String::from_utf8_lossy(&printed.stdout);
    assert!(text.contains("H200 SXM tp 1: "), "{text}");
    assert!(text.contains(" (cheapest): "), "{text}");
    let md = fs::read_to_string(out.join("sweep.md")).unwrap();
    assert!(md.contains("GPUs H100 SXM, H200 SXM;"), "{md}");
    assert!(md.contains("| load | servers | GPU | tp |"), "{md}");
    let svg = fs::read_to_string(out.join("charts/slo_vs_servers.svg")).unwrap();
    assert!(
        svg.contains("load ×1, H200 SXM tp 1"),
        "lines name GPU and degree"
    );
}

#[test]
fn a_faster_gpu_never_needs_more_servers_at_the_same_load() {
    // The H200 is the H100's silicon with more memory bandwidth and memory: every step is at
    // least as fast and the KV cache at least as large.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let extra = [
        "--gpus",
        "h200,h100-sxm",
        "--servers",
        "1",
        "--load",
        "0.5,1,2",
        "--find",
    ];
    sweep(&scenario(dir.path(), TINY), &out, &extra);
    let answers = answers(&rows(&out));
    for load in ["0.5", "1", "2"] {
        let servers = |gpu: &str| {
            answers
                .iter()
                .find(|a| a.0 == load && a.1 == gpu)
                .map(|a| a.2)
                .expect("an answer per GPU and load")
        };
        assert!(
            servers("h200") <= servers("h100-sxm"),
            "load {load}: {answers:?}"
        );
    }
}

#[test]
fn a_gpu_the_model_does_not_fit_is_left_out_and_named() {
    // Mixtral 8x7B's 87 GiB of bf16 weights fit one H200 but not one H100.
    let mixtral = TINY
        .replace("model: llama-3.1-8b", "model: mixtral-8x7b")
        .replace("gpu: h100-sxm,", "gpu: h200,")
        .replace("rate: 100/s", "rate: 10/s");
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), &mixtral);
    let out = dir.path().join("out");
    let extra = ["--gpus", "h100-sxm,h200", "--servers", "1,2", "--load", "1"];
    let printed = sweep(&path, &out, &extra[..]);
    assert!(printed.stdout.is_empty());
    let rows = rows(&out);
    assert_eq!(rows.len(), 2, "the H200's two fleets");
    assert!(rows.iter().all(|r| r["gpu"] == "h200"));
    let md = fs::read_to_string(out.join("sweep.md")).unwrap();
    assert!(
        md.contains("- H100 SXM tp 1: Mixtral-8x7B does not fit: with bf16 weights"),
        "{md}"
    );
    // With nothing left to study, the sweep stops.
    let output = fleetsim_into(
        "sweep",
        &path,
        &dir.path().join("none"),
        &["--gpus", "h100-sxm"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the model fits none of the configurations swept"),
        "{stderr}"
    );
    assert!(
        stderr.contains("tp 1: Mixtral-8x7B does not fit"),
        "{stderr}"
    );
    assert!(!dir.path().join("none").exists());
}

#[test]
fn gpus_without_their_prices_or_unknown_exit_2_naming_sweep_gpus() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let owned = format!(
        "{TINY}  gpus: [h100-sxm, h200]\ncosts: {{hardware: {{owned: {{server_price: 40000}}}}}}\n"
    );
    let cases: [(String, &[&str], &str); 5] = [
        (
            owned.clone(),
            &[],
            "sweep.gpus[1]: H200 SXM needs its own server_price",
        ),
        (
            owned.clone(),
            &["--gpus", "b200"],
            "--gpus: B200 (HGX) needs its own server_price",
        ),
        (
            owned.replace("h200]", "{gpu: h200, gpu_hour: 3}]"),
            &[],
            "sweep.gpus[1].gpu_hour: a rental price, but the scenario owns its servers",
        ),
        (
            TINY.replace(
                "  load: [0.5, 1]\n",
                "  load: [0.5, 1]\n  gpus: [h100-sxm, h201]\n",
            ),
            &[],
            "sweep.gpus[1]: unknown GPU `h201` (did you mean `h200`?)",
        ),
        (
            TINY.to_string(),
            &["--gpus", "h100-sxm,h20"],
            "--gpus: unknown GPU `h20` (did you mean `h200`?)",
        ),
    ];
    for (text, flags, expected) in cases {
        let path = scenario(dir.path(), &text);
        let output = fleetsim_into("sweep", &path, &out, flags);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(expected), "{flags:?}: {stderr}");
        assert!(!out.exists(), "nothing written");
    }
    // The line of `sweep.gpus` is named; with each server's price, the sweep runs, and the
    // scenario's own GPU keeps the scenario's price.
    let path = scenario(dir.path(), &owned);
    let stderr =
        String::from_utf8_lossy(&fleetsim(&["sweep", path.to_str().unwrap()]).stderr).to_string();
    assert!(stderr.contains("tiny.yaml:18:3: sweep.gpus[1]"), "{stderr}");
    let priced = owned.replace("h200]", "{gpu: h200, server_price: 50000}]");
    let extra = ["--servers", "1", "--load", "1"];
    sweep(&scenario(dir.path(), &priced), &out, &extra);
    let rows = rows(&out);
    let cost = |gpu: &str| {
        let row = rows.iter().find(|r| r["gpu"] == gpu).unwrap();
        number(row, "cost_usd_per_day_mean")
    };
    assert!(
        cost("h200") > cost("h100-sxm"),
        "the dearer server costs more"
    );
}
