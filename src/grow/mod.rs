//! Growth plans: the fleet month by month as the traffic grows, and what each month costs.
//!
//! `fleetsim grow` reads the scenario's `growth:` section ([`Growth`]): each run draws its
//! own growth path ([`path`]), a traffic multiplier per month. For every month the plan
//! takes the forecast of the runs' traffic (`p50`, `p90`, `mean`) × (1 + headroom) and asks
//! the sweep's capacity search for the smallest fleet meeting every SLO target in
//! `slo_share` of runs at that load; [`plan`] turns those requirements into orders and the
//! servers in service under the lead time, owned or rented. Last, every month's planned fleet
//! is simulated at that month's traffic, each run at its own drawn multiplier, for the cost
//! and the SLO attainment the plan really gets.
//!
//! Every study resolves the same scenario file as a [`Variant`] with the same seed (common
//! random numbers), and is cached by fleet and load, so that no point is simulated twice:
//! a month whose traffic is the same in every run and that the search already studied at its
//! planned fleet costs nothing more.

pub mod calendar;
pub mod path;
pub mod plan;
pub mod settings;

pub use calendar::Month;
pub use plan::{FleetMonth, Ownership, plan_fleet};
pub use settings::{Forecast, Growth, Overrides};

use crate::error::Error;
use crate::scenario::{ScenarioFile, Variant};
use crate::stats::{Slo, Spread, spread};
use crate::study::Options;
use crate::sweep::{Point, smallest_passing_from, study_point};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One month of a growth plan.
#[derive(Clone, Debug)]
pub struct MonthResult {
    /// The month.
    pub month: Month,
    /// The runs' traffic multipliers (relative to the scenario's workload).
    pub traffic: Spread,
    /// The forecast of the runs' traffic the plan provisions for.
    pub forecast: f64,
    /// The load the fleet is sized for: forecast × (1 + headroom).
    pub planning_load: f64,
    /// The smallest fleet meeting the SLO in `slo_share` of runs at the planning load; `None`
    /// when no fleet up to the maximum does.
    pub required: Option<u64>,
    /// Fleet sizes the capacity search asked about, in order (cached points included).
    pub tried: Vec<u64>,
    /// Servers ordered this month, in service `lead_time` months later.
    pub ordered: u64,
    /// Servers in service.
    pub in_service: u64,
    /// Whether fewer servers are in service than required (or none suffices).
    pub under_provisioned: bool,
    /// The fleet in service simulated at the month's traffic, each run at its own.
    pub simulated: Point,
}

/// A whole growth plan.
#[derive(Clone, Debug)]
pub struct GrowthResult {
    /// The scenario's name.
    pub name: String,
    /// What was planned, with every run's traffic.
    pub growth: Growth,
    /// The latency targets.
    pub slo: Slo,
    /// Month by month.
    pub months: Vec<MonthResult>,
    /// Distinct studies (fleet and traffic) made here: the searches' and the months'
    /// together, or the months' only when the searches were given.
    pub studies: usize,
}

/// Plans the fleet of every month of `growth` and simulates it. `file`'s variant and run
/// loads are left as they were.
pub fn run_growth(
    file: &mut ScenarioFile,
    growth: &Growth,
    options: &Options,
) -> Result<GrowthResult, Error> {
    growth_with(file, growth, None, options)
}

/// [`run_growth`] with every month's capacity search already done, as the shards of a plan
/// cut across machines did it ([`search_months`]): only the months' fleets are studied.
pub fn run_growth_searched(
    file: &mut ScenarioFile,
    growth: &Growth,
    searches: Vec<Search>,
    options: &Options,
) -> Result<GrowthResult, Error> {
    growth_with(file, growth, Some(searches), options)
}

/// Every month's capacity search at its planning load: what a growth plan decides before it
/// studies the months' fleets. `file`'s variant and run loads are left as they were.
pub fn search_months(
    file: &mut ScenarioFile,
    growth: &Growth,
    options: &Options,
) -> Result<Vec<Search>, Error> {
    as_written(file, |file| {
        required_servers(file, growth, &mut Studies::new(growth), options)
    })
}

/// The fleet of every month, planned from the searches' requirements.
pub fn fleet_plan(growth: &Growth, searches: &[Search]) -> Vec<FleetMonth> {
    let required: Vec<u64> = searches
        .iter()
        .map(|search| search.found.unwrap_or(growth.max_fleet()))
        .collect();
    plan_fleet(
        &required,
        growth.initial_servers,
        growth.lead_time,
        growth.ownership,
    )
}

/// The study of a fleet of `servers` when run `i` carries `loads[i]` times the workload: the
/// variant, and the runs' own loads unless every run has the same (then the variant's load).
/// A plan buys or rents fixed fleets month by month, so autoscaling is off.
pub fn study_at(growth: &Growth, servers: u64, loads: &[f64]) -> (Variant, Option<Vec<f64>>) {
    let uniform = loads.iter().all(|l| *l == loads[0]);
    let (load, run_loads) = if uniform {
        (loads[0], None)
    } else {
        (1.0, Some(loads.to_vec()))
    };
    let variant = Variant {
        servers: Some(servers),
        tensor_parallel: Some(growth.tensor_parallel),
        load,
        autoscaling: false,
        ..Variant::default()
    };
    (variant, run_loads)
}

/// Runs `work` on `file` as written (no variant, one load), and puts its variant back after.
fn as_written<T>(
    file: &mut ScenarioFile,
    work: impl FnOnce(&mut ScenarioFile) -> Result<T, Error>,
) -> Result<T, Error> {
    let saved = file.variant();
    file.set_variant(Variant::default());
    file.set_run_loads(None);
    let result = work(file);
    file.set_variant(saved);
    file.set_run_loads(None);
    result
}

/// The plan, its searches done here unless given.
fn growth_with(
    file: &mut ScenarioFile,
    growth: &Growth,
    searches: Option<Vec<Search>>,
    options: &Options,
) -> Result<GrowthResult, Error> {
    as_written(file, |file| {
        let first = file.scenario(0)?;
        let mut studies = Studies::new(growth);
        let searches = match searches {
            Some(searches) => searches,
            None => required_servers(file, growth, &mut studies, options)?,
        };
        let months = plan_months(file, growth, searches, &mut studies, options)?;
        Ok(GrowthResult {
            name: first.name.clone(),
            growth: growth.clone(),
            slo: first.slo.clone(),
            months,
            studies: studies.cache.len(),
        })
    })
}

/// Plans the fleet from the searches and simulates it month by month.
fn plan_months(
    file: &mut ScenarioFile,
    growth: &Growth,
    searches: Vec<Search>,
    studies: &mut Studies,
    options: &Options,
) -> Result<Vec<MonthResult>, Error> {
    let fleet = fleet_plan(growth, &searches);
    searches
        .into_iter()
        .zip(fleet)
        .enumerate()
        .map(|(p, (Search { found, tried }, planned))| {
            let loads = &growth.traffic[p];
            Ok(MonthResult {
                month: growth.month(p),
                traffic: spread(loads),
                forecast: growth.forecast.of(loads),
                planning_load: growth.planning_load(p),
                required: found,
                tried,
                ordered: planned.ordered,
                in_service: planned.in_service,
                under_provisioned: planned.under_provisioned || found.is_none(),
                simulated: studies.point(file, planned.in_service, loads, options)?,
            })
        })
        .collect()
}

/// What one month's capacity search found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Search {
    /// The smallest passing fleet; `None` when none up to the maximum passes.
    pub found: Option<u64>,
    /// Fleet sizes asked about, in order.
    pub tried: Vec<u64>,
}

/// Each month's capacity search at its planning load: the fleet found and the sizes tried.
/// Required servers never fall as the load rises (common random numbers), so a month's
/// search starts from the largest answer of an earlier month with no more load, and a load
/// no fleet could meet makes every higher one fail without a search.
fn required_servers(
    file: &mut ScenarioFile,
    growth: &Growth,
    studies: &mut Studies,
    options: &Options,
) -> Result<Vec<Search>, Error> {
    let mut answers: Vec<(f64, Option<u64>)> = Vec::new();
    let mut searches = Vec::new();
    for p in 0..growth.months {
        let load = growth.planning_load(p);
        let below = || answers.iter().filter(|(l, _)| *l <= load);
        let mut tried = Vec::new();
        let found = if below().any(|(_, found)| found.is_none()) {
            None
        } else {
            let from = below()
                .filter_map(|(_, found)| *found)
                .max()
                .unwrap_or(growth.servers_unit);
            smallest_passing_from(growth.servers_unit, from, growth.max_fleet(), |servers| {
                tried.push(servers);
                let point = studies.point(file, servers, &[load], options)?;
                Ok(point.slo_attainment() >= growth.slo_share)
            })?
        };
        answers.push((load, found));
        searches.push(Search { found, tried });
    }
    Ok(searches)
}

/// The points simulated, by fleet and the runs' loads (one load when every run has the
/// same), so that no fleet is studied twice at the same traffic.
struct Studies<'g> {
    growth: &'g Growth,
    cache: BTreeMap<(u64, Vec<u64>), Point>,
}

impl<'g> Studies<'g> {
    fn new(growth: &'g Growth) -> Studies<'g> {
        Studies {
            growth,
            cache: BTreeMap::new(),
        }
    }

    /// `servers` at `loads`: one multiplier for every run, or one per run.
    fn point(
        &mut self,
        file: &mut ScenarioFile,
        servers: u64,
        loads: &[f64],
        options: &Options,
    ) -> Result<Point, Error> {
        let (variant, run_loads) = study_at(self.growth, servers, loads);
        let key: Vec<u64> = match &run_loads {
            Some(loads) => loads.iter().map(|l| l.to_bits()).collect(),
            None => vec![variant.load.to_bits()],
        };
        if let Some(point) = self.cache.get(&(servers, key.clone())) {
            return Ok(point.clone());
        }
        file.set_run_loads(run_loads);
        let point = study_point(file, variant, options)?;
        self.cache.insert((servers, key), point.clone());
        Ok(point)
    }
}
