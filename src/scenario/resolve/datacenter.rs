//! The datacenter sections: the servers' non-GPU parts, the facility's PUE, the edge link,
//! failures and autoscaling.

use super::hourly;
use crate::catalog::Gpu;
use crate::check;
use crate::error::InputError;
use crate::facility::{Component, Facility, PueModel, ServerPower};
use crate::fleet::{Autoscaling, EdgeConfig, FailureModel, FleetLayout, ScaleTarget};
use crate::scenario::spec::{AutoscalingSpec, EdgeSpec, FacilitySpec, FailuresSpec, ServerSpec};
use crate::uncertain::Drawer;

/// The server's component list, or the HGX-class default for `gpus` GPUs of `gpu`.
pub(super) fn server(
    spec: Option<&ServerSpec>,
    gpus: u32,
    gpu: &Gpu,
    d: &mut Drawer,
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
            let (count_field, static_field, dynamic_field) = (
                format!("{field}.count"),
                format!("{field}.static"),
                format!("{field}.dynamic"),
            );
            let count = d.value(&count_field, &c.count);
            let static_power = d.value(&static_field, &c.static_power);
            let dynamic_power = d.value(&dynamic_field, &c.dynamic);
            check::non_negative(&count_field, count)?;
            check::non_negative(&static_field, static_power.0)?;
            check::non_negative(&dynamic_field, dynamic_power.0)?;
            Ok(Component {
                name: c.name.clone(),
                count,
                static_power,
                dynamic_power,
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
pub(super) fn facility(
    spec: &FacilitySpec,
    server: ServerPower,
    d: &mut Drawer,
) -> Result<Facility, InputError> {
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
    let pue = if let Some(value) = &fields.constant {
        let value = d.value("facility.pue", value);
        pue_value("facility.pue", value)?;
        PueModel::Constant(value)
    } else if let Some(values) = &fields.hourly {
        let values = d.values("facility.pue.hourly", values);
        PueModel::Hourly(hourly(
            "facility.pue.hourly",
            &values,
            "PUE values",
            pue_value,
        )?)
    } else {
        let t = fields.temperature.as_ref().expect("one form is given");
        let field = "facility.pue.temperature";
        let base = d.value(&format!("{field}.base"), &t.base);
        let threshold = d.value(&format!("{field}.threshold"), &t.threshold);
        let per_degree = d.value(&format!("{field}.per_degree"), &t.per_degree);
        let low_load = d.value(&format!("{field}.low_load"), &t.low_load);
        pue_value(&format!("{field}.base"), base)?;
        check::non_negative(&format!("{field}.per_degree"), per_degree)?;
        check::non_negative(&format!("{field}.low_load"), low_load)?;
        if !threshold.is_finite() {
            return Err(InputError::field(
                format!("{field}.threshold"),
                format!("expected a temperature in °C, got {threshold}"),
            ));
        }
        let Some(outside) = &spec.outside_temperature else {
            return Err(InputError::field(
                "facility.outside_temperature",
                "the temperature PUE model needs 24 hourly outside temperatures in °C",
            ));
        };
        let outside = d.values("facility.outside_temperature", outside);
        let outside_c = hourly(
            "facility.outside_temperature",
            &outside,
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
            base,
            threshold_c: threshold,
            per_degree,
            low_load,
            outside_c,
        }
    };
    let cooling_share = d.value("facility.cooling_share", &spec.cooling_share);
    if !(0.0..=1.0).contains(&cooling_share) {
        return Err(InputError::field(
            "facility.cooling_share",
            format!("expected a share from 0 to 1 of the overhead, got {cooling_share}"),
        ));
    }
    Ok(Facility {
        pue,
        cooling_share,
        server,
    })
}

/// The edge link.
pub(super) fn edge(spec: &EdgeSpec, d: &mut Drawer) -> Result<EdgeConfig, InputError> {
    let edge = EdgeConfig {
        bandwidth: d.value("network.edge.bandwidth", &spec.bandwidth),
        latency: d.value("network.edge.latency", &spec.latency),
        request_bytes_per_token: d.value(
            "network.edge.request_bytes_per_token",
            &spec.request_bytes_per_token,
        ),
        request_overhead_bytes: d.value(
            "network.edge.request_overhead_bytes",
            &spec.request_overhead_bytes,
        ),
        response_bytes_per_token: d.value(
            "network.edge.response_bytes_per_token",
            &spec.response_bytes_per_token,
        ),
    };
    check::positive("network.edge.bandwidth", edge.bandwidth.0)?;
    check::non_negative("network.edge.latency", edge.latency.0)?;
    check::non_negative(
        "network.edge.request_bytes_per_token",
        edge.request_bytes_per_token,
    )?;
    check::non_negative(
        "network.edge.request_overhead_bytes",
        edge.request_overhead_bytes,
    )?;
    check::non_negative(
        "network.edge.response_bytes_per_token",
        edge.response_bytes_per_token,
    )?;
    Ok(edge)
}

/// The failure model, or none when failures are off.
pub(super) fn failures(
    spec: &FailuresSpec,
    d: &mut Drawer,
) -> Result<Option<FailureModel>, InputError> {
    if !spec.enabled {
        return Ok(None);
    }
    let model = FailureModel {
        gpu_mtbf: d.value("failures.gpu_mtbf", &spec.gpu_mtbf),
        server_mtbf: d.value("failures.server_mtbf", &spec.server_mtbf),
        gpu_mttr: d.value("failures.gpu_mttr", &spec.gpu_mttr),
        server_mttr: d.value("failures.server_mttr", &spec.server_mttr),
        max_retries: d.value("failures.max_retries", &spec.max_retries),
    };
    check::positive("failures.gpu_mtbf", model.gpu_mtbf.0)?;
    check::positive("failures.server_mtbf", model.server_mtbf.0)?;
    check::positive("failures.gpu_mttr", model.gpu_mttr.0)?;
    check::positive("failures.server_mttr", model.server_mttr.0)?;
    Ok(Some(model))
}

/// The autoscaler of a fleet laid out as `layout` (the fleet at midnight): limits in whole
/// replicas' servers, with the midnight fleet between them.
pub(super) fn autoscaling(
    spec: &AutoscalingSpec,
    layout: &FleetLayout,
    d: &mut Drawer,
) -> Result<Autoscaling, InputError> {
    const AT: &str = "fleet.autoscaling";
    let unit = crate::fleet::layout::servers_step(layout.gpus_per_server, layout.parallelism);
    let min_servers = match &spec.min_servers {
        Some(min) => d.value(&format!("{AT}.min_servers"), min),
        None => unit,
    };
    let max_servers = d.value(&format!("{AT}.max_servers"), &spec.max_servers);
    for (name, servers) in [("min_servers", min_servers), ("max_servers", max_servers)] {
        let field = format!("{AT}.{name}");
        check::at_least(&field, servers, 1)?;
        if servers % unit != 0 {
            return Err(InputError::field(
                field,
                format!(
                    "a replica spans {unit} servers, so servers switch {unit} at a time: \
                     expected a multiple of {unit}, got {servers}"
                ),
            ));
        }
    }
    if max_servers < min_servers {
        return Err(InputError::field(
            format!("{AT}.max_servers"),
            format!("expected at least min_servers ({min_servers}), got {max_servers}"),
        ));
    }
    if !(min_servers..=max_servers).contains(&layout.servers) {
        return Err(InputError::field(
            "fleet.servers",
            format!(
                "the fleet at midnight must lie within fleet.autoscaling's min_servers and \
                 max_servers ({min_servers}–{max_servers}), got {}",
                layout.servers
            ),
        ));
    }
    let config = Autoscaling {
        min_servers,
        max_servers,
        initial_servers: layout.servers,
        unit,
        target: match (&spec.requests_per_replica, &spec.kv_cache) {
            (Some(requests), None) => {
                let field = format!("{AT}.requests_per_replica");
                let requests = d.value(&field, requests);
                check::positive(&field, requests)?;
                ScaleTarget::RequestsPerReplica(requests)
            }
            (None, Some(share)) => {
                let field = format!("{AT}.kv_cache");
                let share = d.value(&field, share);
                check::fraction(&field, share)?;
                ScaleTarget::KvCache(share)
            }
            _ => {
                return Err(InputError::field(
                    AT,
                    "expected one target: requests_per_replica (requests waiting or running \
                     per replica, e.g. 32) or kv_cache (share of the KV cache in use, e.g. 0.6)",
                ));
            }
        },
        tolerance: d.value(&format!("{AT}.tolerance"), &spec.tolerance),
        interval: d.value(&format!("{AT}.interval"), &spec.interval),
        provisioning_delay: d.value(
            &format!("{AT}.provisioning_delay"),
            &spec.provisioning_delay,
        ),
        scale_down_delay: d.value(&format!("{AT}.scale_down_delay"), &spec.scale_down_delay),
    };
    check::non_negative(&format!("{AT}.tolerance"), config.tolerance)?;
    check::positive(&format!("{AT}.interval"), config.interval.0)?;
    check::non_negative(
        &format!("{AT}.provisioning_delay"),
        config.provisioning_delay.0,
    )?;
    check::non_negative(&format!("{AT}.scale_down_delay"), config.scale_down_delay.0)?;
    Ok(config)
}
