//! From the scenario as written to the scenario the simulator runs: every range checked,
//! every default applied, the catalog consulted, the memory plan worked out. Errors name the
//! field path, the value and what was expected.

use super::Scenario;
use super::spec::{CatalogRef, ScenarioSpec};
use crate::catalog::Catalog;
use crate::check;
use crate::error::InputError;
use crate::facility::GpuPowerModel;
use crate::fleet::FleetLayout;
use crate::perf_model::{
    Efficiencies, Overheads, Parallelism, ReplicaSetup, default_activation_reserve, plan_memory,
};
use crate::serve::SchedulerConfig;

mod costs;
mod datacenter;
mod workload;

/// Most time-series rows a run may ask for (ten years of minutes is far beyond any need).
const MAX_TIMESERIES_ROWS: f64 = 10_000_000.0;
/// Longest horizon: ten years, far inside the engine's 584-year nanosecond clock.
const MAX_HORIZON_S: f64 = 3650.0 * 86_400.0;
/// Most requests a run may expect: a hundred billion, hundreds of ChatGPT-scale days.
const MAX_REQUESTS: f64 = 1e11;
/// Most replicas a fleet may have: each holds its own queue and batch in memory.
const MAX_REPLICAS: u64 = 1_000_000;

/// Resolves `spec`; `default_name` names the scenario when the file does not.
pub fn resolve(spec: ScenarioSpec, default_name: &str) -> Result<Scenario, InputError> {
    let study = &spec.study;
    check::positive("study.horizon", study.horizon.0)?;
    check::positive("study.timeseries_interval", study.timeseries_interval.0)?;
    if study.horizon.0 > MAX_HORIZON_S {
        return Err(InputError::field(
            "study.horizon",
            format!(
                "expected at most 3650 days, got {:.0} days",
                study.horizon.0 / 86_400.0
            ),
        ));
    }
    let per_hour = 3600.0 / study.timeseries_interval.0;
    if (per_hour - per_hour.round()).abs() > 1e-9 || per_hour < 1.0 {
        return Err(InputError::field(
            "study.timeseries_interval",
            format!(
                "must divide one hour (such as 10s, 1m, 5m, 15m or 1h), so that hourly tariffs, \
                 PUE and carbon apply to whole intervals; got {} s",
                study.timeseries_interval.0
            ),
        ));
    }
    if study.horizon.0 / study.timeseries_interval.0 > MAX_TIMESERIES_ROWS {
        return Err(InputError::field(
            "study.timeseries_interval",
            format!(
                "{} s over a horizon of {} s makes more than {MAX_TIMESERIES_ROWS} rows; use a \
                 longer interval",
                study.timeseries_interval.0, study.horizon.0
            ),
        ));
    }

    let model =
        lookup(&spec.model, |id| Catalog::builtin().model(id)).map_err(|e| e.under("model"))?;
    model.validate().map_err(|e| e.under("model"))?;
    let gpu = lookup(&spec.hardware.gpu, |id| Catalog::builtin().gpu(id))
        .map_err(|e| e.under("hardware.gpu"))?;
    gpu.validate().map_err(|e| e.under("hardware.gpu"))?;

    let workload = workload::resolve_workload(&spec.workload)?;
    let expected_requests = workload.mean_rate * study.horizon.0;
    if expected_requests > MAX_REQUESTS {
        return Err(InputError::field(
            "workload",
            format!(
                "{expected_requests:.3e} requests over the horizon is more than the {MAX_REQUESTS:.0e} \
                 one run may simulate; shorten study.horizon or lower the rate"
            ),
        ));
    }

    let hw = &spec.hardware;
    check::at_least("hardware.gpus_per_server", hw.gpus_per_server.into(), 1)?;
    let scale_up = hw.scale_up_link.unwrap_or(gpu.scale_up_link);
    check::positive("hardware.scale_up_link", scale_up.0)?;
    check::positive("hardware.nic_bandwidth", hw.nic_bandwidth.0)?;

    let fleet = &spec.fleet;
    check::at_least("fleet.servers", fleet.servers, 1)?;
    check::at_least("fleet.tensor_parallel", fleet.tensor_parallel.into(), 1)?;
    check::at_least("fleet.pipeline_parallel", fleet.pipeline_parallel.into(), 1)?;
    if model.heads % u64::from(fleet.tensor_parallel) != 0 {
        return Err(InputError::field(
            "fleet.tensor_parallel",
            format!(
                "must divide the {} attention heads of {}, got {}",
                model.heads, model.name, fleet.tensor_parallel
            ),
        ));
    }
    check::at_most(
        "fleet.pipeline_parallel",
        fleet.pipeline_parallel.into(),
        model.layers.into(),
        "the model's layers",
    )?;
    let parallelism = Parallelism {
        tensor: fleet.tensor_parallel,
        pipeline: fleet.pipeline_parallel,
    };
    let layout = FleetLayout::new(fleet.servers, hw.gpus_per_server, parallelism)
        .map_err(|(field, message)| InputError::field(field, message).under("fleet"))?;
    if layout.replicas > MAX_REPLICAS {
        return Err(InputError::field(
            "fleet.servers",
            format!(
                "{} servers make {} replicas, more than the {MAX_REPLICAS} one run may simulate",
                fleet.servers, layout.replicas
            ),
        ));
    }

    let sched = &spec.scheduler;
    check::at_least("scheduler.max_seqs", sched.max_seqs.into(), 1)?;
    check::at_least(
        "scheduler.max_tokens_per_step",
        sched.max_tokens_per_step.into(),
        1,
    )?;
    check::at_least("scheduler.kv_block_tokens", sched.kv_block_tokens.into(), 1)?;
    check::fraction("scheduler.memory_utilization", sched.memory_utilization)?;
    if let Some(reserve) = sched.activation_reserve {
        check::non_negative("scheduler.activation_reserve", reserve.0)?;
    }

    let perf = &spec.perf;
    check::fraction("perf.compute_efficiency", perf.compute_efficiency)?;
    check::fraction("perf.memory_efficiency", perf.memory_efficiency)?;
    check::fraction("perf.link_efficiency", perf.link_efficiency)?;
    check::non_negative("perf.step_overhead", perf.step_overhead.0)?;
    check::non_negative("perf.collective_latency", perf.collective_latency.0)?;

    let server = datacenter::server(hw.server.as_ref(), hw.gpus_per_server, &gpu)?;
    let facility = datacenter::facility(&spec.facility, server)?;
    let edge = datacenter::edge(&spec.network.edge)?;
    let failures = datacenter::failures(&spec.failures)?;
    let prices = costs::prices(&spec.costs, &gpu)?;

    let replica = ReplicaSetup {
        tensor_link: layout.tensor_link(scale_up, hw.nic_bandwidth),
        pipeline_link: layout.pipeline_link(scale_up, hw.nic_bandwidth),
        model: model.clone(),
        gpu: gpu.clone(),
        weights: spec.precision.weights,
        kv_cache: spec.precision.kv_cache,
        parallelism,
        efficiencies: Efficiencies {
            compute: perf.compute_efficiency,
            memory: perf.memory_efficiency,
            link: perf.link_efficiency,
        },
        overheads: Overheads {
            step: perf.step_overhead,
            collective: perf.collective_latency,
        },
    };
    let reserve = sched.activation_reserve.unwrap_or_else(|| {
        default_activation_reserve(
            &model,
            parallelism.tensor,
            sched.max_tokens_per_step,
            sched.max_seqs,
        )
    });
    let memory = plan_memory(
        &replica,
        sched.memory_utilization,
        reserve,
        sched.kv_block_tokens.into(),
    )
    .map_err(|e| InputError::field("fleet", e.to_string()))?;

    Ok(Scenario {
        name: spec.name.unwrap_or_else(|| default_name.to_string()),
        description: spec.description.trim().to_string(),
        seed: study.seed,
        horizon: study.horizon,
        timeseries_interval: study.timeseries_interval,
        workload,
        kv_block_tokens: sched.kv_block_tokens,
        kv_blocks_per_replica: memory.kv_capacity_tokens / u64::from(sched.kv_block_tokens),
        memory,
        scheduler: SchedulerConfig {
            batching: sched.batching,
            max_seqs: sched.max_seqs,
            max_tokens_per_step: sched.max_tokens_per_step,
            chunked_prefill: sched.chunked_prefill,
        },
        gpu_power: GpuPowerModel::for_gpu(&gpu),
        replica,
        fleet: layout,
        router: fleet.router,
        facility,
        edge,
        failures,
        prices,
    })
}

/// Exactly 24 values, one per hour from midnight, each passing `check` (which is given the
/// element's field path).
pub(super) fn hourly(
    field: &str,
    values: &[f64],
    what: &str,
    check: impl Fn(&str, f64) -> Result<(), InputError>,
) -> Result<[f64; 24], InputError> {
    let array: [f64; 24] = values.try_into().map_err(|_| {
        InputError::field(
            field,
            format!(
                "expected 24 {what}, one per hour from midnight, got {}",
                values.len()
            ),
        )
    })?;
    for (hour, value) in array.iter().enumerate() {
        check(&format!("{field}[{hour}]"), *value)?;
    }
    Ok(array)
}

/// A catalog entry by id, or the inline definition.
fn lookup<T: Clone + 'static>(
    reference: &CatalogRef<T>,
    find: impl Fn(&str) -> Result<&'static T, InputError>,
) -> Result<T, InputError> {
    match reference {
        CatalogRef::Id(id) => find(id).cloned(),
        CatalogRef::Inline(inline) => Ok((**inline).clone()),
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::from_yaml;

    /// A valid scenario to break one field at a time.
    const BASE: &str = "
workload:
  rate: 2/s
  prompt_tokens: 100
  output_tokens: 10
model: llama-3.1-8b
hardware: {gpu: h100-sxm}
fleet: {servers: 1}
";

    fn error_of(yaml: &str) -> String {
        from_yaml(yaml, "t").unwrap_err().to_string()
    }

    #[test]
    fn the_base_scenario_resolves_with_defaults() {
        let s = from_yaml(BASE, "t").unwrap();
        assert_eq!(s.name, "t");
        assert_eq!(s.seed, 1);
        assert_eq!(s.horizon.0, 86_400.0);
        assert_eq!(s.fleet.replicas, 8);
        assert_eq!(s.scheduler.max_seqs, 256);
        assert_eq!(s.facility.pue, crate::facility::PueModel::Constant(1.2));
        assert!(s.kv_blocks_per_replica > 1000);
    }

    #[test]
    fn arrival_volume_must_be_given_once() {
        let both = BASE.replace("rate: 2/s", "rate: 2/s\n  requests_per_day: 1000");
        assert!(error_of(&both).contains("either requests_per_day or rate, not both"));
        let neither = BASE.replace("  rate: 2/s\n", "");
        assert!(error_of(&neither).contains("needs an arrival volume"));
        let daily = from_yaml(&BASE.replace("rate: 2/s", "requests_per_day: 8.64e4"), "t");
        assert_eq!(daily.unwrap().workload.mean_rate, 1.0);
    }

    #[test]
    fn diurnal_profiles_are_checked() {
        let short = BASE.replace("rate: 2/s", "rate: 2/s\n  diurnal: {hourly: [1, 2, 3]}");
        let err = error_of(&short);
        assert!(
            err.contains("workload.diurnal.hourly: expected 24 weights"),
            "{err}"
        );
        let negative = BASE.replace(
            "rate: 2/s",
            "rate: 2/s\n  diurnal: {hourly: [1,1,1,-1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}",
        );
        assert!(error_of(&negative).contains("workload.diurnal.hourly[3]"));
        let ratio = BASE.replace("rate: 2/s", "rate: 2/s\n  diurnal: {peak_to_trough: 0.5}");
        assert!(error_of(&ratio).contains("peak_to_trough: expected a ratio ≥ 1"));
        let hour = BASE.replace(
            "rate: 2/s",
            "rate: 2/s\n  diurnal: {peak_to_trough: 2, peak_hour: 24}",
        );
        assert!(error_of(&hour).contains("peak_hour: expected an hour from 0 to 23"));
    }

    #[test]
    fn length_distributions_are_checked() {
        let two = BASE.replace(
            "prompt_tokens: 100",
            "prompt_tokens: {fixed: 10, uniform: [1, 2]}",
        );
        assert!(error_of(&two).contains("exactly one of fixed, uniform"));
        let reversed = BASE.replace("prompt_tokens: 100", "prompt_tokens: {uniform: [9, 2]}");
        assert!(error_of(&reversed).contains("low (9) must not exceed high (2)"));
        let fraction = BASE.replace("output_tokens: 10", "output_tokens: 2.5");
        let err = error_of(&fraction);
        assert!(
            err.contains("workload.output_tokens.fixed: expected a whole number"),
            "{err}"
        );
        let caps = BASE.replace(
            "prompt_tokens: 100",
            "prompt_tokens: {fixed: 5, min: 10, max: 2}",
        );
        assert!(error_of(&caps).contains("must be at least min (10), got 2"));
        let sigma = BASE.replace(
            "prompt_tokens: 100",
            "prompt_tokens: {lognormal: {median: 100, sigma: -1}}",
        );
        assert!(error_of(&sigma).contains("lognormal.sigma"));
    }

    #[test]
    fn fleet_and_facility_values_are_checked() {
        let tp = BASE.replace("servers: 1}", "servers: 1, tensor_parallel: 3}");
        assert!(error_of(&tp).contains("must divide the 32 attention heads"));
        let layout = BASE
            .replace("servers: 1}", "servers: 1, tensor_parallel: 16}")
            .replace("gpu: h100-sxm}", "gpu: h100-sxm, gpus_per_server: 8}");
        assert!(error_of(&layout).contains("a multiple of 2 servers, got 1"));
        let pue = format!("{BASE}facility: {{pue: 0.9}}\n");
        let err = error_of(&pue);
        assert!(
            err.contains("facility.pue: expected a PUE (facility ÷ IT power) ≥ 1"),
            "{err}"
        );
        let efficiency = format!("{BASE}perf: {{memory_efficiency: 1.5}}\n");
        assert!(error_of(&efficiency).contains("perf.memory_efficiency"));
        let horizon = format!("{BASE}study: {{horizon: 0s}}\n");
        assert!(error_of(&horizon).contains("study.horizon: expected a positive number"));
        let century = format!("{BASE}study: {{horizon: 36500d, timeseries_interval: 1d}}\n");
        assert!(error_of(&century).contains("at most 3650 days"));
    }

    #[test]
    fn absurd_sizes_are_refused_before_anything_runs() {
        let flood = BASE.replace("rate: 2/s", "rate: 1e12/s");
        assert!(error_of(&flood).contains("requests over the horizon"));
        let fleet = BASE.replace("servers: 1}", "servers: 1000000000}");
        assert!(error_of(&fleet).contains("more than the 1000000 one run may simulate"));
    }

    #[test]
    fn resolve_errors_carry_the_line_of_their_field() {
        let err = from_yaml(&BASE.replace("servers: 1", "servers: 0"), "t").unwrap_err();
        assert_eq!(err.location, Some((8, 1)), "the fleet line: {err}");
        assert_eq!(err.field.as_deref(), Some("fleet.servers"));
    }

    #[test]
    fn inline_models_and_gpus_are_used_as_given() {
        let yaml = BASE
            .replace(
                "model: llama-3.1-8b",
                "model:
  id: tiny
  name: Tiny
  layers: 4
  hidden: 512
  heads: 8
  kv_heads: 2
  ffn: 1024
  vocab: 1000
  context: 2048",
            )
            .replace(
                "hardware: {gpu: h100-sxm}",
                "hardware:
  gpu:
    id: small
    name: Small GPU
    memory: 8GiB
    memory_bandwidth: 500GB/s
    tensor: {fp16: 100TFLOPS, bf16: 100TFLOPS}
    tdp: 150W
    idle_power: 20W
    scale_up_link: 64GB/s
    rent_per_hour: 0.5",
            );
        let s = from_yaml(&yaml, "t").unwrap();
        assert_eq!(s.replica.model.name, "Tiny");
        let unpriced = yaml.replace("    rent_per_hour: 0.5", "");
        assert!(error_of(&unpriced).contains("no rental price for Small GPU"));
        assert_eq!(s.replica.gpu.memory.gib(), 8.0);
        assert_eq!(s.gpu_power.idle.0, 20.0);
        let bad = yaml.replace("idle_power: 20W", "idle_power: 200W");
        assert!(error_of(&bad).contains("hardware.gpu.idle_power: must be below the tdp"));
        let typo = yaml.replace("kv_heads: 2", "kv_head: 2");
        assert!(error_of(&typo).contains("did you mean `kv_heads`"));
    }
}
