//! From the scenario as written to the scenario the simulator runs: every range checked,
//! every default applied, the catalog consulted, the memory plan worked out. Errors name the
//! field path, the value and what was expected.

use super::spec::{CatalogRef, ScenarioSpec};
use super::{GpuVariant, Scenario, Variant};
use crate::catalog::{Catalog, Gpu};
use crate::check;
use crate::error::InputError;
use crate::facility::GpuPowerModel;
use crate::fleet::{FleetLayout, RouterPolicy};
use crate::perf_model::{
    Efficiencies, Overheads, Parallelism, ReplicaSetup, default_activation_reserve, plan_memory,
};
use crate::serve::{Batching, PromptTable, SchedulerConfig};
use crate::stats::{Slo, SloTarget};
use crate::uncertain::Drawer;
use crate::workload::trace::MAX_RATE_SCALE;
use crate::workload::{Arrivals, Trace};
use std::sync::Arc;

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

/// Resolves `spec` as `variant` for the run whose uncertain values `drawer` draws;
/// `default_name` names the scenario when the file does not, and `trace` is the trace
/// `workload.trace` names, read. An error about a value drawn from a distribution says so.
pub fn resolve(
    spec: &ScenarioSpec,
    default_name: &str,
    trace: Option<&Arc<Trace>>,
    variant: &Variant,
    drawer: &mut Drawer,
) -> Result<Scenario, InputError> {
    resolve_drawn(spec, default_name, trace, variant, drawer).map_err(|mut e| {
        if let Some(drawn) = e
            .field
            .as_ref()
            .and_then(|field| drawer.drawn().iter().find(|d| d.field == *field))
        {
            e.message = format!(
                "{} (drawn from {} in run {})",
                e.message,
                drawn.distribution,
                drawer.run()
            );
        }
        e
    })
}

fn resolve_drawn(
    spec: &ScenarioSpec,
    default_name: &str,
    trace: Option<&Arc<Trace>>,
    variant: &Variant,
    d: &mut Drawer,
) -> Result<Scenario, InputError> {
    let study = &spec.study;
    check::positive("study.horizon", study.horizon.0)?;
    check::positive("study.timeseries_interval", study.timeseries_interval.0)?;
    check::at_least("study.runs", study.runs, 1)?;
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

    let model = match &spec.model {
        CatalogRef::Id(id) => Catalog::builtin()
            .model(id)
            .cloned()
            .map_err(|e| e.under("model"))?,
        CatalogRef::Inline(inline) => inline.resolve("model", d)?,
    };
    let gpu = resolve_gpu(spec, variant.gpu.as_ref(), d)?;

    let mut workload = workload::resolve_workload(&spec.workload, trace, d)?;
    if variant.load != 1.0 {
        check::positive("workload (load multiplier)", variant.load)?;
        workload.arrivals = workload.arrivals.scaled(variant.load);
        match &workload.arrivals {
            Arrivals::Closed { clients, .. } => check::at_most(
                "workload.concurrency",
                *clients,
                workload::MAX_CLIENTS,
                "the most clients one run may simulate (after the load multiplier)",
            )?,
            Arrivals::Trace(replay) if replay.rate_scale() > MAX_RATE_SCALE => {
                return Err(InputError::field(
                    "workload.trace.rate_scale",
                    format!(
                        "{} after the load multiplier ×{} is more than the {MAX_RATE_SCALE} \
                         copies of the trace one run may play together",
                        replay.rate_scale(),
                        variant.load
                    ),
                ));
            }
            _ => {}
        }
    }
    let expected_requests = workload.mean_rate().unwrap_or(0.0) * study.horizon.0;
    if expected_requests > MAX_REQUESTS {
        return Err(InputError::field(
            "workload",
            format!(
                "{expected_requests:.3e} requests over the horizon is more than the \
                 {MAX_REQUESTS:.0e} one run may simulate; shorten study.horizon or lower the rate"
            ),
        ));
    }

    let hw = &spec.hardware;
    let gpus_per_server = d.value("hardware.gpus_per_server", &hw.gpus_per_server);
    check::at_least("hardware.gpus_per_server", gpus_per_server.into(), 1)?;
    let scale_up = match &hw.scale_up_link {
        Some(link) => d.value("hardware.scale_up_link", link),
        None => gpu.scale_up_link,
    };
    check::positive("hardware.scale_up_link", scale_up.0)?;
    let nic = d.value("hardware.nic_bandwidth", &hw.nic_bandwidth);
    check::positive("hardware.nic_bandwidth", nic.0)?;

    let fleet = &spec.fleet;
    let servers = match variant.servers {
        Some(servers) => servers,
        None => d.value("fleet.servers", &fleet.servers),
    };
    let tensor = match variant.tensor_parallel {
        Some(tensor) => tensor,
        None => d.value("fleet.tensor_parallel", &fleet.tensor_parallel),
    };
    let pipeline = d.value("fleet.pipeline_parallel", &fleet.pipeline_parallel);
    check::at_least("fleet.servers", servers, 1)?;
    check::at_least("fleet.tensor_parallel", tensor.into(), 1)?;
    check::at_least("fleet.pipeline_parallel", pipeline.into(), 1)?;
    if model.heads % u64::from(tensor) != 0 {
        return Err(InputError::field(
            "fleet.tensor_parallel",
            format!(
                "must divide the {} attention heads of {}, got {tensor}",
                model.heads, model.name
            ),
        ));
    }
    check::at_most(
        "fleet.pipeline_parallel",
        pipeline.into(),
        model.layers.into(),
        "the model's layers",
    )?;
    let parallelism = Parallelism { tensor, pipeline };
    let layout = FleetLayout::new(servers, gpus_per_server, parallelism)
        .map_err(|(field, message)| InputError::field(field, message).under("fleet"))?;
    let autoscaling = match (&fleet.autoscaling, variant.autoscaling) {
        (Some(spec), true) => Some(datacenter::autoscaling(spec, &layout, d)?),
        _ => None,
    };
    let layout = match autoscaling {
        Some(a) => FleetLayout::new(a.max_servers, gpus_per_server, parallelism)
            .expect("a multiple of the replica's servers"),
        None => layout,
    };
    if layout.replicas > MAX_REPLICAS {
        return Err(InputError::field(
            "fleet.servers",
            format!(
                "{} servers make {} replicas, more than the {MAX_REPLICAS} one run may simulate",
                layout.servers, layout.replicas
            ),
        ));
    }

    let sched = &spec.scheduler;
    let max_seqs = d.value("scheduler.max_seqs", &sched.max_seqs);
    let max_tokens = d.value("scheduler.max_tokens_per_step", &sched.max_tokens_per_step);
    let block_tokens = d.value("scheduler.kv_block_tokens", &sched.kv_block_tokens);
    let memory_utilization = d.value("scheduler.memory_utilization", &sched.memory_utilization);
    check::at_least("scheduler.max_seqs", max_seqs.into(), 1)?;
    check::at_least("scheduler.max_tokens_per_step", max_tokens.into(), 1)?;
    check::at_least("scheduler.kv_block_tokens", block_tokens.into(), 1)?;
    check::fraction("scheduler.memory_utilization", memory_utilization)?;
    let reserve = match &sched.activation_reserve {
        Some(reserve) => {
            let reserve = d.value("scheduler.activation_reserve", reserve);
            check::non_negative("scheduler.activation_reserve", reserve.0)?;
            reserve
        }
        None => default_activation_reserve(&model, tensor, max_tokens, max_seqs),
    };

    let perf = &spec.perf;
    let efficiencies = Efficiencies {
        compute: d.value("perf.compute_efficiency", &perf.compute_efficiency),
        memory: d.value("perf.memory_efficiency", &perf.memory_efficiency),
        link: d.value("perf.link_efficiency", &perf.link_efficiency),
    };
    let overheads = Overheads {
        step: d.value("perf.step_overhead", &perf.step_overhead),
        collective: d.value("perf.collective_latency", &perf.collective_latency),
    };
    check::fraction("perf.compute_efficiency", efficiencies.compute)?;
    check::fraction("perf.memory_efficiency", efficiencies.memory)?;
    check::fraction("perf.link_efficiency", efficiencies.link)?;
    check::non_negative("perf.step_overhead", overheads.step.0)?;
    check::non_negative("perf.collective_latency", overheads.collective.0)?;

    let server = datacenter::server(hw.server.as_ref(), gpus_per_server, &gpu, d)?;
    let facility = datacenter::facility(&spec.facility, server, d)?;
    let edge = datacenter::edge(&spec.network.edge, d)?;
    let failures = datacenter::failures(&spec.failures, d)?;
    let swept = variant.gpu.as_ref().map(|v| costs::SweptGpu {
        variant: v,
        name: &gpu.name,
        own: gpu.id.eq_ignore_ascii_case(scenario_gpu_id(spec)),
        scenario_gpu: scenario_gpu_id(spec),
    });
    let prices = costs::prices(&spec.costs, &gpu, swept.as_ref(), d)?;
    let mut slo = Slo::default();
    for (metric, percentile, target) in spec.slo.targets() {
        if let Some(target) = target {
            let field = format!("slo.{}_p{percentile}", metric.name());
            let max = d.value(&field, target);
            check::positive(&field, max.0)?;
            slo.targets.push(SloTarget {
                metric,
                percentile,
                max_s: max.0,
            });
        }
    }

    let replica = ReplicaSetup {
        tensor_link: layout.tensor_link(scale_up, nic),
        pipeline_link: layout.pipeline_link(scale_up, nic),
        model: model.clone(),
        gpu: gpu.clone(),
        weights: spec.precision.weights,
        kv_cache: spec.precision.kv_cache,
        parallelism,
        efficiencies,
        overheads,
    };
    let memory = plan_memory(&replica, memory_utilization, reserve, block_tokens.into())
        .map_err(|e| InputError::does_not_fit("fleet", e.to_string()))?;
    let prefix_caching = prefix_caching(spec, trace, block_tokens)?;
    if fleet.router == RouterPolicy::PrefixAware && prefix_caching.is_none() {
        return Err(InputError::field(
            "fleet.router",
            "prefix-aware routing follows the replicas' prefix caches, and prefix caching is \
             off: replay a trace with prompt block ids (Mooncake's hash_ids) with continuous \
             batching, or choose another router",
        ));
    }

    Ok(Scenario {
        name: spec
            .name
            .clone()
            .unwrap_or_else(|| default_name.to_string()),
        description: spec.description.trim().to_string(),
        seed: study.seed,
        stepping: crate::engine::Stepping::default(),
        run_threads: 1,
        run: d.run(),
        inputs: Vec::new(),
        horizon: study.horizon,
        timeseries_interval: study.timeseries_interval,
        workload,
        kv_block_tokens: block_tokens,
        kv_blocks_per_replica: memory.kv_capacity_tokens / u64::from(block_tokens),
        memory,
        scheduler: SchedulerConfig {
            batching: sched.batching,
            max_seqs,
            max_tokens_per_step: max_tokens,
            chunked_prefill: sched.chunked_prefill,
        },
        prefix_caching,
        gpu_power: GpuPowerModel::for_gpu(&gpu),
        replica,
        fleet: layout,
        router: fleet.router,
        autoscaling,
        facility,
        edge,
        failures,
        prices,
        slo,
    })
}

/// The prompt blocks replicas cache, as `scheduler.prefix_caching` and the trace say: on by
/// default when the replayed trace has prompt block ids and batching is continuous, as vLLM
/// v1 enables automatic prefix caching by default; a prompt block of
/// `workload.trace.block_tokens` (the format's by default) must be whole KV blocks of
/// `kv_block_tokens`.
fn prefix_caching(
    spec: &ScenarioSpec,
    trace: Option<&Arc<Trace>>,
    kv_block_tokens: u32,
) -> Result<Option<PromptTable>, InputError> {
    let trace_spec = spec.workload.trace.as_ref();
    let with_blocks = trace
        .filter(|t| trace_spec.is_some() && t.has_prompt_blocks())
        .cloned();
    let block_tokens = match trace_spec.and_then(|t| t.block_tokens) {
        Some(tokens) => {
            if with_blocks.is_none() {
                return Err(InputError::field(
                    "workload.trace.block_tokens",
                    "the trace has no prompt block ids (Mooncake's hash_ids) for it to size",
                ));
            }
            check::at_least("workload.trace.block_tokens", tokens.into(), 1)?;
            tokens
        }
        None => with_blocks
            .as_ref()
            .and_then(|t| t.format().prompt_block_tokens())
            .unwrap_or(0),
    };
    let continuous = spec.scheduler.batching == Batching::Continuous;
    let on = match spec.scheduler.prefix_caching {
        Some(false) => false,
        Some(true) if with_blocks.is_none() => {
            return Err(InputError::field(
                "scheduler.prefix_caching",
                "needs prompts whose blocks can be told apart: replay a trace with prompt \
                 block ids (Mooncake's hash_ids)",
            ));
        }
        Some(true) if !continuous => {
            return Err(InputError::field(
                "scheduler.prefix_caching",
                "needs continuous batching (static batches reserve their whole KV cache)",
            ));
        }
        Some(true) => true,
        None => with_blocks.is_some() && continuous,
    };
    let Some(trace) = with_blocks.filter(|_| on) else {
        return Ok(None);
    };
    if block_tokens % kv_block_tokens != 0 {
        return Err(InputError::field(
            "scheduler.kv_block_tokens",
            format!(
                "must divide the trace's prompt blocks of {block_tokens} tokens \
                 (workload.trace.block_tokens) for prefix caching, got {kv_block_tokens}; or \
                 set scheduler.prefix_caching: false"
            ),
        ));
    }
    Ok(Some(PromptTable::new(trace, block_tokens)))
}

/// The GPU of `spec`, or `variant`'s in its place: a catalog id, or the id of the inline
/// `hardware.gpu` (which then applies as written).
pub(super) fn resolve_gpu(
    spec: &ScenarioSpec,
    variant: Option<&GpuVariant>,
    d: &mut Drawer,
) -> Result<Gpu, InputError> {
    let from_catalog = |id: &str, field: &str| {
        Catalog::builtin()
            .gpu(id)
            .cloned()
            .map_err(|e| e.under(field))
    };
    match (&spec.hardware.gpu, variant) {
        (CatalogRef::Inline(inline), Some(v)) if !inline.id().eq_ignore_ascii_case(&v.spec.gpu) => {
            from_catalog(&v.spec.gpu, &v.field)
        }
        (CatalogRef::Inline(inline), _) => inline.resolve("hardware.gpu", d),
        (CatalogRef::Id(_), Some(v)) => from_catalog(&v.spec.gpu, &v.field),
        (CatalogRef::Id(id), None) => from_catalog(id, "hardware.gpu"),
    }
}

/// The id of the scenario's own `hardware.gpu`, as written.
fn scenario_gpu_id(spec: &ScenarioSpec) -> &str {
    match &spec.hardware.gpu {
        CatalogRef::Id(id) => id,
        CatalogRef::Inline(inline) => inline.id(),
    }
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
        assert!(error_of(&both).contains("one of requests_per_day, rate or concurrency"));
        let neither = BASE.replace("  rate: 2/s\n", "");
        assert!(error_of(&neither).contains("needs an arrival volume"));
        let daily = from_yaml(&BASE.replace("rate: 2/s", "requests_per_day: 8.64e4"), "t");
        assert_eq!(daily.unwrap().workload.mean_rate(), Some(1.0));
    }

    #[test]
    fn a_closed_loop_takes_clients_and_a_think_time() {
        use crate::workload::Arrivals;
        let closed = |with: &str| BASE.replace("rate: 2/s", with);
        let s = from_yaml(&closed("concurrency: 16\n  think_time: 2s"), "t").unwrap();
        assert_eq!(
            s.workload.arrivals,
            Arrivals::Closed {
                clients: 16,
                think: 2.0
            }
        );
        assert_eq!(s.workload.mean_rate(), None);
        let s = from_yaml(&closed("concurrency: 1"), "t").unwrap();
        assert_eq!(
            s.workload.arrivals,
            Arrivals::Closed {
                clients: 1,
                think: 0.0
            }
        );
        let both = closed("concurrency: 4\n  rate: 2/s");
        assert!(error_of(&both).contains("not several"));
        assert!(error_of(&closed("concurrency: 0")).contains("at least 1, got 0"));
        assert!(error_of(&closed("concurrency: 2000000")).contains("the most clients"));
        let shaped = closed("concurrency: 4\n  diurnal: {peak_to_trough: 2}");
        assert!(error_of(&shaped).contains("shapes an open stream"));
        let stray = BASE.replace("rate: 2/s", "rate: 2/s\n  think_time: 1s");
        assert!(error_of(&stray).contains("applies to a closed loop"));
        let negative = closed("concurrency: 4\n  think_time: -1s");
        assert!(error_of(&negative).contains("workload.think_time"));
    }

    #[test]
    fn burstiness_gives_gamma_gaps_to_an_open_stream_only() {
        use crate::workload::Arrivals;
        let bursty = BASE.replace("rate: 2/s", "rate: 2/s\n  burstiness: {cv: 2.5}");
        let s = from_yaml(&bursty, "t").unwrap();
        assert!(matches!(s.workload.arrivals, Arrivals::Open { gap_cv, .. } if gap_cv == 2.5));
        assert!(
            s.workload
                .arrivals
                .to_string()
                .ends_with("gaps with CV 2.5")
        );
        let flat = BASE.replace("rate: 2/s", "rate: 2/s\n  burstiness: {cv: 0}");
        assert!(error_of(&flat).contains("workload.burstiness.cv: expected a coefficient"));
        let closed = BASE.replace("rate: 2/s", "concurrency: 4\n  burstiness: {cv: 2}");
        assert!(error_of(&closed).contains("workload.burstiness: shapes the gaps"));
    }

    #[test]
    fn quantile_lengths_need_percentiles_from_p0_to_p100() {
        let quantiles = |knots: &str| {
            BASE.replace(
                "prompt_tokens: 100",
                &format!("prompt_tokens: {{quantiles: {{{knots}}}}}"),
            )
        };
        let s = from_yaml(&quantiles("p0: 10, p50: 100, p99.9: 900, p100: 1000"), "t").unwrap();
        assert_eq!(
            s.workload.prompt_tokens.to_string(),
            "quantiles(p0 10, p50 100, p99.9 900, p100 1000)"
        );
        let err = error_of(&quantiles("p0: 10, p101: 20"));
        assert!(err.contains("workload.prompt_tokens.quantiles.p101: expected a percentile"));
        let err = error_of(&quantiles("p0: 10, p50: 100"));
        assert!(
            err.contains("needs p0 (the shortest length) and p100"),
            "{err}"
        );
        let err = error_of(&quantiles("p0: 10, median: 100, p100: 200"));
        assert!(err.contains("got `median`"), "{err}");
    }

    #[test]
    fn lengths_are_required_without_a_trace() {
        let err = error_of(&BASE.replace("  prompt_tokens: 100\n", ""));
        assert!(err.contains("workload.prompt_tokens: required"), "{err}");
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
    fn uncertain_values_are_drawn_per_run_and_recorded() {
        use crate::scenario::ScenarioFile;
        let yaml = format!(
            "{BASE}perf: {{memory_efficiency: {{uniform: [0.7, 0.9]}}}}\n\
             costs: {{egress_per_gb: {{choice: [0.05, 0.09]}}}}\n"
        );
        let file = ScenarioFile::parse(&yaml, "t").unwrap();
        let runs: Vec<_> = (0..8).map(|run| file.scenario(run).unwrap()).collect();
        let efficiencies: Vec<f64> = runs.iter().map(|s| s.replica.efficiencies.memory).collect();
        assert!(efficiencies.iter().all(|e| (0.7..0.9).contains(e)));
        assert!(efficiencies.windows(2).any(|w| w[0] != w[1]), "runs differ");
        let inputs = &runs[3].inputs;
        assert_eq!(inputs.len(), 2);
        assert_eq!(inputs[0].field, "perf.memory_efficiency");
        assert_eq!(inputs[0].value, runs[3].replica.efficiencies.memory);
        assert_eq!(inputs[1].distribution, "choice(0.05, 0.09)");
        // The same run draws the same values.
        assert_eq!(file.scenario(3).unwrap().inputs, runs[3].inputs);
    }

    #[test]
    fn an_out_of_range_draw_names_its_distribution_and_run() {
        let yaml =
            format!("{BASE}perf: {{memory_efficiency: {{normal: {{mean: 0.95, sd: 0.2}}}}}}\n");
        let file = crate::scenario::ScenarioFile::parse(&yaml, "t").unwrap();
        let err = (0..50)
            .find_map(|run| file.scenario(run).err())
            .expect("some run draws above 1");
        let text = err.to_string();
        assert!(
            text.contains("perf.memory_efficiency: expected a fraction"),
            "{text}"
        );
        assert!(
            text.contains("(drawn from normal(0.95, 0.2) in run "),
            "{text}"
        );
    }

    #[test]
    fn a_variant_replaces_the_servers_and_scales_the_load_with_the_same_draws() {
        use crate::scenario::{ScenarioFile, Variant};
        let yaml = format!("{BASE}perf: {{memory_efficiency: {{uniform: [0.7, 0.9]}}}}\n");
        let mut file = ScenarioFile::parse(&yaml, "t").unwrap();
        let base = file.scenario(3).unwrap();
        file.set_variant(Variant {
            servers: Some(4),
            load: 2.5,
            ..Variant::default()
        });
        let variant = file.scenario(3).unwrap();
        assert_eq!(variant.fleet.servers, 4);
        assert_eq!(variant.fleet.replicas, 4 * base.fleet.replicas);
        assert_eq!(variant.workload.mean_rate(), Some(5.0));
        assert_eq!(variant.inputs, base.inputs, "the same draws");
        let closed = BASE.replace("rate: 2/s", "concurrency: 3");
        let mut file = ScenarioFile::parse(&closed, "t").unwrap();
        file.set_variant(Variant {
            load: 0.1,
            ..Variant::default()
        });
        let s = file.scenario(0).unwrap();
        assert_eq!(
            s.workload.arrivals,
            crate::workload::Arrivals::Closed {
                clients: 1,
                think: 0.0
            },
            "at least one client"
        );
    }

    #[test]
    fn a_variant_gpu_takes_the_place_of_the_scenarios_with_its_own_prices() {
        use crate::cost::Hardware;
        use crate::scenario::spec::SweepGpuSpec;
        use crate::scenario::{GpuVariant, ScenarioFile, Value, Variant};
        let on_demand = |s: &crate::scenario::Scenario| match s.prices.hardware {
            Hardware::Rented { on_demand_usd, .. } => on_demand_usd,
            Hardware::Owned { server_usd, .. } => server_usd,
        };
        let swept = |spec: SweepGpuSpec| Variant {
            gpu: Some(GpuVariant {
                spec,
                field: "sweep.gpus[0]".into(),
            }),
            ..Variant::default()
        };
        let yaml = format!("{BASE}perf: {{memory_efficiency: {{uniform: [0.7, 0.9]}}}}\n");
        let mut file = ScenarioFile::parse(&yaml, "t").unwrap();
        let base = file.scenario(2).unwrap();
        file.set_variant(swept(SweepGpuSpec::id("H200")));
        let h200 = file.scenario(2).unwrap();
        assert_eq!(h200.replica.gpu.id, "h200");
        assert_eq!(h200.inputs, base.inputs, "the same draws");
        assert_eq!(on_demand(&h200), 3.85, "the catalog's price");
        file.set_variant(swept(SweepGpuSpec {
            gpu_hour: Some(Value::Fixed(3.0)),
            ..SweepGpuSpec::id("h200")
        }));
        assert_eq!(on_demand(&file.scenario(0).unwrap()), 3.0);

        let owned = format!("{BASE}costs: {{hardware: {{owned: {{server_price: 300000}}}}}}\n");
        let mut file = ScenarioFile::parse(&owned, "t").unwrap();
        file.set_variant(swept(SweepGpuSpec::id("h100-sxm")));
        assert_eq!(
            on_demand(&file.scenario(0).unwrap()),
            300000.0,
            "the scenario's own GPU"
        );
        file.set_variant(swept(SweepGpuSpec::id("h200")));
        let err = file.scenario(0).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("sweep.gpus[0]"));
        assert!(
            err.message.contains("H200 SXM needs its own server_price"),
            "{err}"
        );
        file.set_variant(swept(SweepGpuSpec {
            server_price: Some(Value::Fixed(380000.0)),
            ..SweepGpuSpec::id("h200")
        }));
        assert_eq!(on_demand(&file.scenario(0).unwrap()), 380000.0);
    }

    #[test]
    fn a_model_that_does_not_fit_says_so() {
        let err = from_yaml(&BASE.replace("llama-3.1-8b", "llama-3.1-70b"), "t").unwrap_err();
        assert!(err.does_not_fit, "{err}");
        assert!(
            !from_yaml(&BASE.replace("servers: 1", "servers: 0"), "t")
                .unwrap_err()
                .does_not_fit
        );
    }

    #[test]
    fn run_loads_scale_each_run_on_top_of_the_variant() {
        use crate::scenario::{ScenarioFile, Variant};
        let mut file = ScenarioFile::parse(BASE, "t").unwrap();
        file.set_variant(Variant {
            load: 2.0,
            ..Variant::default()
        });
        file.set_run_loads(Some(vec![1.0, 1.5]));
        let rate = |file: &ScenarioFile, run| file.scenario(run).unwrap().workload.mean_rate();
        assert_eq!(rate(&file, 0), Some(4.0));
        assert_eq!(rate(&file, 1), Some(6.0));
        assert_eq!(
            rate(&file, 2),
            Some(4.0),
            "runs beyond the list: the variant's load"
        );
        file.set_run_loads(None);
        assert_eq!(rate(&file, 1), Some(4.0));
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
        let uncertain = yaml.replace(
            "memory_bandwidth: 500GB/s",
            "memory_bandwidth: {uniform: [400GB/s, 600GB/s]}",
        );
        let drawn = crate::scenario::ScenarioFile::parse(&uncertain, "t")
            .unwrap()
            .scenario(2)
            .unwrap();
        let bandwidth = drawn.replica.gpu.memory_bandwidth.0;
        assert!((400e9..600e9).contains(&bandwidth));
        assert_eq!(drawn.inputs[0].field, "hardware.gpu.memory_bandwidth");
    }
}
