//! What the integration tests share: running the binary on scenarios written for the test.
//! Each test file is its own crate and uses part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `fleetsim` with `args` from the repository root, so shipped scenarios resolve.
pub fn fleetsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

/// Runs `fleetsim COMMAND SCENARIO --out OUT EXTRA…`.
pub fn fleetsim_into(command: &str, scenario: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        command,
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    fleetsim(&args)
}

/// Writes scenario `text` to `dir/name` and returns its path.
pub fn write_scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

/// Runs `fleetsim COMMAND SCENARIO --out OUT EXTRA…` and requires it to succeed.
pub fn fleetsim_ok(command: &str, scenario: &Path, out: &Path, extra: &[&str]) -> Output {
    let output = fleetsim_into(command, scenario, out, extra);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A CSV file as one map of column to value per row.
pub fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Every file of a results folder, relative path and bytes, in name order.
pub fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for (name, bytes) in files(&path) {
                found.push((
                    format!("{}/{name}", path.file_name().unwrap().to_string_lossy()),
                    bytes,
                ));
            }
        } else {
            found.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&path).unwrap(),
            ));
        }
    }
    found.sort();
    found
}

/// A study with uncertain inputs everywhere a planner would have them (rate, lengths, memory
/// efficiency, PUE, GPU price), over `horizon` with series bins of `interval`, `runs` runs.
pub fn uncertain_scenario(horizon: &str, interval: &str, runs: u32) -> String {
    format!(
        "
name: uncertain
study: {{seed: 11, horizon: {horizon}, timeseries_interval: {interval}, runs: {runs}}}
workload:
  rate: {{uniform: [3/s, 5/s]}}
  prompt_tokens: {{lognormal: {{median: 300, sigma: 0.7}}, max: 3000}}
  output_tokens: {{lognormal: {{median: {{triangular: [80, 100, 140]}}, sigma: 0.6}}, max: 800}}
model: llama-3.1-8b
hardware: {{gpu: h100-sxm, gpus_per_server: 2}}
fleet: {{servers: 1, router: power-of-two-choices}}
perf: {{memory_efficiency: {{uniform: [0.75, 0.9]}}}}
facility: {{pue: {{normal: {{mean: 1.2, sd: 0.03}}}}}}
costs:
  hardware: {{rented: {{gpu_hour: {{choice: [2.0, 2.95, 4.0], weights: [1, 2, 1]}}}}}}
slo: {{ttft_p99: 2s, tpot_p99: 100ms}}
"
    )
}
