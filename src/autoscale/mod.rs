//! Autoscaled against fixed: a scenario with `fleet.autoscaling` studied twice over the same
//! runs — once as written, once with the fleet fixed at `fleet.servers` — and compared run by
//! run.
//!
//! Both studies resolve the same file with the same seed, so run `i` of each sees the same
//! arrivals, token lengths and drawn inputs (common random numbers). The difference of a
//! figure is taken within each run and its spread reported, so the saving's interval is
//! the autoscaler's, not the day-to-day noise of the traffic.

use crate::error::{Error, InputError};
use crate::fleet::Autoscaling;
use crate::scenario::{ScenarioFile, Variant};
use crate::stats::{Spread, spread};
use crate::study::{HEADLINES, Options, StudyResult, run_study};

/// The headline figures compared, in report order.
pub const COMPARED: &[&str] = &[
    "cost_usd_per_day",
    "cost_hardware_usd_per_day",
    "cost_energy_usd_per_day",
    "usd_per_1m_output_tokens",
    "servers_on_mean",
    "gpu_busy",
    "facility_kwh",
    "ttft_p99_s",
    "tpot_p99_s",
    "slo_met",
];

/// One figure of both fleets.
#[derive(Clone, Debug)]
pub struct Row {
    /// Headline key (as in `runs.csv`).
    pub key: &'static str,
    /// Label for people.
    pub label: &'static str,
    /// Unit for people.
    pub unit: &'static str,
    /// The fixed fleet's runs.
    pub fixed: Spread,
    /// The autoscaled fleet's runs.
    pub autoscaled: Spread,
    /// Autoscaled minus fixed, run by run.
    pub difference: Spread,
}

/// Both studies of one scenario.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The scenario's name.
    pub name: String,
    /// The fixed fleet (and the autoscaled fleet at midnight), servers.
    pub fixed_servers: u64,
    /// How the autoscaled fleet scales.
    pub autoscaling: Autoscaling,
    /// The fleet fixed at `fleet.servers`.
    pub fixed: StudyResult,
    /// The fleet as the scenario scales it.
    pub autoscaled: StudyResult,
}

/// Studies `file` as written and with its fleet fixed; `file`'s variant is restored.
pub fn compare(file: &mut ScenarioFile, options: &Options) -> Result<Comparison, Error> {
    let saved = file.variant();
    let first = file.scenario(0)?;
    let Some(autoscaling) = first.autoscaling else {
        return Err(file
            .locate_error(InputError::field(
                "fleet.autoscaling",
                "fleetsim autoscale compares an autoscaled fleet with a fixed one, but the \
                 scenario's fleet has no autoscaling section (see the README, \"Autoscaling\")",
            ))
            .into());
    };
    let autoscaled = run_study(file, options)?;
    file.set_variant(Variant {
        autoscaling: false,
        ..saved.clone()
    });
    let fixed = run_study(file, options);
    file.set_variant(saved);
    Ok(Comparison {
        name: first.name.clone(),
        fixed_servers: autoscaling.initial_servers,
        autoscaling,
        fixed: fixed?,
        autoscaled,
    })
}

impl Comparison {
    /// Every compared figure.
    pub fn rows(&self) -> Vec<Row> {
        COMPARED
            .iter()
            .map(|key| {
                let index = HEADLINES
                    .iter()
                    .position(|h| h.key == *key)
                    .expect("a known headline");
                let headline = &HEADLINES[index];
                let column = |study: &StudyResult| -> Vec<f64> {
                    study.outputs.iter().map(|o| o[index]).collect()
                };
                let (fixed, autoscaled) = (column(&self.fixed), column(&self.autoscaled));
                let difference: Vec<f64> =
                    autoscaled.iter().zip(&fixed).map(|(a, f)| a - f).collect();
                Row {
                    key: headline.key,
                    label: headline.label,
                    unit: headline.unit,
                    fixed: spread(&fixed),
                    autoscaled: spread(&autoscaled),
                    difference: spread(&difference),
                }
            })
            .collect()
    }

    /// The row of `key`.
    pub fn row(&self, key: &str) -> Option<Row> {
        self.rows().into_iter().find(|r| r.key == key)
    }
}
