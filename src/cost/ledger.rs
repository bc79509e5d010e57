//! The daily bill: hardware, energy (IT, cooling, other overhead), network egress,
//! colocation, fixed costs and carbon, in $ per day, with unit costs per request and token.

use super::prices::Prices;
use crate::facility::{FacilityRow, hour_of_day};
use crate::stats::TimeSeriesRow;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

/// The categories of the bill, in the order a ledger lists them.
pub const CATEGORIES: [&str; 6] = [
    "hardware", "energy", "network", "facility", "fixed", "carbon",
];

/// A category of the bill, one of [`CATEGORIES`]. (A name for `&'static str`, so that serde
/// reads it through [`deserialize_category`] instead of borrowing it from the input.)
pub type Category = &'static str;

/// The category called `name`, as the bill spells it; `None` when the bill has no such
/// category. Reading a bill back (a shard's run 0) maps its names onto these.
pub fn category(name: &str) -> Option<&'static str> {
    CATEGORIES.iter().copied().find(|c| *c == name)
}

/// Reads a category name back as the bill's own.
pub fn deserialize_category<'de, D: Deserializer<'de>>(d: D) -> Result<Category, D::Error> {
    let name = String::deserialize(d)?;
    category(&name).ok_or_else(|| D::Error::custom(format!("unknown bill category `{name}`")))
}

fn deserialize_totals<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<(&'static str, f64)>, D::Error> {
    Vec::<(String, f64)>::deserialize(d)?
        .into_iter()
        .map(|(name, usd)| match category(&name) {
            Some(c) => Ok((c, usd)),
            None => Err(D::Error::custom(format!("unknown bill category `{name}`"))),
        })
        .collect()
}

/// One line of the bill.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerLine {
    /// `hardware`, `energy`, `network`, `facility`, `fixed` or `carbon`: one of
    /// [`CATEGORIES`].
    #[serde(deserialize_with = "deserialize_category")]
    pub category: Category,
    /// What exactly.
    pub item: String,
    /// Dollars per day.
    pub usd_per_day: f64,
}

/// The bill of a run, per day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    /// Every line.
    pub lines: Vec<LedgerLine>,
    /// Sum of the lines, $ per day.
    pub total_usd_per_day: f64,
    /// Total per category, $ per day, in the order categories first appear.
    #[serde(deserialize_with = "deserialize_totals")]
    pub by_category: Vec<(&'static str, f64)>,
    /// Dollars per 1,000 completed requests.
    pub usd_per_1k_requests: Option<f64>,
    /// Dollars per million output tokens.
    pub usd_per_1m_output_tokens: Option<f64>,
    /// Emissions, kg CO2e per day.
    pub carbon_kg_per_day: f64,
}

/// What the bill is computed from.
#[derive(Clone, Copy, Debug)]
pub struct Usage<'a> {
    /// Simulated seconds.
    pub horizon_s: f64,
    /// Servers in the fleet: what an owner pays for.
    pub servers: u64,
    /// Mean servers on over the horizon: what a renter pays for (fewer than `servers` when
    /// the fleet autoscales).
    pub servers_on_mean: f64,
    /// GPUs per server.
    pub gpus_per_server: u32,
    /// Provisioned IT power, kW.
    pub provisioned_it_kw: f64,
    /// The run's intervals.
    pub rows: &'a [TimeSeriesRow],
    /// Their facility power.
    pub power: &'a [FacilityRow],
    /// Egress over the horizon, GB.
    pub egress_gb: f64,
    /// Completed requests.
    pub completed: u64,
    /// Output tokens.
    pub output_tokens: u64,
}

/// Prices `usage` at `prices`.
pub fn ledger(prices: &Prices, usage: &Usage) -> Ledger {
    let days = usage.horizon_s / 86_400.0;
    let mut lines = Vec::new();
    let mut add = |name: &str, item: &str, usd_per_day: f64| {
        lines.push(LedgerLine {
            category: category(name).expect("every line is in one of CATEGORIES"),
            item: item.to_string(),
            usd_per_day,
        });
    };

    for (item, usd) in
        prices
            .hardware
            .daily_lines(usage.servers, usage.servers_on_mean, usage.gpus_per_server)
    {
        add("hardware", item, usd);
    }

    // Energy and carbon, interval by interval at the hour's tariff and grid intensity.
    let (mut it, mut cooling, mut other, mut carbon_kg) = (0.0, 0.0, 0.0, 0.0);
    for (row, p) in usage.rows.iter().zip(usage.power) {
        let hour = hour_of_day(row.t_start_s);
        let hours = row.duration_s / 3600.0;
        let tariff = prices.energy_usd_per_kwh[hour];
        it += p.it_kw * hours * tariff;
        cooling += p.cooling_kw * hours * tariff;
        other += p.other_kw * hours * tariff;
        carbon_kg += p.facility_kw * hours * prices.carbon_kg_per_kwh[hour];
    }
    // A rental that covers power and space leaves those lines at zero, but in the bill.
    let facility_billed = if prices.hardware.includes_facility() {
        0.0
    } else {
        1.0
    };
    let note = if facility_billed == 0.0 {
        " (in the GPU rental)"
    } else {
        ""
    };
    add(
        "energy",
        &format!("IT (GPUs and servers){note}"),
        facility_billed * it / days,
    );
    add(
        "energy",
        &format!("cooling{note}"),
        facility_billed * cooling / days,
    );
    add(
        "energy",
        &format!("other overhead{note}"),
        facility_billed * other / days,
    );
    add(
        "network",
        "internet egress",
        usage.egress_gb * prices.egress_usd_per_gb / days,
    );
    add(
        "facility",
        &format!("colocation{note}"),
        facility_billed * usage.provisioned_it_kw * prices.colocation_usd_per_kw_month * 12.0
            / super::prices::DAYS_PER_YEAR,
    );
    for (item, usd) in &prices.fixed_usd_per_day {
        add("fixed", item, *usd);
    }
    let carbon_kg_per_day = carbon_kg / days;
    if prices.carbon_usd_per_tonne > 0.0 {
        add(
            "carbon",
            "carbon price",
            carbon_kg_per_day / 1000.0 * prices.carbon_usd_per_tonne,
        );
    }

    let total: f64 = lines.iter().map(|l| l.usd_per_day).sum();
    let mut by_category: Vec<(&'static str, f64)> = Vec::new();
    for line in &lines {
        match by_category.iter_mut().find(|(c, _)| *c == line.category) {
            Some((_, usd)) => *usd += line.usd_per_day,
            None => by_category.push((line.category, line.usd_per_day)),
        }
    }
    let per_day = |count: u64| count as f64 / days;
    Ledger {
        usd_per_1k_requests: (usage.completed > 0).then(|| total / per_day(usage.completed) * 1e3),
        usd_per_1m_output_tokens: (usage.output_tokens > 0)
            .then(|| total / per_day(usage.output_tokens) * 1e6),
        lines,
        total_usd_per_day: total,
        by_category,
        carbon_kg_per_day,
    }
}
