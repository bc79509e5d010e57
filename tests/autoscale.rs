//! Autoscaling: `fleetsim autoscale` against the fixed fleet, the engine's bookkeeping of
//! servers switched on and off, thread-independent bytes, and bad autoscaling settings.

mod common;
use common::{csv_rows, fleetsim_into, fleetsim_ok, write_scenario};

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Llama-3.1 8B on one-H100 servers for two hours: a busy hour (48 requests/s, two to three
/// servers' worth) and a quiet one (6/s, one server's worth). `AUTOSCALING` is replaced by
/// the fleet's autoscaling section.
const TWO_HOURS: &str = "
name: two-hours
study: {seed: 11, horizon: 2h, timeseries_interval: 10m, runs: 2}
workload:
  rate: 30/s
  diurnal:
    hourly: [1.6, 0.2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.2]
  prompt_tokens: {lognormal: {median: 400, sigma: 0.6}, max: 3000}
  output_tokens: {lognormal: {median: 120, sigma: 0.5}, max: 600}
model: llama-3.1-8b
hardware: {gpu: h100-sxm, gpus_per_server: 1}
fleet:
  servers: 4
  router: least-outstanding-requests
  AUTOSCALING
failures: {enabled: false}
slo: {ttft_p99: 1s, tpot_p99: 40ms}
";

fn scenario_with(dir: &Path, autoscaling: &str) -> std::path::PathBuf {
    let text = TWO_HOURS.replace("AUTOSCALING", autoscaling);
    write_scenario(dir, "two-hours.yaml", &text)
}

/// Runs `fleetsim autoscale` and returns `autoscale.csv` as (fleet, run) → column → value.
fn compare(
    dir: &Path,
    autoscaling: &str,
    extra: &[&str],
) -> BTreeMap<(String, String), BTreeMap<String, f64>> {
    let out = dir.join("out");
    let scenario = scenario_with(dir, autoscaling);
    fleetsim_ok(
        "autoscale",
        &scenario,
        &out,
        &[&["--quiet"], extra].concat(),
    );
    csv_rows(&out.join("autoscale.csv"))
        .into_iter()
        .map(|mut row| {
            let key = (row.remove("fleet").unwrap(), row.remove("run").unwrap());
            let values = row
                .iter()
                .map(|(k, v)| (k.clone(), v.parse().unwrap()))
                .collect();
            (key, values)
        })
        .collect()
}

#[test]
fn zero_delay_and_no_limits_cost_no_more_than_the_fixed_fleet_at_equal_slo() {
    let dir = tempfile::tempdir().unwrap();
    let rows = compare(
        dir.path(),
        "autoscaling: {min_servers: 1, max_servers: 64, requests_per_replica: 40, \
         provisioning_delay: 0s, scale_down_delay: 0s}",
        &[],
    );
    for run in ["0", "1"] {
        let fixed = &rows[&("fixed".to_string(), run.to_string())];
        let scaled = &rows[&("autoscaled".to_string(), run.to_string())];
        assert_eq!(fixed["slo_met"], 1.0, "the fixed fleet meets the SLO");
        assert_eq!(scaled["slo_met"], 1.0, "and so does the autoscaled one");
        assert!(
            scaled["cost_usd_per_day"] <= fixed["cost_usd_per_day"],
            "run {run}: autoscaled ${} against fixed ${}",
            scaled["cost_usd_per_day"],
            fixed["cost_usd_per_day"]
        );
        assert!(scaled["servers_on_mean"] < fixed["servers_on_mean"]);
        assert_eq!(fixed["servers_on_mean"], 4.0);
    }
}

#[test]
fn limits_equal_to_the_fleet_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rows = compare(
        dir.path(),
        "autoscaling: {min_servers: 4, max_servers: 4, requests_per_replica: 10}",
        &[],
    );
    for run in ["0", "1"] {
        assert_eq!(
            rows[&("fixed".to_string(), run.to_string())],
            rows[&("autoscaled".to_string(), run.to_string())],
            "run {run}"
        );
    }
}

#[test]
fn requests_are_conserved_and_the_fleet_stays_within_its_limits() {
    let dir = tempfile::tempdir().unwrap();
    // Failures every few minutes and a slow boot: requests are thrown out of failed replicas
    // while servers boot, drain and are released.
    let text = TWO_HOURS
        .replace(
            "AUTOSCALING",
            "autoscaling: {min_servers: 2, max_servers: 6, kv_cache: 0.3, interval: 30s, \
             provisioning_delay: 3m, scale_down_delay: 2m}",
        )
        .replace(
            "failures: {enabled: false}",
            "failures: {gpu_mtbf: 2h, server_mtbf: 4h, gpu_mttr: 10m, server_mttr: 20m}",
        )
        .replace("runs: 2", "runs: 1");
    let scenario = write_scenario(dir.path(), "failing.yaml", &text);
    let out = dir.path().join("out");
    let output = fleetsim_into("run", &scenario, &out, &["--quiet"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    let results = &summary["first_run"]["results"];
    let r = &results["requests"];
    let n = |v: &serde_json::Value| v.as_u64().unwrap();
    assert!(n(&results["reliability"]["gpu_failures"]) > 0);
    assert_eq!(
        n(&r["arrived"]),
        n(&r["completed"]) + n(&r["rejected"]) + n(&r["failed"]) + n(&r["in_flight"])
    );
    let mut reader = csv::Reader::from_path(out.join("timeseries.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let column = headers.iter().position(|h| h == "servers_on_p50").unwrap();
    let on: Vec<f64> = reader
        .records()
        .map(|r| r.unwrap()[column].parse().unwrap())
        .collect();
    assert!(
        on.iter().all(|s| (2.0 - 1e-9..=6.0 + 1e-9).contains(s)),
        "{on:?}"
    );
    assert!(
        on[0] > on[on.len() - 1],
        "busy first hour, quiet second: {on:?}"
    );
}

#[test]
fn outputs_are_the_same_bytes_at_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario_with(
        dir.path(),
        "autoscaling: {max_servers: 6, requests_per_replica: 40, provisioning_delay: 2m}",
    );
    let read = |threads: &str| -> Vec<Vec<u8>> {
        let out = dir.path().join(format!("out-{threads}"));
        let output = fleetsim_into(
            "autoscale",
            &scenario,
            &out,
            &["--quiet", "--threads", threads],
        );
        assert!(output.status.success());
        ["autoscale.csv", "autoscale.md", "charts/autoscale.svg"]
            .iter()
            .map(|f| fs::read(out.join(f)).unwrap())
            .collect()
    };
    assert_eq!(read("1"), read("2"));
}

#[test]
fn bad_autoscaling_settings_exit_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "autoscaling: {max_servers: 8}",
            "fleet.autoscaling",
            "requests_per_replica",
        ),
        (
            "autoscaling: {max_servers: 3, requests_per_replica: 10}",
            "fleet.servers",
            "within",
        ),
        (
            "autoscaling: {min_servers: 5, max_servers: 4, requests_per_replica: 10}",
            "fleet.autoscaling.max_servers",
            "at least min_servers",
        ),
        (
            "autoscaling: {max_servers: 8, kv_cache: 1.5}",
            "fleet.autoscaling.kv_cache",
            "fraction",
        ),
        (
            "autoscaling: {max_servers: 8, requests_per_replica: 10, interval: 0s}",
            "fleet.autoscaling.interval",
            "positive",
        ),
        (
            "autoscaling: {max_servers: 8, requests_per_replica: 10, warmup: 1m}",
            "warmup",
            "unknown field",
        ),
        ("", "fleet.autoscaling", "no autoscaling section"),
    ];
    for (section, field, expected) in cases {
        let scenario = scenario_with(dir.path(), section);
        let out = dir.path().join("never");
        let output = fleetsim_into("autoscale", &scenario, &out, &["--quiet"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{section}: {stderr}");
        assert!(stderr.contains("two-hours.yaml"), "{stderr}");
        assert!(stderr.contains(field), "{section}: {stderr}");
        assert!(stderr.contains(expected), "{section}: {stderr}");
        assert!(!out.exists(), "nothing is written");
    }
}
