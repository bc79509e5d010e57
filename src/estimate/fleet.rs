//! From GPU-seconds of work to a fleet's day: how busy its GPUs are hour by hour, what they,
//! their servers and the building draw, and the bill. Power goes through
//! [`Facility::rows`](crate::facility::Facility::rows) and the bill through
//! [`cost::ledger`](fn@crate::cost::ledger), the functions `fleetsim run` prices a simulated day
//! with, fed with 24 hourly rows instead of the engine's intervals.

use super::steps::{Section, Unit, num, price};
use super::work::{DAY_S, Traffic};
use crate::cost::{Hardware, Ledger, Usage, ledger};
use crate::facility::{EnergySummary, PueModel};
use crate::fleet::FleetLayout;
use crate::report::markdown::count;
use crate::scenario::Scenario;
use crate::stats::TimeSeriesRow;
use crate::units::Watts;
use crate::workload::Arrivals;

/// The day's work, whatever the fleet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Work {
    /// GPU-seconds of steps per day.
    pub gpu_s: f64,
    /// Mean GPU power during steps, weighted by each phase's GPU-seconds.
    pub step_power: Watts,
}

/// One fleet's day in closed form.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetDay {
    /// Servers, GPUs per server, replicas.
    pub layout: FleetLayout,
    /// Mean share of GPU-time in steps (each hour at most 1).
    pub busy: f64,
    /// The busiest hour's share before capping at 1: above 1, the fleet cannot carry it.
    pub peak_load: f64,
    /// Mean power of one GPU.
    pub gpu_power: Watts,
    /// Peak tensor throughput of the fleet, FLOP/s.
    pub peak_flops: f64,
    /// Energy by where it goes, over the day.
    pub energy: EnergySummary,
    /// The bill.
    pub cost: Ledger,
}

/// The busiest hour's weight: its traffic ÷ the day's mean.
pub fn peak_weight(s: &Scenario) -> f64 {
    hourly_weights(s).iter().copied().fold(0.0, f64::max)
}

/// Relative traffic of each hour (mean 1): the open stream's diurnal profile or the one a
/// looped trace follows, or flat.
fn hourly_weights(s: &Scenario) -> [f64; 24] {
    match &s.workload.arrivals {
        Arrivals::Open { profile, .. } => *profile.weights(),
        Arrivals::Trace(replay) => replay.profile().map_or([1.0; 24], |p| *p.weights()),
        Arrivals::Closed { .. } => [1.0; 24],
    }
}

/// The day of `layout` doing `work` for `traffic`: hour `h` carries the share `w_h` of the
/// mean load, so its GPUs are busy `min(1, work ÷ (GPUs × 86,400 s) × w_h)` and draw idle
/// power plus the step power's excess while busy.
pub fn fleet_day(
    s: &Scenario,
    replica_peak_flops: f64,
    layout: FleetLayout,
    work: &Work,
    traffic: &Traffic,
) -> FleetDay {
    let gpus = layout.gpus() as f64;
    let load = work.gpu_s / (gpus * DAY_S);
    let weights = hourly_weights(s);
    let idle = s.gpu_power.idle.0;
    let excess = (work.step_power.0 - idle).max(0.0);
    let rows: Vec<TimeSeriesRow> = weights
        .iter()
        .enumerate()
        .map(|(hour, w)| {
            let busy = (load * w).min(1.0);
            TimeSeriesRow {
                t_start_s: hour as f64 * 3600.0,
                duration_s: 3600.0,
                arrivals: 0,
                completions: 0,
                rejected: 0,
                failed: 0,
                preemptions: 0,
                prefix_blocks: 0,
                prefix_hit_blocks: 0,
                output_tokens_per_s: 0.0,
                prefill_tokens_per_s: 0.0,
                waiting_mean: 0.0,
                running_mean: 0.0,
                gpu_busy: busy,
                flops_util: 0.0,
                memory_bw_util: 0.0,
                kv_cache: 0.0,
                egress_mbit_per_s: 0.0,
                gpu_power_kw: gpus * (idle + excess * busy) / 1e3,
                servers_on: layout.servers as f64,
            }
        })
        .collect();
    let busy = rows.iter().map(|r| r.gpu_busy).sum::<f64>() / 24.0;
    let facility = &s.facility;
    let provisioned = facility.provisioned_server_power(layout.gpus_per_server, s.replica.gpu.tdp);
    let provisioned_it_kw = provisioned.0 * layout.servers as f64 / 1e3;
    let power = facility.rows(&rows, layout.servers, provisioned);
    let completed = traffic.requests_per_day.round() as u64;
    let output_tokens = traffic.output_tokens_per_day().round() as u64;
    let energy = facility.summary(&rows, &power, provisioned_it_kw, completed, output_tokens);
    let cost = ledger(
        &s.prices,
        &Usage {
            horizon_s: DAY_S,
            servers: layout.servers,
            servers_on_mean: layout.servers as f64,
            gpus_per_server: layout.gpus_per_server,
            provisioned_it_kw,
            rows: &rows,
            power: &power,
            egress_gb: traffic.output_tokens_per_day() * s.edge.response_bytes_per_token / 1e9,
            completed,
            output_tokens,
        },
    );
    FleetDay {
        layout,
        busy,
        peak_load: load * peak_weight(s),
        gpu_power: Watts(idle + excess * busy),
        peak_flops: replica_peak_flops * layout.replicas as f64,
        energy,
        cost,
    }
}

/// `1 server × 4 L40S`.
pub fn describe(s: &Scenario, layout: &FleetLayout) -> String {
    format!(
        "{} server{} × {} {}",
        count(layout.servers),
        if layout.servers == 1 { "" } else { "s" },
        layout.gpus_per_server,
        s.replica.gpu.name
    )
}

/// How the scenario sets PUE, for the PUE step's formula.
fn pue_formula(model: &PueModel) -> &'static str {
    match model {
        PueModel::Constant(_) => "facility.pue",
        PueModel::Hourly(_) => "facility ÷ IT energy over the 24 hourly PUE values",
        PueModel::Temperature { .. } => {
            "facility ÷ IT energy, PUE by hour from outside temperature and IT load"
        }
    }
}

/// Power and energy of `day`.
pub fn power_section(s: &Scenario, day: &FleetDay, work: &Work) -> Section {
    let e = &day.energy;
    let l = &day.layout;
    let mut section = Section::new(format!("power and energy, {}", describe(s, l)));
    let idle = s.gpu_power.idle.0;
    section.step(
        "GPU power",
        "idle + (step power − idle) × busy",
        format!(
            "{} + ({} − {}) × {:.2}%",
            num(idle),
            num(work.step_power.0),
            num(idle),
            day.busy * 100.0
        ),
        day.gpu_power.0,
        Unit::Of("W per GPU"),
    );
    let server_w = e.server_kwh / 24.0 / l.servers as f64 * 1e3;
    let server = &s.facility.server;
    let (static_w, full_w) = (server.power(0.0).0, server.power(1.0).0);
    section.step(
        "server power",
        "Σ count × static + Σ count × dynamic × busy",
        format!(
            "{} + {} × {:.2}%",
            num(static_w),
            num(full_w - static_w),
            day.busy * 100.0
        ),
        server_w,
        Unit::Of("W per server"),
    );
    let it_kw = e.it_kwh / 24.0;
    section.step(
        "IT power",
        "GPUs × GPU power + servers × server power",
        format!(
            "{} × {} W + {} × {} W",
            num(l.gpus() as f64),
            num(day.gpu_power.0),
            num(l.servers as f64),
            num(server_w)
        ),
        it_kw,
        Unit::Of("kW"),
    );
    section.step("PUE", pue_formula(&s.facility.pue), "", e.pue, Unit::Of(""));
    section.step(
        "facility power",
        "IT power × PUE",
        format!("{} kW × {}", num(it_kw), num(e.pue)),
        e.facility_kwh / 24.0,
        Unit::Of("kW"),
    );
    section.step(
        "energy/day",
        "facility power × 24 h",
        format!("{} kW × 24 h", num(e.facility_kwh / 24.0)),
        e.facility_kwh,
        Unit::Of("kWh"),
    );
    let intensity = &s.prices.carbon_kg_per_kwh;
    section.step(
        "emissions/day",
        "facility energy × grid intensity",
        if intensity.iter().all(|v| *v == intensity[0]) {
            format!("{} kWh × {} kg/kWh", num(e.facility_kwh), num(intensity[0]))
        } else {
            format!("{} kWh at the hour's intensity", num(e.facility_kwh))
        },
        day.cost.carbon_kg_per_day,
        Unit::Of("kg CO2e"),
    );
    section
}

/// The formula and numbers of a bill line.
fn line_formula(
    s: &Scenario,
    day: &FleetDay,
    traffic: &Traffic,
    category: &str,
    item: &str,
) -> (String, String) {
    let p = &s.prices;
    let l = &day.layout;
    let e = &day.energy;
    let included = p.hardware.includes_facility();
    let tariff = |kwh: f64| -> String {
        let flat = p
            .energy_usd_per_kwh
            .iter()
            .all(|v| *v == p.energy_usd_per_kwh[0]);
        if flat {
            format!("{} kWh × {}", num(kwh), price(p.energy_usd_per_kwh[0]))
        } else {
            format!("{} kWh at the hour's tariff", num(kwh))
        }
    };
    let (formula, numbers) = match (category, &p.hardware) {
        (
            "hardware",
            Hardware::Owned {
                server_usd,
                amortization_years,
                financing_rate,
                maintenance_rate,
            },
        ) => match item {
            "depreciation" => (
                "servers × price ÷ years ÷ 365".into(),
                format!(
                    "{} × {} ÷ {} ÷ 365",
                    num(l.servers as f64),
                    price(*server_usd),
                    num(*amortization_years)
                ),
            ),
            "financing" => (
                "servers × price × (annuity rate − 1/years) ÷ 365".into(),
                format!(
                    "{} × {} at {}% over {} years",
                    num(l.servers as f64),
                    price(*server_usd),
                    num(financing_rate * 100.0),
                    num(*amortization_years)
                ),
            ),
            _ => (
                "servers × price × maintenance rate ÷ 365".into(),
                format!(
                    "{} × {} × {}% ÷ 365",
                    num(l.servers as f64),
                    price(*server_usd),
                    num(maintenance_rate * 100.0)
                ),
            ),
        },
        (
            "hardware",
            Hardware::Rented {
                on_demand_usd,
                reserved_usd,
                reserved_share,
                ..
            },
        ) => {
            let (share, usd) = if item.contains("reserved") {
                (*reserved_share, *reserved_usd)
            } else {
                (1.0 - reserved_share, *on_demand_usd)
            };
            (
                "GPUs × 24 h × share × $ per GPU-hour".into(),
                format!(
                    "{} × 24 h × {}% × {}",
                    num(l.gpus() as f64),
                    num(share * 100.0),
                    price(usd)
                ),
            )
        }
        ("energy", _) if included => ("in the GPU rental".into(), String::new()),
        ("energy", _) if item.starts_with("IT") => ("IT energy × tariff".into(), tariff(e.it_kwh)),
        ("energy", _) if item.starts_with("cooling") => (
            "IT energy × (PUE − 1) × cooling share × tariff".into(),
            tariff(e.cooling_kwh),
        ),
        ("energy", _) => (
            "IT energy × (PUE − 1) × (1 − cooling share) × tariff".into(),
            tariff(e.other_kwh),
        ),
        ("network", _) => (
            "output tokens/day × bytes per token × $ per GB".into(),
            format!(
                "{} × {} B × {}/GB",
                num(traffic.output_tokens_per_day()),
                num(s.edge.response_bytes_per_token),
                price(p.egress_usd_per_gb)
            ),
        ),
        ("facility", _) if included => ("in the GPU rental".into(), String::new()),
        ("facility", _) => (
            "provisioned IT kW × $ per kW-month × 12 ÷ 365".into(),
            format!(
                "{} kW × {} × 12 ÷ 365",
                num(e.provisioned_it_kw),
                price(p.colocation_usd_per_kw_month)
            ),
        ),
        ("fixed", _) => ("costs.fixed_per_day".into(), String::new()),
        ("carbon", _) => (
            "emissions/day × $ per tonne".into(),
            format!(
                "{} kg × {}/t",
                num(day.cost.carbon_kg_per_day),
                price(p.carbon_usd_per_tonne)
            ),
        ),
        _ => (String::new(), String::new()),
    };
    (formula, numbers)
}

/// The bill of `day`, line by line, with its total and unit costs.
pub fn cost_section(s: &Scenario, day: &FleetDay, traffic: &Traffic) -> Section {
    let c = &day.cost;
    let mut section = Section::new(format!("cost per day, {}", describe(s, &day.layout)));
    for line in &c.lines {
        let (formula, numbers) = line_formula(s, day, traffic, line.category, &line.item);
        let item = line.item.trim_end_matches(" (in the GPU rental)");
        section.step(
            format!("{}: {item}", line.category),
            formula,
            numbers,
            line.usd_per_day,
            Unit::Usd,
        );
    }
    section.step(
        "total",
        "sum of the lines",
        c.by_category
            .iter()
            .map(|(category, usd)| format!("{category} {}", price(*usd)))
            .collect::<Vec<_>>()
            .join(" + "),
        c.total_usd_per_day,
        Unit::Usd,
    );
    unit_costs(&mut section, day, traffic);
    section
}

/// `$ per 1k requests` and `$ per 1M output tokens`.
fn unit_costs(section: &mut Section, day: &FleetDay, traffic: &Traffic) {
    let total = day.cost.total_usd_per_day;
    if let Some(per_1k) = day.cost.usd_per_1k_requests {
        section.step(
            "per 1k requests",
            "total ÷ requests/day × 1,000",
            format!(
                "{} ÷ {} × 1,000",
                price(total),
                num(traffic.requests_per_day)
            ),
            per_1k,
            Unit::Usd,
        );
    }
    if let Some(per_1m) = day.cost.usd_per_1m_output_tokens {
        section.step(
            "per 1M output tokens",
            "total ÷ output tokens/day × 10⁶",
            format!(
                "{} ÷ {} × 10⁶",
                price(total),
                num(traffic.output_tokens_per_day())
            ),
            per_1m,
            Unit::Usd,
        );
    }
}

/// The needed fleet's day in brief: the formulas are those of the scenario's fleet.
pub fn needed_section(
    s: &Scenario,
    day: &FleetDay,
    work: &Work,
    traffic: &Traffic,
    utilization: f64,
) -> Section {
    let e = &day.energy;
    let mut section = Section::new(format!(
        "the fleet needed at {}% utilisation: {}",
        num(utilization * 100.0),
        describe(s, &day.layout)
    ));
    section.step(
        "GPU busy",
        "work ÷ (GPUs × 86,400 s)",
        format!(
            "{} ÷ ({} × 86,400 s)",
            num(work.gpu_s),
            num(day.layout.gpus() as f64)
        ),
        day.busy,
        Unit::Share,
    );
    section.step(
        "energy/day",
        "(GPUs × GPU power + servers × server power) × PUE × 24 h",
        format!("{} kWh IT × {}", num(e.it_kwh), num(e.pue)),
        e.facility_kwh,
        Unit::Of("kWh"),
    );
    for (category, usd) in &day.cost.by_category {
        section.step(
            format!("cost: {category}"),
            "as for the scenario's fleet",
            "",
            *usd,
            Unit::Usd,
        );
    }
    section.step(
        "total",
        "sum of the lines",
        "",
        day.cost.total_usd_per_day,
        Unit::Usd,
    );
    unit_costs(&mut section, day, traffic);
    section
}
