//! The datacenter sections: the servers' non-GPU parts, the facility's PUE, the edge link
//! and failures.

use super::hourly;
use crate::catalog::Gpu;
use crate::check;
use crate::error::InputError;
use crate::facility::{Component, Facility, PueModel, ServerPower};
use crate::fleet::{EdgeConfig, FailureModel};
use crate::scenario::spec::{EdgeSpec, FacilitySpec, FailuresSpec, ServerSpec};

/// The server's component list, or the HGX-class default for `gpus` GPUs of `gpu`.
pub(super) fn server(
    spec: Option<&ServerSpec>,
    gpus: u32,
    gpu: &Gpu,
) -> Result<ServerPower, InputError> {
    let Some(spec) = spec else {
        return Ok(ServerPower::hgx_class(gpus, gpu.tdp));
    };
    let components = spec
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let field = format!("hardware.server.components[{i}]");
            check::non_negative(&format!("{field}.count"), c.count)?;
            check::non_negative(&format!("{field}.static"), c.static_power.0)?;
            check::non_negative(&format!("{field}.dynamic"), c.dynamic.0)?;
            Ok(Component {
                name: c.name.clone(),
                count: c.count,
                static_power: c.static_power,
                dynamic_power: c.dynamic,
            })
        })
        .collect::<Result<_, InputError>>()?;
    Ok(ServerPower { components })
}

/// A PUE value: at least 1.
fn pue_value(field: &str, value: f64) -> Result<(), InputError> {
    check::min(field, value, 1.0, "a PUE (facility ÷ IT power)")
}

/// The facility: PUE model, cooling share, and the server power.
pub(super) fn facility(spec: &FacilitySpec, server: ServerPower) -> Result<Facility, InputError> {
    let fields = &spec.pue.0;
    let given = [
        fields.constant.is_some(),
        fields.hourly.is_some(),
        fields.temperature.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(InputError::field(
            "facility.pue",
            "expected a number, or exactly one of hourly and temperature",
        ));
    }
    let pue = if let Some(value) = fields.constant {
        pue_value("facility.pue", value)?;
        PueModel::Constant(value)
    } else if let Some(values) = &fields.hourly {
        PueModel::Hourly(hourly(
            "facility.pue.hourly",
            values,
            "PUE values",
            pue_value,
        )?)
    } else {
        let t = fields.temperature.as_ref().expect("one form is given");
        pue_value("facility.pue.temperature.base", t.base)?;
        check::non_negative("facility.pue.temperature.per_degree", t.per_degree)?;
        check::non_negative("facility.pue.temperature.low_load", t.low_load)?;
        if !t.threshold.is_finite() {
            return Err(InputError::field(
                "facility.pue.temperature.threshold",
                format!("expected a temperature in °C, got {}", t.threshold),
            ));
        }
        let Some(outside) = &spec.outside_temperature else {
            return Err(InputError::field(
                "facility.outside_temperature",
                "the temperature PUE model needs 24 hourly outside temperatures in °C",
            ));
        };
        let outside_c = hourly(
            "facility.outside_temperature",
            outside,
            "temperatures in °C",
            |field, value| {
                if (-90.0..=60.0).contains(&value) {
                    Ok(())
                } else {
                    Err(InputError::field(
                        field,
                        format!("expected an outside temperature from −90 to 60 °C, got {value}"),
                    ))
                }
            },
        )?;
        PueModel::Temperature {
            base: t.base,
            threshold_c: t.threshold,
            per_degree: t.per_degree,
            low_load: t.low_load,
            outside_c,
        }
    };
    if !(0.0..=1.0).contains(&spec.cooling_share) {
        return Err(InputError::field(
            "facility.cooling_share",
            format!(
                "expected a share from 0 to 1 of the overhead, got {}",
                spec.cooling_share
            ),
        ));
    }
    Ok(Facility {
        pue,
        cooling_share: spec.cooling_share,
        server,
    })
}

/// The edge link.
pub(super) fn edge(spec: &EdgeSpec) -> Result<EdgeConfig, InputError> {
    check::positive("network.edge.bandwidth", spec.bandwidth.0)?;
    check::non_negative("network.edge.latency", spec.latency.0)?;
    check::non_negative(
        "network.edge.request_bytes_per_token",
        spec.request_bytes_per_token,
    )?;
    check::non_negative(
        "network.edge.request_overhead_bytes",
        spec.request_overhead_bytes,
    )?;
    check::non_negative(
        "network.edge.response_bytes_per_token",
        spec.response_bytes_per_token,
    )?;
    Ok(EdgeConfig {
        bandwidth: spec.bandwidth,
        latency: spec.latency,
        request_bytes_per_token: spec.request_bytes_per_token,
        request_overhead_bytes: spec.request_overhead_bytes,
        response_bytes_per_token: spec.response_bytes_per_token,
    })
}

/// The failure model, or none when failures are off.
pub(super) fn failures(spec: &FailuresSpec) -> Result<Option<FailureModel>, InputError> {
    if !spec.enabled {
        return Ok(None);
    }
    check::positive("failures.gpu_mtbf", spec.gpu_mtbf.0)?;
    check::positive("failures.server_mtbf", spec.server_mtbf.0)?;
    check::positive("failures.gpu_mttr", spec.gpu_mttr.0)?;
    check::positive("failures.server_mttr", spec.server_mttr.0)?;
    Ok(Some(FailureModel {
        gpu_mtbf: spec.gpu_mtbf,
        server_mtbf: spec.server_mtbf,
        gpu_mttr: spec.gpu_mttr,
        server_mttr: spec.server_mttr,
        max_retries: spec.max_retries,
    }))
}
