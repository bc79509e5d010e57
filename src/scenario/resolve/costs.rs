//! The `costs` section: hardware, energy tariff, egress, colocation, fixed costs, carbon.

use super::hourly;
use crate::catalog::Gpu;
use crate::check;
use crate::cost::prices::DEFAULTS;
use crate::cost::{Hardware, Prices};
use crate::error::InputError;
use crate::scenario::spec::{CostsSpec, HardwareCostSpec, RentedSpec};
use crate::uncertain::{Drawer, Value};

/// A price: a finite number of dollars, zero or more.
fn price(field: &str, value: f64) -> Result<(), InputError> {
    check::min(field, value, 0.0, "a price in dollars")
}

/// The drawn value of a price field, checked.
fn draw_price(d: &mut Drawer, field: &str, value: &Value<f64>) -> Result<f64, InputError> {
    let value = d.value(field, value);
    price(field, value)?;
    Ok(value)
}

/// A flat value or 24 hourly ones; `default` when neither is given.
fn flat_or_hourly(
    d: &mut Drawer,
    field: &str,
    flat_key: &str,
    flat: Option<&Value<f64>>,
    hourly_values: Option<&Vec<Value<f64>>>,
    what: &str,
    default: f64,
) -> Result<[f64; 24], InputError> {
    match (flat, hourly_values) {
        (Some(_), Some(_)) => Err(InputError::field(
            field,
            format!("give either {flat_key} or hourly, not both"),
        )),
        (Some(value), None) => Ok([draw_price(d, &format!("{field}.{flat_key}"), value)?; 24]),
        (None, Some(values)) => {
            let field = format!("{field}.hourly");
            let values = d.values(&field, values);
            hourly(&field, &values, what, price)
        }
        (None, None) => Ok([default; 24]),
    }
}

/// All prices; `gpu` supplies the default rental price.
pub(super) fn prices(spec: &CostsSpec, gpu: &Gpu, d: &mut Drawer) -> Result<Prices, InputError> {
    let hardware = match &spec.hardware {
        None => rented(&RentedSpec::default(), gpu, d)?,
        Some(HardwareCostSpec {
            owned: Some(owned),
            rented: None,
        }) => {
            let field = "costs.hardware.owned";
            let years_field = format!("{field}.amortization_years");
            let years = d.value(&years_field, &owned.amortization_years);
            check::positive(&years_field, years)?;
            let financing_field = format!("{field}.financing_rate");
            let financing = d.value(&financing_field, &owned.financing_rate);
            check::non_negative(&financing_field, financing)?;
            let maintenance_field = format!("{field}.maintenance_rate");
            let maintenance = d.value(&maintenance_field, &owned.maintenance_rate);
            check::non_negative(&maintenance_field, maintenance)?;
            Hardware::Owned {
                server_usd: draw_price(d, &format!("{field}.server_price"), &owned.server_price)?,
                amortization_years: years,
                financing_rate: financing,
                maintenance_rate: maintenance,
            }
        }
        Some(HardwareCostSpec {
            owned: None,
            rented: Some(spec),
        }) => rented(spec, gpu, d)?,
        Some(_) => {
            return Err(InputError::field(
                "costs.hardware",
                "expected exactly one of owned and rented",
            ));
        }
    };
    let energy_usd_per_kwh = flat_or_hourly(
        d,
        "costs.energy",
        "price_per_kwh",
        spec.energy.price_per_kwh.as_ref(),
        spec.energy.hourly.as_ref(),
        "prices in $ per kWh",
        DEFAULTS.energy_usd_per_kwh,
    )?;
    let carbon_kg_per_kwh = flat_or_hourly(
        d,
        "costs.carbon",
        "kg_per_kwh",
        spec.carbon.kg_per_kwh.as_ref(),
        spec.carbon.hourly.as_ref(),
        "intensities in kg CO2e per kWh",
        DEFAULTS.carbon_kg_per_kwh,
    )?;
    let mut fixed = Vec::new();
    for (name, usd) in &spec.fixed_per_day {
        fixed.push((
            name.clone(),
            draw_price(d, &format!("costs.fixed_per_day.{name}"), usd)?,
        ));
    }
    Ok(Prices {
        hardware,
        energy_usd_per_kwh,
        egress_usd_per_gb: draw_price(d, "costs.egress_per_gb", &spec.egress_per_gb)?,
        colocation_usd_per_kw_month: draw_price(
            d,
            "costs.colocation_per_kw_month",
            &spec.colocation_per_kw_month,
        )?,
        fixed_usd_per_day: fixed,
        carbon_kg_per_kwh,
        carbon_usd_per_tonne: draw_price(
            d,
            "costs.carbon.price_per_tonne",
            &spec.carbon.price_per_tonne,
        )?,
    })
}

/// A rented fleet, at the catalog price of `gpu` unless the scenario gives one.
fn rented(spec: &RentedSpec, gpu: &Gpu, d: &mut Drawer) -> Result<Hardware, InputError> {
    let field = "costs.hardware.rented";
    let on_demand = match (&spec.gpu_hour, gpu.rent_per_hour) {
        (Some(given), _) => draw_price(d, &format!("{field}.gpu_hour"), given)?,
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
    let reserved = match &spec.reserved_gpu_hour {
        Some(price) => draw_price(d, &format!("{field}.reserved_gpu_hour"), price)?,
        None => on_demand,
    };
    let share_field = format!("{field}.reserved_share");
    let share = match &spec.reserved_share {
        Some(share) => d.value(&share_field, share),
        None if spec.reserved_gpu_hour.is_some() => 1.0,
        None => 0.0,
    };
    if !(0.0..=1.0).contains(&share) {
        return Err(InputError::field(
            share_field,
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
