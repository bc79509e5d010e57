//! The `costs` section: hardware, energy tariff, egress, colocation, fixed costs, carbon.

use super::hourly;
use crate::catalog::Gpu;
use crate::check;
use crate::cost::prices::DEFAULTS;
use crate::cost::{Hardware, Prices};
use crate::error::InputError;
use crate::scenario::GpuVariant;
use crate::scenario::spec::{CostsSpec, HardwareCostSpec, RentedSpec};
use crate::uncertain::{Drawer, Value};

/// A GPU in place of the scenario's `hardware.gpu`, as its prices see it.
pub(super) struct SweptGpu<'a> {
    /// The GPU and the prices written for it.
    pub variant: &'a GpuVariant,
    /// Its display name.
    pub name: &'a str,
    /// Whether it is the scenario's own GPU, whose prices `costs.hardware` gives.
    pub own: bool,
    /// The id of the scenario's own GPU.
    pub scenario_gpu: &'a str,
}

/// A price that depends on the GPU, `key` of `parent` (`costs.hardware.owned` or `.rented`):
/// the one written for the swept GPU, else the scenario's (`own`), which is the price of the
/// scenario's own GPU and so applies to no other.
fn gpu_price(
    d: &mut Drawer,
    swept: Option<&SweptGpu>,
    parent: &str,
    key: &str,
    own: Option<&Value<f64>>,
) -> Result<Option<f64>, InputError> {
    let field = format!("{parent}.{key}");
    let written = swept.and_then(|s| {
        let price = s.variant.spec.price(key)?;
        Some((format!("{}.{key}", s.variant.field), price))
    });
    match (written, swept.filter(|s| !s.own)) {
        (Some((field, price)), _) => draw_price(d, &field, price).map(Some),
        (None, Some(other)) if own.is_some() => Err(InputError::field(
            &other.variant.field,
            format!(
                "{} needs its own {key}: {field} is the price for {}, the scenario's GPU; write \
                 {{gpu: {}, {key}: …}} in sweep.gpus",
                other.name, other.scenario_gpu, other.variant.spec.gpu
            ),
        )),
        (None, _) => own.map(|price| draw_price(d, &field, price)).transpose(),
    }
}

/// An error if the swept GPU's entry gives a price of the other kind of hardware.
fn other_kind(swept: Option<&SweptGpu>, keys: &[&str], why: &str) -> Result<(), InputError> {
    let Some(s) = swept else { return Ok(()) };
    match keys.iter().find(|key| s.variant.spec.price(key).is_some()) {
        Some(key) => Err(InputError::field(format!("{}.{key}", s.variant.field), why)),
        None => Ok(()),
    }
}

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

/// All prices; `gpu` supplies the default rental price, and `swept`, when the GPU is a
/// variant's, the prices written for it.
pub(super) fn prices(
    spec: &CostsSpec,
    gpu: &Gpu,
    swept: Option<&SweptGpu>,
    d: &mut Drawer,
) -> Result<Prices, InputError> {
    let hardware = match &spec.hardware {
        None => rented(&RentedSpec::default(), gpu, swept, d)?,
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
            other_kind(
                swept,
                &["gpu_hour", "reserved_gpu_hour"],
                "a rental price, but the scenario owns its servers (costs.hardware.owned)",
            )?;
            let server_usd = gpu_price(d, swept, field, "server_price", Some(&owned.server_price))?
                .expect("the scenario gives a server price");
            Hardware::Owned {
                server_usd,
                amortization_years: years,
                financing_rate: financing,
                maintenance_rate: maintenance,
            }
        }
        Some(HardwareCostSpec {
            owned: None,
            rented: Some(spec),
        }) => rented(spec, gpu, swept, d)?,
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

/// A rented fleet, at the catalog price of `gpu` unless the scenario (or `swept`) gives one.
fn rented(
    spec: &RentedSpec,
    gpu: &Gpu,
    swept: Option<&SweptGpu>,
    d: &mut Drawer,
) -> Result<Hardware, InputError> {
    let field = "costs.hardware.rented";
    other_kind(
        swept,
        &["server_price"],
        "an owned server's price, but the scenario rents its GPUs",
    )?;
    let given = gpu_price(d, swept, field, "gpu_hour", spec.gpu_hour.as_ref())?;
    let reserved = gpu_price(
        d,
        swept,
        field,
        "reserved_gpu_hour",
        spec.reserved_gpu_hour.as_ref(),
    )?;
    let on_demand = match (given, gpu.rent_per_hour) {
        (Some(given), _) => given,
        (None, Some(catalog)) => catalog,
        (None, None) => {
            let (field, give) = match swept.filter(|s| !s.own) {
                Some(s) => (
                    s.variant.field.clone(),
                    format!(
                        "write {{gpu: {}, gpu_hour: …}} in sweep.gpus",
                        s.variant.spec.gpu
                    ),
                ),
                None => (
                    "costs.hardware".to_string(),
                    "give costs.hardware.rented.gpu_hour or costs.hardware.owned".to_string(),
                ),
            };
            return Err(InputError::field(
                field,
                format!("the catalog has no rental price for {}; {give}", gpu.name),
            ));
        }
    };
    let share_field = format!("{field}.reserved_share");
    let share = match &spec.reserved_share {
        Some(share) => d.value(&share_field, share),
        None if reserved.is_some() => 1.0,
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
        reserved_usd: reserved.unwrap_or(on_demand),
        reserved_share: share,
    })
}
