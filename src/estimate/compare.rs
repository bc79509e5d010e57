//! The closed form beside a simulation: the `summary.json` that `fleetsim run` wrote, read
//! back, and the figures both have set side by side, each with what its difference means.
//! The difference is the price of what the closed form leaves out: queueing, batches the
//! load cannot fill, latency, failures, requests still in flight at the horizon.

use super::Estimate;
use super::steps::Unit;
use super::work::DAY_S;
use crate::error::InputError;
use crate::report::document::SCHEMA_VERSION;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What a simulation reported, per day: the headline means across its runs, scaled from
/// its horizon to 24 hours where they are totals.
#[derive(Clone, Debug, PartialEq)]
pub struct Simulated {
    /// The `summary.json` read.
    pub file: PathBuf,
    /// The scenario it simulated.
    pub scenario: String,
    /// Runs in the study.
    pub runs: u64,
    /// Simulated seconds per run.
    pub horizon_s: f64,
    /// GPUs in its fleet.
    pub gpus: u64,
    /// Run 0's mean running requests per replica.
    pub batch_mean: f64,
    /// Completed requests per day.
    pub requests_per_day: Option<f64>,
    /// Output tokens per day.
    pub output_tokens_per_day: Option<f64>,
    /// Share of GPU-time in steps.
    pub gpu_busy: Option<f64>,
    /// Achieved ÷ peak FLOPs.
    pub flops_utilization: Option<f64>,
    /// IT energy per day, kWh.
    pub it_kwh_per_day: Option<f64>,
    /// Facility energy per day, kWh.
    pub facility_kwh_per_day: Option<f64>,
    /// Cost per day of each category of the bill.
    pub cost_by_category: Vec<(&'static str, Option<f64>)>,
    /// Cost per day.
    pub total_usd_per_day: Option<f64>,
    /// Dollars per 1,000 completed requests.
    pub usd_per_1k_requests: Option<f64>,
    /// Dollars per million output tokens.
    pub usd_per_1m_output_tokens: Option<f64>,
}

/// The bill's categories and their headline keys in `summary.json`.
const CATEGORIES: [(&str, &str); 6] = [
    ("hardware", "cost_hardware_usd_per_day"),
    ("energy", "cost_energy_usd_per_day"),
    ("network", "cost_network_usd_per_day"),
    ("facility", "cost_facility_usd_per_day"),
    ("fixed", "cost_fixed_usd_per_day"),
    ("carbon", "cost_carbon_usd_per_day"),
];

/// `summary.json` as a JSON value, with errors that name the file and the field.
struct SummaryFile {
    file: PathBuf,
    json: Value,
}

impl SummaryFile {
    fn error(&self, field: &str, message: impl Into<String>) -> InputError {
        InputError::field(field, message).in_file(&self.file)
    }

    /// The value at a dotted `path`.
    fn get(&self, path: &str) -> Result<&Value, InputError> {
        path.split('.')
            .try_fold(&self.json, |value, key| value.get(key))
            .ok_or_else(|| self.error(path, "missing; is this a summary.json of `fleetsim run`?"))
    }

    fn number(&self, path: &str) -> Result<f64, InputError> {
        let value = self.get(path)?;
        value
            .as_f64()
            .ok_or_else(|| self.error(path, format!("expected a number, got {value}")))
    }

    fn count(&self, path: &str) -> Result<u64, InputError> {
        let value = self.get(path)?;
        value
            .as_u64()
            .ok_or_else(|| self.error(path, format!("expected a whole number, got {value}")))
    }

    /// The mean of headline `key`; `None` where it is null (no run had the figure).
    fn headline(&self, key: &str) -> Result<Option<f64>, InputError> {
        let field = format!("headlines[key = {key}].mean");
        let entries = self
            .get("headlines")?
            .as_array()
            .ok_or_else(|| self.error("headlines", "expected a list"))?;
        let entry = entries
            .iter()
            .find(|h| h.get("key").and_then(Value::as_str) == Some(key))
            .ok_or_else(|| self.error(&field, "missing"))?;
        match entry.get("mean") {
            Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.error(&field, format!("expected a number, got {value}"))),
            None => Err(self.error(&field, "missing")),
        }
    }
}

/// Reads `dir/summary.json`, as `fleetsim run` writes it.
///
/// # Errors
///
/// A missing or unreadable file, malformed JSON, another schema version, or a missing or
/// malformed field: an [`InputError`] naming the file and the field.
pub fn read_summary(dir: &Path) -> Result<Simulated, InputError> {
    let file = dir.join("summary.json");
    let text = std::fs::read_to_string(&file).map_err(|e| {
        InputError::general(format!(
            "cannot read the results of `fleetsim run` ({e}); give the folder it wrote"
        ))
        .in_file(&file)
    })?;
    let json: Value = serde_json::from_str(&text).map_err(|e| {
        let message = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let mut error = InputError::general(format!(
            "not valid JSON: {}",
            message.strip_suffix(&suffix).unwrap_or(&message)
        ))
        .in_file(&file);
        error.location = Some((e.line(), e.column()));
        error
    })?;
    let s = SummaryFile { file, json };
    let version = s.count("schema_version")?;
    if version != u64::from(SCHEMA_VERSION) {
        return Err(s.error(
            "schema_version",
            format!(
                "this fleetsim reads version {SCHEMA_VERSION}, got {version}; run the scenario \
                 again with this fleetsim"
            ),
        ));
    }
    let horizon_s = s.number("scenario.horizon_s")?;
    if !(horizon_s.is_finite() && horizon_s > 0.0) {
        return Err(s.error(
            "scenario.horizon_s",
            format!("expected a positive number of seconds, got {horizon_s}"),
        ));
    }
    let per_day = DAY_S / horizon_s;
    let scale = |v: Option<f64>, by: f64| v.map(|v| v * by);
    let scenario = s.get("scenario.name")?;
    let scenario = scenario
        .as_str()
        .ok_or_else(|| s.error("scenario.name", format!("expected text, got {scenario}")))?
        .to_string();
    let mut cost_by_category = Vec::new();
    for (category, key) in CATEGORIES {
        cost_by_category.push((category, s.headline(key)?));
    }
    Ok(Simulated {
        scenario,
        runs: s.count("runs")?,
        horizon_s,
        gpus: s.count("configuration.gpus")?,
        batch_mean: s.number("first_run.results.utilization.batch_mean")?,
        requests_per_day: scale(s.headline("requests_completed")?, per_day),
        output_tokens_per_day: scale(s.headline("output_tokens_per_s")?, DAY_S),
        gpu_busy: s.headline("gpu_busy")?,
        flops_utilization: s.headline("flops_utilization")?,
        it_kwh_per_day: scale(s.headline("it_kwh")?, per_day),
        facility_kwh_per_day: scale(s.headline("facility_kwh")?, per_day),
        cost_by_category,
        total_usd_per_day: s.headline("cost_usd_per_day")?,
        usd_per_1k_requests: s.headline("usd_per_1k_requests")?,
        usd_per_1m_output_tokens: s.headline("usd_per_1m_output_tokens")?,
        file: s.file,
    })
}

/// One figure, closed form against simulation.
#[derive(Clone, Debug, PartialEq)]
pub struct ComparisonRow {
    /// What it is, with its unit: `IT energy (kWh/day)`.
    pub figure: String,
    /// How its values read.
    pub unit: Unit,
    /// The estimate's value.
    pub closed_form: Option<f64>,
    /// The simulation's value.
    pub simulated: Option<f64>,
    /// What the difference means, in one line.
    pub meaning: String,
}

impl ComparisonRow {
    /// `(simulated − closed form) ÷ closed form`; zero when both are zero, `None` when
    /// either is missing or only the closed form is zero.
    pub fn difference(&self) -> Option<f64> {
        let (cf, sim) = (self.closed_form?, self.simulated?);
        if cf == 0.0 {
            (sim == 0.0).then_some(0.0)
        } else {
            Some((sim - cf) / cf)
        }
    }
}

/// The estimate beside the simulation.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// What the simulation reported.
    pub simulated: Simulated,
    /// The figures both have.
    pub rows: Vec<ComparisonRow>,
    /// What the differences add up to, and caveats.
    pub notes: Vec<String>,
}

/// Differences below this share count as agreement.
const AGREE: f64 = 0.02;

/// How two values stand: `Less`, `Equal` (within [`AGREE`]) or `Greater`, simulated
/// against closed form.
fn stand(cf: Option<f64>, sim: Option<f64>) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (cf, sim) {
        (Some(cf), Some(sim)) if (sim - cf).abs() <= AGREE * cf.abs().max(1e-12) => Equal,
        (Some(cf), Some(sim)) if sim > cf => Greater,
        (Some(_), Some(_)) => Less,
        _ => Equal,
    }
}

/// Picks the line for `Less`, `Equal` and `Greater`.
fn say(cf: Option<f64>, sim: Option<f64>, less: &str, equal: &str, greater: &str) -> String {
    match stand(cf, sim) {
        std::cmp::Ordering::Less => less,
        std::cmp::Ordering::Equal => equal,
        std::cmp::Ordering::Greater => greater,
    }
    .to_string()
}

/// Sets `estimate` (its scenario's fleet) beside `simulated`.
pub fn compare(estimate: &Estimate, simulated: Simulated) -> Comparison {
    let e = estimate;
    let fleet = &e.scenario_fleet;
    let sim = &simulated;
    let mut rows = Vec::new();
    let mut row = |figure: &str, unit: Unit, cf: Option<f64>, sim: Option<f64>, meaning: String| {
        rows.push(ComparisonRow {
            figure: figure.to_string(),
            unit,
            closed_form: cf,
            simulated: sim,
            meaning,
        });
    };

    let gpus = Some(fleet.layout.gpus() as f64);
    let sim_gpus = Some(sim.gpus as f64);
    row(
        "fleet GPUs",
        Unit::Of(""),
        gpus,
        sim_gpus,
        if gpus == sim_gpus {
            "the same fleet".into()
        } else {
            "another fleet: these results are not of this scenario as it stands".into()
        },
    );
    let requests = Some(e.traffic.requests_per_day);
    row(
        "requests/day",
        Unit::Of(""),
        requests,
        sim.requests_per_day,
        say(
            requests,
            sim.requests_per_day,
            "fewer completed: requests still in flight at the horizon, rejected or failed",
            "the simulated day completed the offered volume, give or take Poisson noise",
            "more completed than offered on average: Poisson noise of the arrivals",
        ),
    );
    let tokens = Some(e.traffic.output_tokens_per_day());
    row(
        "output tokens/day",
        Unit::Of(""),
        tokens,
        sim.output_tokens_per_day,
        say(
            tokens,
            sim.output_tokens_per_day,
            "fewer tokens reached users: unfinished, rejected or failed requests",
            "the same tokens: lengths drawn as their distributions say",
            "more tokens than the mean lengths give: noise of the drawn lengths",
        ),
    );
    let flops =
        Some((e.prefill.flops_per_day + e.decode.flops_per_day) / (fleet.peak_flops * DAY_S));
    row(
        "FLOP utilisation",
        Unit::Share,
        flops,
        sim.flops_utilization,
        say(
            flops,
            sim.flops_utilization,
            "FLOPs follow tokens, not batches: fewer tokens were processed",
            "FLOPs follow tokens, not batches: both count the same work",
            "FLOPs follow tokens: prompts recomputed after preemption, or more tokens",
        ),
    );
    let busy = Some(fleet.busy);
    row(
        "GPU busy",
        Unit::Share,
        busy,
        sim.gpu_busy,
        say(
            busy,
            sim.gpu_busy,
            "the simulation did less work, or filled its steps better than assumed",
            "the simulated steps were as full as the closed form's",
            &format!(
                "the load formed batches of {:.1} requests (run 0), not the full {}: each \
                 token carried more weight reads and step overheads",
                sim.batch_mean, e.decode.sequences
            ),
        ),
    );
    for (figure, cf, value) in [
        (
            "IT energy (kWh/day)",
            fleet.energy.it_kwh,
            sim.it_kwh_per_day,
        ),
        (
            "facility energy (kWh/day)",
            fleet.energy.facility_kwh,
            sim.facility_kwh_per_day,
        ),
    ] {
        row(
            figure,
            Unit::Of(""),
            Some(cf),
            value,
            say(
                Some(cf),
                value,
                "GPUs spent less time in steps (or at lower power) than estimated",
                "GPU-time in steps and its power as estimated",
                "follows GPU busy: GPUs in steps draw step power, idle ones idle power",
            ),
        );
    }
    for (category, value) in &sim.cost_by_category {
        let cf = fleet
            .cost
            .by_category
            .iter()
            .find(|(c, _)| c == category)
            .map_or(0.0, |(_, usd)| *usd);
        if cf == 0.0 && value.unwrap_or(0.0) == 0.0 {
            continue;
        }
        let meaning = match *category {
            "hardware" => say(
                Some(cf),
                *value,
                "another fleet or other prices",
                "the same fleet at the same prices, busy or not",
                "another fleet or other prices",
            ),
            "energy" | "carbon" => "follows facility energy".into(),
            "network" => say(
                Some(cf),
                *value,
                "egress follows output tokens: fewer reached users",
                "egress follows output tokens",
                "egress follows output tokens: more reached users",
            ),
            "facility" => "priced on provisioned power: the fleet's, busy or not".into(),
            _ => "given per day".into(),
        };
        row(
            &format!("cost: {category}"),
            Unit::Usd,
            Some(cf),
            *value,
            meaning,
        );
    }
    let total = Some(fleet.cost.total_usd_per_day);
    row(
        "cost per day",
        Unit::Usd,
        total,
        sim.total_usd_per_day,
        say(
            total,
            sim.total_usd_per_day,
            "less energy or egress than estimated",
            "the fleet is paid for whether busy or not; what varies is small here",
            "the same fleet, plus the energy of its longer busy time",
        ),
    );
    for (figure, cf, value) in [
        (
            "$ per 1k requests",
            fleet.cost.usd_per_1k_requests,
            sim.usd_per_1k_requests,
        ),
        (
            "$ per 1M output tokens",
            fleet.cost.usd_per_1m_output_tokens,
            sim.usd_per_1m_output_tokens,
        ),
    ] {
        row(
            figure,
            Unit::Usd,
            cf,
            value,
            say(
                cf,
                value,
                "the bill was smaller, over about as much traffic",
                "the same bill over the same traffic",
                "a bigger bill, or less traffic finished within the horizon",
            ),
        );
    }

    let mut notes = Vec::new();
    if sim.runs > 1 {
        notes.push(format!(
            "simulated figures are means over {} runs; the closed form takes run 0's draw of \
             each uncertain value",
            sim.runs
        ));
    }
    if (sim.horizon_s - DAY_S).abs() > 1.0 {
        notes.push(format!(
            "the simulation covered {:.1} h, scaled here to a day: its volume is that of the \
             hours it covered",
            sim.horizon_s / 3600.0
        ));
    }
    if sim.scenario != e.scenario {
        notes.push(format!(
            "the results are of scenario `{}`, the estimate of `{}`",
            sim.scenario, e.scenario
        ));
    }
    if let Some(sim_busy) = sim.gpu_busy.filter(|b| *b > fleet.busy) {
        notes.push(format!(
            "the price of queueing and of batches the load cannot fill: {:.0} GPU-hours a day \
             in steps beyond the {:.0} the work needs at full batches",
            (sim_busy - fleet.busy) * sim.gpus as f64 * 24.0,
            fleet.busy * fleet.layout.gpus() as f64 * 24.0
        ));
    }
    Comparison {
        simulated,
        rows,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The smallest `summary.json` this module reads: a 12-hour run.
    fn summary() -> Value {
        let keys = [
            ("requests_completed", json!(1000.0)),
            ("output_tokens_per_s", json!(2.0)),
            ("gpu_busy", json!(0.5)),
            ("flops_utilization", json!(0.1)),
            ("it_kwh", json!(10.0)),
            ("facility_kwh", json!(12.0)),
            ("cost_usd_per_day", json!(100.0)),
            ("cost_hardware_usd_per_day", json!(90.0)),
            ("cost_energy_usd_per_day", json!(10.0)),
            ("cost_network_usd_per_day", json!(0.0)),
            ("cost_facility_usd_per_day", json!(0.0)),
            ("cost_fixed_usd_per_day", json!(0.0)),
            ("cost_carbon_usd_per_day", json!(0.0)),
            ("usd_per_1k_requests", json!(50.0)),
            ("usd_per_1m_output_tokens", Value::Null),
        ];
        json!({
            "schema_version": SCHEMA_VERSION,
            "scenario": {"name": "s", "horizon_s": 43_200.0},
            "runs": 1,
            "configuration": {"gpus": 8},
            "headlines": keys.iter().map(|(k, v)| json!({"key": k, "mean": v})).collect::<Vec<_>>(),
            "first_run": {"results": {"utilization": {"batch_mean": 3.5}}},
        })
    }

    fn read(text: &str) -> Result<Simulated, InputError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("summary.json"), text).unwrap();
        read_summary(dir.path())
    }

    #[test]
    fn totals_are_scaled_from_the_horizon_to_a_day() {
        let s = read(&summary().to_string()).unwrap();
        assert_eq!(s.requests_per_day, Some(2000.0));
        assert_eq!(s.output_tokens_per_day, Some(172_800.0));
        assert_eq!(s.it_kwh_per_day, Some(20.0));
        assert_eq!(s.gpu_busy, Some(0.5), "shares stay as they are");
        assert_eq!(
            s.total_usd_per_day,
            Some(100.0),
            "the bill is already per day"
        );
        assert_eq!(s.usd_per_1m_output_tokens, None, "null reads as missing");
        assert_eq!(s.cost_by_category[0], ("hardware", Some(90.0)));
    }

    #[test]
    fn a_missing_folder_names_the_file() {
        let err = read_summary(Path::new("/nonexistent/results")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/nonexistent/results/summary.json"), "{text}");
        assert!(text.contains("cannot read the results"), "{text}");
    }

    #[test]
    fn malformed_json_names_its_line() {
        let err = read("{\n  \"schema_version\": 3,\n  oops\n}").unwrap_err();
        assert_eq!(err.location, Some((3, 3)));
        let text = err.to_string();
        assert!(
            text.contains("summary.json:3:3: not valid JSON: key must be a string"),
            "{text}"
        );
    }

    #[test]
    fn missing_or_malformed_fields_are_named() {
        let mut doc = summary();
        doc["headlines"].as_array_mut().unwrap().remove(2);
        let err = read(&doc.to_string()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("headlines[key = gpu_busy].mean"));

        let mut doc = summary();
        doc["scenario"]["horizon_s"] = json!("a day");
        let err = read(&doc.to_string()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("scenario.horizon_s"));
        assert!(err.message.contains("expected a number"), "{err}");

        let mut doc = summary();
        doc["configuration"] = json!({});
        let err = read(&doc.to_string()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("configuration.gpus"));

        let mut doc = summary();
        doc["schema_version"] = json!(2);
        let err = read(&doc.to_string()).unwrap_err();
        assert!(
            err.to_string()
                .contains("schema_version: this fleetsim reads version 3, got 2")
        );
    }

    #[test]
    fn differences_are_relative_to_the_closed_form() {
        let row = |cf, sim| ComparisonRow {
            figure: String::new(),
            unit: Unit::Usd,
            closed_form: cf,
            simulated: sim,
            meaning: String::new(),
        };
        assert_eq!(row(Some(100.0), Some(150.0)).difference(), Some(0.5));
        assert_eq!(row(Some(0.0), Some(0.0)).difference(), Some(0.0));
        assert_eq!(row(Some(0.0), Some(1.0)).difference(), None);
        assert_eq!(row(Some(1.0), None).difference(), None);
    }
}
