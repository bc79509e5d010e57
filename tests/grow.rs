//! `fleetsim grow`: a plan that honours its lead time is never short, one that cannot is
//! flagged, owned fleets keep their servers while rented ones follow the traffic down,
//! thread-independent bytes, and bad growth values.

mod common;
use common::{csv_rows, fleetsim, fleetsim_into, fleetsim_ok, write_scenario};

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

/// One H100 per server serving Llama-3.1 8B for five minutes at 60 requests/s in January,
/// growing 25% a month: two servers suffice at first, four by May.
const TINY: &str = "
name: tiny-grow
study: {seed: 5, horizon: 5m, timeseries_interval: 5m, runs: 3}
workload:
  rate: 60/s
  prompt_tokens: {lognormal: {median: 400, sigma: 0.6}, max: 3000}
  output_tokens: {lognormal: {median: 120, sigma: 0.5}, max: 600}
model: llama-3.1-8b
hardware: {gpu: h100-sxm, gpus_per_server: 1}
fleet: {servers: 2, router: least-outstanding-requests}
failures: {enabled: false}
perf: {memory_efficiency: {uniform: [0.65, 0.75]}}
slo: {ttft_p99: 500ms, tpot_p99: 30ms}
growth:
  start: 2027-01
  months: 5
  monthly: 25%
  plan:
    lead_time: 2
    slo_share: 0.6
";

fn scenario(dir: &Path, text: &str) -> PathBuf {
    write_scenario(dir, "tiny.yaml", text)
}

fn grow(scenario: &Path, out: &Path, extra: &[&str]) -> Output {
    fleetsim_ok("grow", scenario, out, extra)
}

/// `grow.csv` as one map of column to value per month.
fn rows(out: &Path) -> Vec<BTreeMap<String, String>> {
    csv_rows(&out.join("grow.csv"))
}

fn number(row: &BTreeMap<String, String>, key: &str) -> f64 {
    row[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key}: `{}`", row[key]))
}

fn column(rows: &[BTreeMap<String, String>], key: &str) -> Vec<f64> {
    rows.iter().map(|r| number(r, key)).collect()
}

#[test]
fn a_plan_that_honours_its_lead_time_is_never_under_provisioned() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let printed = grow(&scenario(dir.path(), TINY), &out, &["--owned"]);
    let rows = rows(&out);
    assert_eq!(rows.len(), 5);
    let months: Vec<&str> = rows.iter().map(|r| r["month"].as_str()).collect();
    assert_eq!(
        months,
        ["2027-01", "2027-02", "2027-03", "2027-04", "2027-05"]
    );
    for row in &rows {
        let month = &row["month"];
        assert!(
            number(row, "servers_in_service") >= number(row, "servers_required"),
            "{month}: {row:?}"
        );
        assert_eq!(row["under_provisioned"], "0", "{month}");
        assert!(number(row, "slo_attainment") >= 0.6, "{month}: {row:?}");
        // Deterministic growth: every run has the same traffic, the planned load.
        assert_eq!(row["traffic_p5"], row["traffic_p95"]);
        assert_eq!(row["traffic_p50"], row["planning_load"]);
    }
    let in_service = column(&rows, "servers_in_service");
    let ordered: f64 = column(&rows, "servers_ordered").iter().sum();
    assert!(ordered > 0.0, "the traffic outgrows the initial fleet");
    assert_eq!(
        in_service.last().unwrap() - in_service[0],
        ordered,
        "every order arrives within the plan"
    );
    // 25% a month, compounded.
    let traffic = column(&rows, "traffic_p50");
    assert!((traffic[4] - 1.25f64.powi(4)).abs() < 1e-9, "{traffic:?}");
    let stdout = String::from_utf8_lossy(&printed.stdout);
    assert!(stdout.contains("orders:"), "{stdout}");
    assert!(!stdout.contains("under-provisioned:"), "{stdout}");
    for chart in ["traffic", "fleet", "cost_per_day"] {
        let png = fs::read(out.join(format!("charts/{chart}.png"))).unwrap();
        assert_eq!(&png[..4], b"\x89PNG");
        let svg = fs::read_to_string(out.join(format!("charts/{chart}.svg"))).unwrap();
        assert!(svg.contains("<svg"));
    }
    let md = fs::read_to_string(out.join("grow.md")).unwrap();
    assert!(md.contains("## Months") && md.contains("## Orders"), "{md}");
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<figure id=\"fleet\">\n<svg"),
        "charts inline"
    );
}

#[test]
fn a_launch_inside_the_lead_time_is_flagged_under_provisioned() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let text = TINY.replace(
        "  monthly: 25%\n",
        "  monthly: 0\n  events: [{month: 2027-02, multiplier: 3, label: launch}]\n",
    );
    let printed = grow(
        &scenario(dir.path(), &text),
        &out,
        &["--lead-time", "3", "--owned"],
    );
    let rows = rows(&out);
    let flags: Vec<&str> = rows
        .iter()
        .map(|r| r["under_provisioned"].as_str())
        .collect();
    assert_eq!(flags, ["0", "1", "1", "0", "0"], "{rows:?}");
    let (required, in_service) = (
        column(&rows, "servers_required"),
        column(&rows, "servers_in_service"),
    );
    assert_eq!(in_service[1], 2.0, "only the initial fleet before month 3");
    assert!(required[1] > in_service[1]);
    assert!(in_service[3] >= required[3]);
    assert_eq!(
        number(&rows[0], "servers_ordered"),
        in_service[3] - 2.0,
        "ordered in the first month for the fourth"
    );
    let stdout = String::from_utf8_lossy(&printed.stdout);
    assert!(stdout.contains("under-provisioned:"), "{stdout}");
    assert!(
        stdout.contains("2027-02: ")
            && stdout.contains("ordered in 2026-11, before the plan starts"),
        "{stdout}"
    );
    let md = fs::read_to_string(out.join("grow.md")).unwrap();
    assert!(md.contains("## Under-provisioned months"), "{md}");
}

#[test]
fn owned_fleets_never_shrink_and_rented_ones_follow_a_drop() {
    let dir = tempfile::tempdir().unwrap();
    let text = TINY.replace(
        "  monthly: 25%\n",
        "  monthly: 0\n  events:\n    - {month: 2027-02, multiplier: 2}\n    \
         - {month: 2027-04, multiplier: 0.25, label: a customer leaves}\n",
    );
    let path = scenario(dir.path(), &text);
    let (owned, rented) = (dir.path().join("owned"), dir.path().join("rented"));
    grow(&path, &owned, &["--owned", "--lead-time", "1"]);
    grow(&path, &rented, &["--rented", "--lead-time", "1"]);
    let owned = column(&rows(&owned), "servers_in_service");
    assert!(owned.windows(2).all(|w| w[0] <= w[1]), "{owned:?}");
    let rented_rows = rows(&rented);
    let rented = column(&rented_rows, "servers_in_service");
    let required = column(&rented_rows, "servers_required");
    assert!(
        rented[3] < rented[2],
        "the drop returns servers: {rented:?}"
    );
    assert_eq!(
        rented[1..],
        required[1..],
        "the requirement after the lead time"
    );
    assert_eq!(owned[3], owned[2], "owned servers are kept: {owned:?}");
}

#[test]
fn one_thread_and_two_write_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // Uncertain growth: each run simulates its own traffic.
    let path = scenario(
        dir.path(),
        &TINY.replace("monthly: 25%", "monthly: {uniform: [10%, 40%]}"),
    );
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    grow(&path, &one, &["--quiet", "--threads", "1", "--months", "3"]);
    grow(&path, &two, &["--quiet", "--threads", "2", "--months", "3"]);
    let mut names = vec![
        "grow.csv".to_string(),
        "grow.md".to_string(),
        "report.html".to_string(),
    ];
    for chart in ["traffic", "fleet", "cost_per_day"] {
        names.push(format!("charts/{chart}.svg"));
        names.push(format!("charts/{chart}.png"));
    }
    for name in &names {
        let (a, b) = (
            fs::read(one.join(name)).unwrap(),
            fs::read(two.join(name)).unwrap(),
        );
        assert!(a == b, "{name} differs between 1 and 2 threads");
    }
    let count = |dir: &Path| fs::read_dir(dir.join("charts")).unwrap().count() + 3;
    assert_eq!(count(&one), names.len(), "no other files");
    let rows = rows(&one);
    assert!(
        number(&rows[2], "traffic_p5") < number(&rows[2], "traffic_p95"),
        "the runs' paths differ: {rows:?}"
    );
}

#[test]
fn the_shipped_growth_scenario_draws_each_run_a_path_within_its_bounds() {
    use fleetsim::grow::{Growth, Overrides};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/grow-70b.yaml");
    let mut file =
        fleetsim::scenario::load(&path, fleetsim::workload::trace::BadRows::Reject).unwrap();
    let growth = Growth::new(&mut file, &Overrides::default()).unwrap();
    assert_eq!((growth.months, growth.lead_time), (12, 3));
    assert_eq!(growth.month(5).to_string(), "2027-06", "the launch");
    // 4–8% a month, and ×1.5 from June: each run's path lies between the two rates' paths.
    for (p, runs) in growth.traffic.iter().enumerate() {
        let bound = |rate: f64| (1.0 + rate).powi(p as i32) * if p >= 5 { 1.5 } else { 1.0 };
        assert_eq!(runs.len(), file.runs() as usize);
        for traffic in runs {
            assert!(
                (bound(0.04) - 1e-9..=bound(0.08) + 1e-9).contains(traffic),
                "month {p}: {traffic}"
            );
        }
    }
    let last = &growth.traffic[11];
    assert!(
        last.iter().any(|t| *t != last[0]),
        "the runs draw their own rates"
    );
}

#[test]
fn bad_growth_values_exit_2_naming_the_field_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cases: [(&str, &str, &[&str], &str); 16] = [
        (
            "  start: 2027-01\n",
            "  start: 2027-13\n",
            &[],
            "growth.start: expected a month as YYYY-MM, such as 2027-01; got `2027-13`",
        ),
        (
            "  months: 5\n",
            "  months: 0\n",
            &[],
            "growth.months: expected 1 to 600 months, got 0",
        ),
        (
            "  monthly: 25%\n",
            "  monthly: -150%\n",
            &[],
            "growth.monthly: expected a monthly growth rate above -100%",
        ),
        (
            "  monthly: 25%\n",
            "  monthly: 25 percent\n",
            &[],
            "a ratio such as `0.08` or `8%`",
        ),
        (
            "  monthly: 25%\n",
            "  monthly: 25%\n  events: [{month: 2027-03, multiplier: 2}, {month: 2027-3, multiplier: 2}]\n",
            &[],
            "growth.events[1].month: expected a month as YYYY-MM",
        ),
        (
            "  monthly: 25%\n",
            "  monthly: 25%\n  events: [{month: 2026-12, multiplier: 2}]\n",
            &[],
            "growth.events[0].month: expected a month planned, 2027-01 to 2027-05; got 2026-12",
        ),
        (
            "  monthly: 25%\n",
            "  monthly: 25%\n  events: [{month: 2027-03, multiplier: -1}]\n",
            &[],
            "growth.events[0].multiplier: expected a multiplier above 0",
        ),
        (
            "  monthly: 25%\n",
            "  monthly: 25%\n  multipliers: {2027-13: 2}\n",
            &[],
            "growth.multipliers.2027-13: expected a month as YYYY-MM",
        ),
        (
            "  monthly: 25%\n",
            "  monthly: 25%\n  multipliers: {2027-03: 0}\n",
            &[],
            "growth.multipliers.2027-03: expected a multiplier above 0",
        ),
        (
            "    lead_time: 2\n",
            "    lead_time: 5\n",
            &[],
            "growth.plan.lead_time: expected fewer months than the 5 planned",
        ),
        (
            "    lead_time: 2\n",
            "    lead_time: 2\n    headroom: -0.1\n",
            &[],
            "growth.plan.headroom: expected a margin from 0 to 10",
        ),
        (
            "    lead_time: 2\n",
            "    lead_time: 2\n    forecast: p200\n",
            &[],
            "growth.plan.forecast: expected mean, median or a percentile",
        ),
        (
            "    lead_time: 2\n",
            "    lead_time: 2\n    hardware: leased\n",
            &[],
            "unknown value `leased`",
        ),
        (
            "    lead_time: 2\n",
            "    lead_time: 2\n    headrom: 0.2\n",
            &[],
            "did you mean `headroom`?",
        ),
        (
            "    lead_time: 2\n",
            "    lead_time: 2\n",
            &["--lead-time", "9"],
            "--lead-time: expected fewer months than the 5 planned",
        ),
        (
            "    lead_time: 2\n",
            "    lead_time: 2\n",
            &["--months", "0"],
            "--months: expected 1 to 600 months, got 0",
        ),
    ];
    for (from, to, flags, expected) in cases {
        assert!(TINY.contains(from), "{from}");
        let path = scenario(dir.path(), &TINY.replace(from, to));
        let output = fleetsim_into("grow", &path, &out, flags);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{to} {flags:?}: {stderr}");
        assert!(stderr.contains(expected), "{to} {flags:?}: {stderr}");
        assert!(stderr.contains("tiny.yaml"), "the file is named: {stderr}");
        assert!(!out.exists(), "nothing written");
    }
    // The line of the field is named.
    let path = scenario(dir.path(), &TINY.replace("months: 5", "months: 0"));
    let output = fleetsim(&["grow", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("tiny.yaml:16:3: growth.months"), "{stderr}");
    // No growth section, no plan.
    let no_growth = &TINY[..TINY.find("growth:").unwrap()];
    let path = scenario(dir.path(), no_growth);
    let output = fleetsim_into("grow", &path, &out, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("growth: `fleetsim grow` needs a `growth:` section"),
        "{stderr}"
    );
    // No SLO, nothing to plan for.
    let path = scenario(
        dir.path(),
        &TINY.replace("slo: {ttft_p99: 500ms, tpot_p99: 30ms}\n", ""),
    );
    let output = fleetsim_into("grow", &path, &out, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("slo: a growth plan needs latency targets"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing written");
}
