//! What a growth plan studies: the `growth:` section of the scenario with the command line's
//! flags in place of its keys, checked, and every run's growth path drawn, before anything
//! runs.

use super::calendar::Month;
use super::path::{Step, multipliers};
use super::plan::Ownership;
use crate::cost::prices::Hardware;
use crate::error::InputError;
use crate::scenario::spec::{GrowthSpec, Text};
use crate::scenario::{ScenarioFile, Value, Variant};
use crate::stats::quantile;
use crate::sweep::plan::{DEFAULT_MAX_SERVERS, DEFAULT_SLO_SHARE};
use crate::uncertain::Drawer;
use crate::units::Ratio;
use serde::{Deserialize, Serialize};

/// Months planned when neither the file nor a flag says.
pub const DEFAULT_MONTHS: u64 = 12;
/// Most months one plan may cover: fifty years.
pub const MAX_MONTHS: u64 = 600;

/// Values from the command line, each replacing the scenario's `growth:` key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Overrides {
    /// `--months`.
    pub months: Option<u64>,
    /// `--lead-time`.
    pub lead_time: Option<u64>,
    /// `--headroom`.
    pub headroom: Option<f64>,
    /// `--forecast`.
    pub forecast: Option<String>,
    /// `--owned` or `--rented`.
    pub ownership: Option<Ownership>,
    /// `--slo-share`.
    pub slo_share: Option<f64>,
    /// `--max-servers`.
    pub max_servers: Option<u64>,
}

/// Which figure of the runs' traffic in a month the plan provisions for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Forecast {
    /// The mean across runs.
    Mean,
    /// A percentile across runs, 0 to 100 (`p90`).
    Percentile(f64),
}

impl Forecast {
    /// Reads `mean`, `median`, or a percentile `p0` to `p100` (`p50`, `p90`, `p97.5`).
    pub fn parse(text: &str) -> Result<Forecast, String> {
        let text = text.trim();
        let percentile = text
            .strip_prefix('p')
            .and_then(|p| p.parse::<f64>().ok())
            .filter(|p| (0.0..=100.0).contains(p));
        match (text, percentile) {
            ("mean", _) => Ok(Forecast::Mean),
            ("median", _) => Ok(Forecast::Percentile(50.0)),
            (_, Some(p)) => Ok(Forecast::Percentile(p)),
            _ => Err(format!(
                "expected mean, median or a percentile of the runs' traffic such as p50 or p90; \
                 got `{text}`"
            )),
        }
    }

    /// This figure of `values` (one per run).
    pub fn of(self, values: &[f64]) -> f64 {
        match self {
            Forecast::Mean => values.iter().sum::<f64>() / values.len().max(1) as f64,
            Forecast::Percentile(p) => {
                let mut sorted = values.to_vec();
                sorted.sort_by(f64::total_cmp);
                quantile(&sorted, p / 100.0)
            }
        }
    }

    /// `mean` or `p90`, as written.
    pub fn name(self) -> String {
        match self {
            Forecast::Mean => "mean".into(),
            Forecast::Percentile(p) => format!("p{p}"),
        }
    }
}

/// A step change of the traffic.
#[derive(Clone, Debug)]
pub struct Event {
    /// The month it takes effect.
    pub month: Month,
    /// Its multiplier, as written (it may be uncertain).
    pub multiplier: Value<f64>,
    /// What it is; empty when not given.
    pub label: String,
}

/// A dated multiplier of the base traffic.
#[derive(Clone, Debug)]
pub struct Dated {
    /// The month it applies to.
    pub month: Month,
    /// Its value, as written (it may be uncertain).
    pub multiplier: Value<f64>,
}

/// A checked growth section: the traffic of every month and run, and how the fleet is
/// planned for it.
#[derive(Clone, Debug)]
pub struct Growth {
    /// The first month planned.
    pub start: Month,
    /// Months planned.
    pub months: usize,
    /// Compound growth per month, as written.
    pub monthly: Value<Ratio>,
    /// Step changes, in the file's order.
    pub events: Vec<Event>,
    /// Dated multipliers, by month.
    pub dated: Vec<Dated>,
    /// Months between an order and its servers in service.
    pub lead_time: usize,
    /// The plan provisions forecast × (1 + headroom).
    pub headroom: f64,
    /// Which figure of the runs' traffic the plan provisions for.
    pub forecast: Forecast,
    /// Owned or rented servers.
    pub ownership: Ownership,
    /// The largest fleet the capacity search tries.
    pub max_servers: u64,
    /// Share of runs that must meet every SLO target.
    pub slo_share: f64,
    /// Servers in service at the start: `fleet.servers` (run 0's draw).
    pub initial_servers: u64,
    /// Tensor-parallel degree of every fleet (run 0's draw of `fleet.tensor_parallel`).
    pub tensor_parallel: u32,
    /// The servers a fleet steps by: 1, or the servers one replica spans.
    pub servers_unit: u64,
    /// Traffic multiplier of each month (outer) and run (inner), relative to the workload.
    pub traffic: Vec<Vec<f64>>,
}

impl Growth {
    /// The checked `growth:` section of `file` with `overrides` applied, and every run's
    /// traffic path. The file is resolved at the largest load and fleet the plan may ask
    /// for, so that a traffic the simulator refuses stops the plan before any simulation.
    /// Errors about the file's keys name their line.
    pub fn new(file: &mut ScenarioFile, overrides: &Overrides) -> Result<Growth, InputError> {
        let saved = file.variant();
        file.set_variant(Variant::default());
        let growth = Self::from_file(file, overrides);
        file.set_variant(saved);
        file.set_run_loads(None);
        growth.map_err(|e| file.locate_error(e))
    }

    fn from_file(file: &mut ScenarioFile, overrides: &Overrides) -> Result<Growth, InputError> {
        let base = file.scenario(0)?;
        let Some(spec) = file.growth() else {
            return Err(InputError::field(
                "growth",
                "`fleetsim grow` needs a `growth:` section, such as growth: {start: 2027-01, \
                 months: 12, monthly: 5%, plan: {lead_time: 3}}",
            ));
        };
        let start = month("growth.start", &spec.start)?;
        let (field, months) = pick(overrides.months, spec.months, "--months", "growth.months");
        let months = months.unwrap_or(DEFAULT_MONTHS);
        if !(1..=MAX_MONTHS).contains(&months) {
            return Err(InputError::field(
                field,
                format!("expected 1 to {MAX_MONTHS} months, got {months}"),
            ));
        }
        let months = months as usize;
        let last = start.plus(months as i64 - 1);
        let events = events(spec, start, last)?;
        let dated = dated(spec, start)?;

        let plan = &spec.plan;
        let (field, lead_time) = pick(
            overrides.lead_time,
            plan.lead_time,
            "--lead-time",
            "growth.plan.lead_time",
        );
        let lead_time = lead_time.unwrap_or(0);
        if lead_time >= months as u64 {
            return Err(InputError::field(
                field,
                format!(
                    "expected fewer months than the {months} planned (no order could arrive \
                     within the plan), got {lead_time}"
                ),
            ));
        }
        let (field, headroom) = pick(
            overrides.headroom,
            plan.headroom.map(|h| h.0),
            "--headroom",
            "growth.plan.headroom",
        );
        let headroom = headroom.unwrap_or(0.0);
        if !(headroom.is_finite() && (0.0..=10.0).contains(&headroom)) {
            return Err(InputError::field(
                field,
                format!(
                    "expected a margin from 0 to 10 (0.2 or 20% plans 1.2 × the forecast), got {headroom}"
                ),
            ));
        }
        let (field, forecast) = pick(
            overrides.forecast.clone(),
            plan.forecast.as_ref().map(|t| t.0.clone()),
            "--forecast",
            "growth.plan.forecast",
        );
        let forecast = match forecast {
            Some(text) => Forecast::parse(&text).map_err(|e| InputError::field(field, e))?,
            None => Forecast::Percentile(50.0),
        };
        let ownership =
            overrides
                .ownership
                .or(plan.hardware)
                .unwrap_or(match base.prices.hardware {
                    Hardware::Owned { .. } => Ownership::Owned,
                    Hardware::Rented { .. } => Ownership::Rented,
                });
        let (field, slo_share) = pick(
            overrides.slo_share,
            plan.slo_share
                .or_else(|| file.sweep().and_then(|s| s.slo_share)),
            "--slo-share",
            "growth.plan.slo_share",
        );
        let slo_share = slo_share.unwrap_or(DEFAULT_SLO_SHARE);
        if !(slo_share > 0.0 && slo_share <= 1.0) {
            return Err(InputError::field(
                field,
                format!(
                    "expected a share of runs above 0 and at most 1, such as 0.95; got {slo_share}"
                ),
            ));
        }
        let tensor_parallel = base.replica.parallelism.tensor;
        let servers_unit = crate::sweep::servers_unit(&base, tensor_parallel);
        let (field, max_servers) = pick(
            overrides.max_servers,
            plan.max_servers,
            "--max-servers",
            "growth.plan.max_servers",
        );
        let max_servers = max_servers.unwrap_or(DEFAULT_MAX_SERVERS);
        if max_servers < servers_unit {
            return Err(InputError::field(
                field,
                format!(
                    "expected at least {servers_unit} (the servers one replica spans), got \
                     {max_servers}"
                ),
            ));
        }
        if base.slo.targets.is_empty() {
            return Err(InputError::field(
                "slo",
                "a growth plan needs latency targets to meet, such as \
                 slo: {ttft_p99: 2s, tpot_p99: 100ms}",
            ));
        }

        let monthly = spec.monthly.clone().unwrap_or(Value::Fixed(Ratio(0.0)));
        let mut growth = Growth {
            start,
            months,
            monthly,
            events,
            dated,
            lead_time: lead_time as usize,
            headroom,
            forecast,
            ownership,
            max_servers,
            slo_share,
            initial_servers: base.fleet.servers,
            tensor_parallel,
            servers_unit,
            traffic: Vec::new(),
        };
        let paths = (0..file.runs())
            .map(|run| growth.path(file.seed(), run))
            .collect::<Result<Vec<_>, InputError>>()?;
        growth.traffic = (0..months)
            .map(|p| paths.iter().map(|path| path[p]).collect())
            .collect();
        growth.check_loads(file)?;
        Ok(growth)
    }

    /// The label of month `p` (0 is the start).
    pub fn month(&self, p: usize) -> Month {
        self.start.plus(p as i64)
    }

    /// The load the plan provisions month `p` for: the forecast of the runs' traffic ×
    /// (1 + headroom).
    pub fn planning_load(&self, p: usize) -> f64 {
        self.forecast.of(&self.traffic[p]) * (1.0 + self.headroom)
    }

    /// The largest fleet the search may try: `max_servers` in whole units.
    pub fn max_fleet(&self) -> u64 {
        self.max_servers / self.servers_unit * self.servers_unit
    }

    /// Run `run`'s traffic multiplier of every month, its growth inputs drawn from the run's
    /// streams (each field its own, as every uncertain value of the scenario).
    fn path(&self, seed: u64, run: u64) -> Result<Vec<f64>, InputError> {
        let mut drawer = Drawer::new(seed, run);
        let rate = drawer.value("growth.monthly", &self.monthly).0;
        if !(rate.is_finite() && rate > -1.0 && rate <= 10.0) {
            return Err(drawn_error(
                &drawer,
                "growth.monthly",
                format!(
                    "expected a monthly growth rate above -100% and at most 1000%, such as \
                     0.05 or 5%; got {rate}"
                ),
            ));
        }
        let mut steps = |field: &str, month: Month, value: &Value<f64>| {
            let multiplier = drawer.value(field, value);
            if !(multiplier.is_finite() && multiplier > 0.0) {
                return Err(drawn_error(
                    &drawer,
                    field,
                    format!("expected a multiplier above 0, such as 1.5; got {multiplier}"),
                ));
            }
            Ok(Step {
                month: month.since(self.start) as usize,
                multiplier,
            })
        };
        let events = (self.events.iter().enumerate())
            .map(|(i, e)| {
                steps(
                    &format!("growth.events[{i}].multiplier"),
                    e.month,
                    &e.multiplier,
                )
            })
            .collect::<Result<Vec<_>, InputError>>()?;
        let dated = (self.dated.iter())
            .map(|d| {
                steps(
                    &format!("growth.multipliers.{}", d.month),
                    d.month,
                    &d.multiplier,
                )
            })
            .collect::<Result<Vec<_>, InputError>>()?;
        Ok(multipliers(self.months, rate, &events, &dated))
    }

    /// Resolves every run at the largest fleet and the largest load it may be studied at
    /// (its own traffic, or any month's planning load), so that the simulator's limits on
    /// requests and clients stop the plan now.
    fn check_loads(&self, file: &mut ScenarioFile) -> Result<(), InputError> {
        let planning = (0..self.months)
            .map(|p| self.planning_load(p))
            .fold(0.0, f64::max);
        file.set_variant(Variant {
            servers: Some(self.max_fleet()),
            tensor_parallel: Some(self.tensor_parallel),
            load: 1.0,
            autoscaling: false,
            ..Variant::default()
        });
        let loads: Vec<f64> = (0..file.runs() as usize)
            .map(|run| self.traffic.iter().map(|m| m[run]).fold(planning, f64::max))
            .collect();
        file.set_run_loads(Some(loads.clone()));
        for (run, load) in loads.iter().enumerate() {
            let shown = if *load < 1e4 {
                format!("{load:.3}")
            } else {
                format!("{load:.3e}")
            };
            file.scenario(run as u64).map_err(|e| InputError {
                message: format!(
                    "{} (growth plan: run {run} at {} servers and load ×{shown})",
                    e.message,
                    self.max_fleet()
                ),
                ..e
            })?;
        }
        Ok(())
    }
}

/// The flag's value if given, else the file's: with the name to blame for it.
fn pick<T>(
    flag: Option<T>,
    file: Option<T>,
    flag_name: &'static str,
    key: &'static str,
) -> (&'static str, Option<T>) {
    match (flag, file) {
        (Some(v), _) => (flag_name, Some(v)),
        (None, v) => (key, v),
    }
}

fn month(field: &str, text: &Text) -> Result<Month, InputError> {
    Month::parse(&text.0).map_err(|e| InputError::field(field, e))
}

/// `growth.events`, each month within the plan.
fn events(spec: &GrowthSpec, start: Month, last: Month) -> Result<Vec<Event>, InputError> {
    spec.events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let field = format!("growth.events[{i}].month");
            let at = month(&field, &e.month)?;
            if at < start || at > last {
                return Err(InputError::field(
                    field,
                    format!("expected a month planned, {start} to {last}; got {at}"),
                ));
            }
            Ok(Event {
                month: at,
                multiplier: e.multiplier.clone(),
                label: e.label.clone().unwrap_or_default(),
            })
        })
        .collect()
}

/// `growth.multipliers`, by month, none before the start.
fn dated(spec: &GrowthSpec, start: Month) -> Result<Vec<Dated>, InputError> {
    let mut dated = spec
        .multipliers
        .iter()
        .map(|(key, value)| {
            let field = format!("growth.multipliers.{key}");
            let at = Month::parse(key).map_err(|e| InputError::field(&field, e))?;
            if at < start {
                return Err(InputError::field(
                    field,
                    format!("expected a month from the start, {start}, on; got {at}"),
                ));
            }
            Ok(Dated {
                month: at,
                multiplier: value.clone(),
            })
        })
        .collect::<Result<Vec<_>, InputError>>()?;
    dated.sort_by_key(|d| d.month);
    Ok(dated)
}

/// An error about `field`, saying which distribution and run drew the value if it was drawn.
fn drawn_error(drawer: &Drawer, field: &str, message: String) -> InputError {
    let message = match drawer.drawn().iter().find(|d| d.field == field) {
        Some(d) => format!(
            "{message} (drawn from {} in run {})",
            d.distribution,
            drawer.run()
        ),
        None => message,
    };
    InputError::field(field, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forecasts_read_and_pick_their_figure() {
        assert_eq!(Forecast::parse("p90"), Ok(Forecast::Percentile(90.0)));
        assert_eq!(Forecast::parse("median"), Ok(Forecast::Percentile(50.0)));
        assert_eq!(Forecast::parse("mean"), Ok(Forecast::Mean));
        assert!(Forecast::parse("p101").is_err());
        assert!(Forecast::parse("90").is_err());
        // Five runs: the mean is 3; p90 lies 0.6 of the way from the 4th value to the 5th.
        let runs = [1.0, 4.0, 2.0, 3.0, 5.0];
        assert_eq!(Forecast::Mean.of(&runs), 3.0);
        assert_eq!(Forecast::Percentile(50.0).of(&runs), 3.0);
        assert!((Forecast::Percentile(90.0).of(&runs) - 4.6).abs() < 1e-12);
        assert_eq!(Forecast::Percentile(90.0).name(), "p90");
        assert_eq!(Forecast::Percentile(97.5).name(), "p97.5");
    }
}
