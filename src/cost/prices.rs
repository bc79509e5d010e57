//! What things cost: the prices a scenario gives, resolved.

/// How the servers are paid for.
#[derive(Clone, Debug, PartialEq)]
pub enum Hardware {
    /// Bought: the price is spread over the amortisation period as an annuity at the
    /// financing rate, plus a yearly maintenance contract.
    Owned {
        /// Price of one server, all-in (GPUs, chassis, networking share), $.
        server_usd: f64,
        /// Years over which it is written off.
        amortization_years: f64,
        /// Yearly interest on the money tied up (0 for cash).
        financing_rate: f64,
        /// Yearly maintenance as a share of the price.
        maintenance_rate: f64,
    },
    /// Rented by the GPU-hour, every GPU for every hour it is on.
    Rented {
        /// Whether the rental price covers power, cooling and space (as cloud list prices
        /// do); if so, energy and colocation are reported but not billed again.
        includes_facility: bool,
        /// On-demand price, $ per GPU-hour.
        on_demand_usd: f64,
        /// Committed (reserved) price, $ per GPU-hour.
        reserved_usd: f64,
        /// Share of the GPUs under reservation.
        reserved_share: f64,
    },
}

/// Every price of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Prices {
    /// The servers.
    pub hardware: Hardware,
    /// Electricity, $ per kWh in each hour from midnight (flat tariffs repeat one value).
    pub energy_usd_per_kwh: [f64; 24],
    /// Internet egress, $ per GB.
    pub egress_usd_per_gb: f64,
    /// Colocation, $ per kW of provisioned IT power per month.
    pub colocation_usd_per_kw_month: f64,
    /// Fixed costs by name, $ per day.
    pub fixed_usd_per_day: Vec<(String, f64)>,
    /// Grid carbon intensity, kg CO2e per kWh in each hour from midnight.
    pub carbon_kg_per_kwh: [f64; 24],
    /// Carbon price, $ per tonne CO2e (0 for none).
    pub carbon_usd_per_tonne: f64,
}

impl Hardware {
    /// Whether power, cooling and space are paid for inside this price.
    pub fn includes_facility(&self) -> bool {
        matches!(
            self,
            Hardware::Rented {
                includes_facility: true,
                ..
            }
        )
    }

    /// The daily cost of a fleet of `servers` servers of `gpus_per_server` GPUs, as named
    /// parts: owned, every server is paid for; rented, only the `servers_on` (mean) that run.
    pub fn daily_lines(
        &self,
        servers: u64,
        servers_on: f64,
        gpus_per_server: u32,
    ) -> Vec<(&'static str, f64)> {
        match *self {
            Hardware::Owned {
                server_usd,
                amortization_years,
                financing_rate,
                maintenance_rate,
            } => {
                let price = server_usd * servers as f64;
                let depreciation = price / amortization_years;
                // Annuity: P·r / (1 − (1 + r)^−n) a year; the excess over P/n is interest.
                let annuity = if financing_rate > 0.0 {
                    price * financing_rate
                        / (1.0 - (1.0 + financing_rate).powf(-amortization_years))
                } else {
                    depreciation
                };
                vec![
                    ("depreciation", depreciation / DAYS_PER_YEAR),
                    ("financing", (annuity - depreciation) / DAYS_PER_YEAR),
                    ("maintenance", price * maintenance_rate / DAYS_PER_YEAR),
                ]
            }
            Hardware::Rented {
                on_demand_usd,
                reserved_usd,
                reserved_share,
                ..
            } => {
                let gpu_hours = servers_on * f64::from(gpus_per_server) * 24.0;
                let lines = [
                    ("GPU rental, reserved", reserved_share, reserved_usd),
                    ("GPU rental, on demand", 1.0 - reserved_share, on_demand_usd),
                ];
                lines
                    .into_iter()
                    .filter(|(_, share, _)| *share > 0.0)
                    .map(|(item, share, price)| (item, gpu_hours * share * price))
                    .collect()
            }
        }
    }
}

/// Days in a year for yearly rates.
pub const DAYS_PER_YEAR: f64 = 365.0;

/// Prices a scenario gets when it sets none.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Defaults {
    /// ~8 ¢/kWh: US industrial electricity, 2024 (EIA Electric Power Monthly, tables
    /// 5.6.A/B; regional 7.7–8.3 ¢).
    pub energy_usd_per_kwh: f64,
    /// $0.05/GB: the lowest volume tier of public cloud egress ($0.05–0.12 per GB ⚠).
    pub egress_usd_per_gb: f64,
    /// $184.06 per kW-month: average asking rate in North American primary markets, H2 2024
    /// (CBRE, North America Data Center Trends H2 2024).
    pub colocation_usd_per_kw_month: f64,
    /// 0.39 kg CO2e/kWh: US grid average, 2022 (EIA FAQ 74: 0.86 lb/kWh).
    pub carbon_kg_per_kwh: f64,
    /// 5 years: the server life Amazon and Meta depreciate over (Microsoft and Google: 6).
    pub amortization_years: f64,
}

/// The default prices; see [`Defaults`] for sources.
pub const DEFAULTS: Defaults = Defaults {
    energy_usd_per_kwh: 0.08,
    egress_usd_per_gb: 0.05,
    colocation_usd_per_kw_month: 184.06,
    carbon_kg_per_kwh: 0.39,
    amortization_years: 5.0,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn total(lines: &[(&str, f64)]) -> f64 {
        lines.iter().map(|(_, usd)| usd).sum()
    }

    #[test]
    fn owned_servers_cost_an_annuity_plus_maintenance() {
        let owned = Hardware::Owned {
            server_usd: 365_000.0,
            amortization_years: 5.0,
            financing_rate: 0.0,
            maintenance_rate: 0.1,
        };
        // Cash: 365,000/5/365 = 200 a day, maintenance 36,500/365 = 100 a day.
        assert_eq!(
            owned.daily_lines(1, 1.0, 8),
            vec![
                ("depreciation", 200.0),
                ("financing", 0.0),
                ("maintenance", 100.0)
            ]
        );
        // 10% over 5 years: annuity 365,000 · 0.1/(1 − 1.1^−5) = 96,287.23 a year.
        let financed = Hardware::Owned {
            server_usd: 365_000.0,
            amortization_years: 5.0,
            financing_rate: 0.1,
            maintenance_rate: 0.0,
        };
        let daily = total(&financed.daily_lines(1, 1.0, 8));
        assert!((daily - 96_287.23 / 365.0).abs() < 0.01, "{daily}");
    }

    #[test]
    fn rented_gpus_cost_every_hour() {
        let rented = Hardware::Rented {
            includes_facility: true,
            on_demand_usd: 2.0,
            reserved_usd: 1.0,
            reserved_share: 0.25,
        };
        // 2 servers × 8 GPUs × 24 h = 384 GPU-hours: 96 reserved at $1, 288 at $2.
        assert_eq!(total(&rented.daily_lines(2, 2.0, 8)), 96.0 + 576.0);
        // An autoscaled fleet of 4 with 2 on on average pays the same.
        assert_eq!(total(&rented.daily_lines(4, 2.0, 8)), 96.0 + 576.0);
    }
}
