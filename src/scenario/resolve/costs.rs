//! The `costs` section: hardware, energy tariff, egress, colocation, fixed costs, carbon.

use super::hourly;
use crate::catalog::Gpu;
use crate::check;
use crate::cost::prices::DEFAULTS;
use crate::cost::{Hardware, Prices};
use crate::error::InputError;
use crate::scenario::spec::{CostsSpec, HardwareCostSpec, RentedSpec};

/// A price: a finite number of dollars, zero or more.
fn price(field: &str, value: f64) -> Result<(), InputError> {
    check::min(field, value, 0.0, "a price in dollars")
}

/// A flat value or 24 hourly ones; `default` when neither is given.
fn flat_or_hourly(
    field: &str,
    flat_key: &str,
    flat: Option<f64>,
    hourly_values: Option<&Vec<f64>>,
    what: &str,
    default: f64,
) -> Result<[f64; 24], InputError> {
    match (flat, hourly_values) {
        (Some(_), Some(_)) => Err(InputError::field(
            field,
            format!("give either {flat_key} or hourly, not both"),
        )),
        (Some(value), None) => {
            price(&format!("{field}.{flat_key}"), value)?;
            Ok([value; 24])
        }
        (None, Some(values)) => hourly(&format!("{field}.hourly"), values, what, price),
        (None, None) => Ok([default; 24]),
    }
}

/// All prices; `gpu` supplies the default rental price.
pub(super) fn prices(spec: &CostsSpec, gpu: &Gpu) -> Result<Prices, InputError> {
    let default_rented = RentedSpec::default();
    let hardware = match &spec.hardware {
        None => rented(&default_rented, gpu)?,
        Some(HardwareCostSpec {
            owned: Some(owned),
            rented: None,
        }) => {
            price("costs.hardware.owned.server_price", owned.server_price)?;
            check::positive(
                "costs.hardware.owned.amortization_years",
                owned.amortization_years,
            )?;
            check::non_negative("costs.hardware.owned.financing_rate", owned.financing_rate)?;
            check::non_negative(
                "costs.hardware.owned.maintenance_rate",
                owned.maintenance_rate,
            )?;
            Hardware::Owned {
                server_usd: owned.server_price,
                amortization_years: owned.amortization_years,
                financing_rate: owned.financing_rate,
                maintenance_rate: owned.maintenance_rate,
            }
        }
        Some(HardwareCostSpec {
            owned: None,
            rented: Some(spec),
        }) => rented(spec, gpu)?,
        Some(_) => {
            return Err(InputError::field(
                "costs.hardware",
                "expected exactly one of owned and rented",
            ));
        }
    };
    let energy_usd_per_kwh = flat_or_hourly(
        "costs.energy",
        "price_per_kwh",
        spec.energy.price_per_kwh,
        spec.energy.hourly.as_ref(),
        "prices in $ per kWh",
        DEFAULTS.energy_usd_per_kwh,
    )?;
    let carbon_kg_per_kwh = flat_or_hourly(
        "costs.carbon",
        "kg_per_kwh",
        spec.carbon.kg_per_kwh,
        spec.carbon.hourly.as_ref(),
        "intensities in kg CO2e per kWh",
        DEFAULTS.carbon_kg_per_kwh,
    )?;
    price("costs.egress_per_gb", spec.egress_per_gb)?;
    price(
        "costs.colocation_per_kw_month",
        spec.colocation_per_kw_month,
    )?;
    price("costs.carbon.price_per_tonne", spec.carbon.price_per_tonne)?;
    let mut fixed = Vec::new();
    for (name, usd) in &spec.fixed_per_day {
        price(&format!("costs.fixed_per_day.{name}"), *usd)?;
        fixed.push((name.clone(), *usd));
    }
    Ok(Prices {
        hardware,
        energy_usd_per_kwh,
        egress_usd_per_gb: spec.egress_per_gb,
        colocation_usd_per_kw_month: spec.colocation_per_kw_month,
        fixed_usd_per_day: fixed,
        carbon_kg_per_kwh,
        carbon_usd_per_tonne: spec.carbon.price_per_tonne,
    })
}

/// A rented fleet, at the catalog price of `gpu` unless the scenario gives one.
fn rented(spec: &RentedSpec, gpu: &Gpu) -> Result<Hardware, InputError> {
    let field = "costs.hardware.rented";
    let on_demand = match (spec.gpu_hour, gpu.rent_per_hour) {
        (Some(given), _) => given,
        (None, Some(catalog)) => catalog,
        (None, None) => {
            return Err(InputError::field(
                "costs.hardware",
                format!(
                    "the catalog has no rental price for {}; give costs.hardware.rented.gpu_hour \
                     or costs.hardware.owned",
                    gpu.name
                ),
            ));
        }
    };
    price(&format!("{field}.gpu_hour"), on_demand)?;
    let reserved = spec.reserved_gpu_hour.unwrap_or(on_demand);
    price(&format!("{field}.reserved_gpu_hour"), reserved)?;
    let share = spec
        .reserved_share
        .unwrap_or(if spec.reserved_gpu_hour.is_some() {
            1.0
        } else {
            0.0
        });
    if !(0.0..=1.0).contains(&share) {
        return Err(InputError::field(
            format!("{field}.reserved_share"),
            format!("expected a share from 0 to 1 of the GPUs, got {share}"),
        ));
    }
    Ok(Hardware::Rented {
        includes_facility: spec.includes_facility.unwrap_or(true),
        on_demand_usd: on_demand,
        reserved_usd: reserved,
        reserved_share: share,
    })
}
