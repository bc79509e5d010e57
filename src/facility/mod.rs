//! The facility: GPU power from activity, the rest of each server, and the cooling and
//! distribution overhead (PUE), turned into the day's energy by interval.

pub mod cooling;
pub mod power;
pub mod server;

pub use cooling::{Overhead, PueModel, overhead};
pub use power::GpuPowerModel;
pub use server::{Component, ServerPower};

use crate::stats::TimeSeriesRow;
use crate::units::Watts;
use serde::{Deserialize, Serialize};

/// PUE when a scenario gives none: the middle of the 1.1–1.3 range that Epoch AI, citing
/// SemiAnalysis, gives for AI datacenters (`shared/data/figures.md`, Datacenter).
pub const DEFAULT_PUE: f64 = 1.2;

/// Share of the facility overhead that is cooling when a scenario gives none: 70%, the middle
/// of the 65–75% that the commonly cited DOE breakdown (IT 40–60%, cooling 30–40%, power
/// distribution and UPS 10–15%, lighting and other 1–5% of the total) leaves for cooling ⚠.
pub const DEFAULT_COOLING_SHARE: f64 = 0.7;

/// The building around the servers, and the servers' non-GPU parts.
#[derive(Clone, Debug, PartialEq)]
pub struct Facility {
    /// PUE by hour and load.
    pub pue: PueModel,
    /// Share of the overhead that is cooling.
    pub cooling_share: f64,
    /// The non-GPU power of one server.
    pub server: ServerPower,
}

/// Facility power in one time-series interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct FacilityRow {
    /// IT power (GPUs and the rest of the servers), kW.
    pub it_kw: f64,
    /// Of which the servers' non-GPU parts, kW.
    pub server_kw: f64,
    /// Cooling, kW.
    pub cooling_kw: f64,
    /// Other overhead (distribution losses, lighting), kW.
    pub other_kw: f64,
    /// Everything, kW.
    pub facility_kw: f64,
    /// Facility ÷ IT power.
    pub pue: f64,
}

/// Energy over the horizon by where it goes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnergySummary {
    /// GPUs.
    pub gpu_kwh: f64,
    /// The servers' other parts.
    pub server_kwh: f64,
    /// IT: GPUs and servers.
    pub it_kwh: f64,
    /// Cooling.
    pub cooling_kwh: f64,
    /// Other overhead.
    pub other_kwh: f64,
    /// Everything the facility drew.
    pub facility_kwh: f64,
    /// Facility ÷ IT energy.
    pub pue: f64,
    /// IT power the servers could draw at full load: what colocation is priced on, kW.
    pub provisioned_it_kw: f64,
    /// Highest facility power in an interval, kW.
    pub peak_facility_kw: f64,
    /// Facility energy per completed request, Wh.
    pub wh_per_request: Option<f64>,
    /// Facility energy per output token, J.
    pub j_per_output_token: Option<f64>,
}

/// The hour of the day (0–23) an interval starting at `t_start_s` falls in.
pub fn hour_of_day(t_start_s: f64) -> usize {
    ((t_start_s / 3600.0).floor() as u64 % 24) as usize
}

impl Facility {
    /// IT power of one server at full load: its GPUs at their limit plus its other parts.
    pub fn provisioned_server_power(&self, gpus_per_server: u32, gpu_tdp: Watts) -> Watts {
        gpu_tdp * f64::from(gpus_per_server) + self.server.power(1.0)
    }

    /// The facility power of each interval of `rows` for a fleet of `servers` servers whose
    /// full-load IT power is `provisioned` each; the servers' non-GPU parts draw power only
    /// while on (`row.servers_on`).
    pub fn rows(
        &self,
        rows: &[TimeSeriesRow],
        servers: u64,
        provisioned: Watts,
    ) -> Vec<FacilityRow> {
        let servers = servers as f64;
        let provisioned_kw = provisioned.0 * servers / 1e3;
        rows.iter()
            .map(|row| {
                let server_kw = self.server.power(row.gpu_busy).0 * row.servers_on / 1e3;
                let it_kw = row.gpu_power_kw + server_kw;
                let pue = self
                    .pue
                    .pue(hour_of_day(row.t_start_s), it_kw / provisioned_kw);
                let o = overhead(it_kw, pue, self.cooling_share);
                FacilityRow {
                    it_kw,
                    server_kw,
                    cooling_kw: o.cooling,
                    other_kw: o.other,
                    facility_kw: it_kw + o.cooling + o.other,
                    pue,
                }
            })
            .collect()
    }

    /// Energy totals of a run whose intervals are `rows` and `power`.
    pub fn summary(
        &self,
        rows: &[TimeSeriesRow],
        power: &[FacilityRow],
        provisioned_it_kw: f64,
        completed: u64,
        output_tokens: u64,
    ) -> EnergySummary {
        let kwh = |f: &dyn Fn(&TimeSeriesRow, &FacilityRow) -> f64| -> f64 {
            rows.iter()
                .zip(power)
                .map(|(row, p)| f(row, p) * row.duration_s / 3600.0)
                .sum()
        };
        let facility_kwh = kwh(&|_, p| p.facility_kw);
        let it_kwh = kwh(&|_, p| p.it_kw);
        let facility_j = facility_kwh * 3.6e6;
        EnergySummary {
            gpu_kwh: kwh(&|row, _| row.gpu_power_kw),
            server_kwh: kwh(&|_, p| p.server_kw),
            it_kwh,
            cooling_kwh: kwh(&|_, p| p.cooling_kw),
            other_kwh: kwh(&|_, p| p.other_kw),
            facility_kwh,
            pue: if it_kwh > 0.0 {
                facility_kwh / it_kwh
            } else {
                1.0
            },
            provisioned_it_kw,
            peak_facility_kw: power.iter().map(|p| p.facility_kw).fold(0.0, f64::max),
            wh_per_request: (completed > 0).then(|| facility_j / 3600.0 / completed as f64),
            j_per_output_token: (output_tokens > 0).then(|| facility_j / output_tokens as f64),
        }
    }
}
