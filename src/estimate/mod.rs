//! `fleetsim estimate`: a scenario's day in closed form, without simulating it, each step
//! printed with its formula and its numbers so that the bill can be checked by hand.
//!
//! ```text
//! requests/day × mean prompt and output ─► prompt, output and decode tokens/day
//!   ─► a prefill and a decode step (perf model) ─► FLOPs, bytes and GPU-seconds/day
//!   ─► GPUs needed at a target utilisation; how busy the scenario's fleet is
//!   ─► GPU power (power model), server power, PUE (facility) ─► kWh/day
//!   ─► cost per day by category (cost ledger), per 1k requests, per 1M output tokens
//! ```
//!
//! Every link calls the model `fleetsim run` uses: [`PerfModel::step`] prices the steps
//! ([`work`] says which), [`GpuPowerModel`](crate::facility::GpuPowerModel) turns their
//! activity into watts, [`Facility`](crate::facility::Facility) adds the servers and the
//! PUE, and [`cost::ledger`](fn@crate::cost::ledger) writes the same bill lines.
//!
//! What the closed form leaves out is what the simulator is for: queueing, the batches the
//! load really forms (the estimate assumes full ones), latency targets, failures and
//! requests in flight at the horizon. [`compare()`](fn@compare) sets the two side by side. Further
//! assumptions: uncertain values take run 0's draw (as `fleetsim check` shows them); the
//! estimate covers one day whatever the scenario's horizon, hour `h` carrying the diurnal
//! weight `w_h` of the day's work (an hour cannot be busier than all its GPUs); a closed
//! loop has no offered rate, so its volume must be given ([`Options::requests_per_day`]).

pub mod compare;
pub mod fleet;
pub mod render;
pub mod steps;
pub mod work;

pub use compare::{Comparison, ComparisonRow, Simulated, compare, read_summary};
pub use fleet::{FleetDay, Work};
pub use steps::{Section, Step, Unit};
pub use work::{Phase, Traffic};

use crate::error::InputError;
use crate::fleet::FleetLayout;
use crate::perf_model::PerfModel;
use crate::scenario::Scenario;
use crate::units::Watts;
use steps::num;
use work::DAY_S;

/// The default target utilisation: half of the GPU-time doing work at full batches. Full
/// batches are the throughput ceiling of continuous batching, reached only under a deep
/// queue; a fleet sized to be busy all day at the mean load could not absorb the daily peak
/// (1.5× the mean for a peak-to-trough ratio of 3) nor keep queues short. At one half, the
/// busiest hour of such a day runs at 75%. Tight latency targets call for less.
pub const DEFAULT_UTILIZATION: f64 = 0.5;

/// What the estimate may be told beyond the scenario.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// Target share of GPU-time doing work at full batches, in (0, 1]: sizes the needed
    /// fleet.
    pub utilization: f64,
    /// Requests per day instead of the workload's volume; required for a closed loop.
    pub requests_per_day: Option<f64>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            utilization: DEFAULT_UTILIZATION,
            requests_per_day: None,
        }
    }
}

/// A scenario's day in closed form.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// The scenario's name.
    pub scenario: String,
    /// Model, formats and fleet in words.
    pub title: String,
    /// The target utilisation the needed fleet was sized for.
    pub utilization: f64,
    /// The day's traffic.
    pub traffic: Traffic,
    /// The prefill steps.
    pub prefill: Phase,
    /// The decode steps.
    pub decode: Phase,
    /// Both together.
    pub work: Work,
    /// GPUs whose time the work fills to the target utilisation (a fraction).
    pub gpus_needed: f64,
    /// The scenario's fleet doing the work.
    pub scenario_fleet: FleetDay,
    /// The smallest fleet of whole replicas and servers with at least `gpus_needed` GPUs.
    pub needed_fleet: FleetDay,
    /// Every step, in order, for printing.
    pub sections: Vec<Section>,
    /// Warnings: what the closed form cannot honour.
    pub notes: Vec<String>,
}

/// Estimates the day of `s` in closed form.
///
/// # Errors
///
/// A closed-loop workload without [`Options::requests_per_day`] (it has no offered rate), a
/// utilisation outside (0, 1] or a negative volume.
pub fn estimate(s: &Scenario, options: &Options) -> Result<Estimate, InputError> {
    let u = options.utilization;
    if !(u.is_finite() && u > 0.0 && u <= 1.0) {
        return Err(InputError::field(
            "--utilization",
            format!("expected a share of GPU-time above 0 and at most 1, got {u}"),
        ));
    }
    if let Some(per_day) = options.requests_per_day {
        if !(per_day.is_finite() && per_day >= 0.0) {
            return Err(InputError::field(
                "--requests-per-day",
                format!("expected a number of requests ≥ 0, got {per_day}"),
            ));
        }
    }
    let (traffic, traffic_section) =
        work::traffic(s, options.requests_per_day).ok_or_else(|| {
            InputError::field(
                "workload.concurrency",
                "a closed loop has no offered rate: its throughput is whatever the fleet \
                 sustains, which takes a simulation; give --requests-per-day (for example the \
                 requests completed per day in `fleetsim run`)",
            )
        })?;
    let perf = PerfModel::new(&s.replica);
    let (prefill, prefill_section) = work::prefill(s, &perf, &traffic);
    let (decode, decode_section) = work::decode(s, &perf, &traffic);
    let gpu_s = prefill.gpu_s + decode.gpu_s;
    let step_power = if gpu_s > 0.0 {
        (prefill.step_power.0 * prefill.gpu_s + decode.step_power.0 * decode.gpu_s) / gpu_s
    } else {
        s.gpu_power.idle.0
    };
    let work = Work {
        gpu_s,
        step_power: Watts(step_power),
    };
    let gpus_needed = gpu_s / (DAY_S * u);
    let needed_layout = needed_layout(s, gpus_needed);
    let peak = perf.replica_peak().0;
    let scenario_fleet = fleet::fleet_day(s, peak, s.fleet, &work, &traffic);
    let needed_fleet = fleet::fleet_day(s, peak, needed_layout, &work, &traffic);

    let mut notes = Vec::new();
    if scenario_fleet.peak_load > 1.0 {
        notes.push(format!(
            "the scenario's {} GPUs cannot carry the busiest hour even at full batches (it \
             needs {:.0}% of their time); the estimate counts such hours as 100% busy and the \
             simulation will queue",
            s.fleet.gpus(),
            scenario_fleet.peak_load * 100.0
        ));
    }
    let mut e = Estimate {
        scenario: s.name.clone(),
        title: format!(
            "{} ({} weights, {} KV cache) on {}, tp {} × pp {}",
            s.replica.model.name,
            s.replica.weights,
            s.replica.kv_cache,
            fleet::describe(s, &s.fleet),
            s.replica.parallelism.tensor,
            s.replica.parallelism.pipeline
        ),
        utilization: u,
        traffic,
        prefill,
        decode,
        work,
        gpus_needed,
        scenario_fleet,
        needed_fleet,
        sections: Vec::new(),
        notes,
    };
    e.sections = vec![
        traffic_section,
        prefill_section,
        decode_section,
        sizing_section(s, &e),
        fleet::power_section(s, &e.scenario_fleet, &e.work),
        fleet::cost_section(s, &e.scenario_fleet, &e.traffic),
    ];
    if e.needed_fleet.layout != s.fleet {
        let needed = fleet::needed_section(s, &e.needed_fleet, &e.work, &e.traffic, u);
        e.sections.push(needed);
    }
    Ok(e)
}

/// The `fleet size` section of `e`: the work, the GPUs it needs, how busy the scenario's
/// fleet is.
fn sizing_section(s: &Scenario, e: &Estimate) -> Section {
    let (prefill, decode, ours) = (&e.prefill, &e.decode, &e.scenario_fleet);
    let (gpu_s, step_power, u) = (e.work.gpu_s, e.work.step_power.0, e.utilization);
    let (gpus_needed, needed_layout) = (e.gpus_needed, &e.needed_fleet.layout);
    let mut sizing = Section::new("fleet size");
    sizing.step(
        "work",
        "prefill + decode GPU time",
        format!("{} + {}", num(prefill.gpu_s), num(decode.gpu_s)),
        gpu_s,
        Unit::Of("GPU-s"),
    );
    sizing.step(
        "step power",
        "(prefill GPU-s × its power + decode GPU-s × its power) ÷ work",
        format!(
            "({} × {} W + {} × {} W) ÷ {}",
            num(prefill.gpu_s),
            num(prefill.step_power.0),
            num(decode.gpu_s),
            num(decode.step_power.0),
            num(gpu_s)
        ),
        step_power,
        Unit::Of("W"),
    );
    sizing.step(
        "GPUs needed",
        "work ÷ (86,400 s × target utilisation)",
        format!("{} ÷ (86,400 s × {})", num(gpu_s), num(u)),
        gpus_needed,
        Unit::Of("GPUs"),
    );
    let per_replica = s.replica.parallelism.gpus();
    sizing.step(
        "fleet needed",
        "whole replicas of tp × pp GPUs, in whole servers",
        format!(
            "⌈{} ÷ {per_replica}⌉ replicas → {}",
            num(gpus_needed),
            fleet::describe(s, needed_layout)
        ),
        needed_layout.gpus() as f64,
        Unit::Of("GPUs"),
    );
    sizing.step(
        "scenario's fleet",
        "servers × GPUs per server",
        format!(
            "{} × {}",
            num(s.fleet.servers as f64),
            s.fleet.gpus_per_server
        ),
        s.fleet.gpus() as f64,
        Unit::Of("GPUs"),
    );
    let load = gpu_s / (s.fleet.gpus() as f64 * DAY_S);
    sizing.step(
        "GPU busy",
        "work ÷ (GPUs × 86,400 s), each hour at most 100%",
        format!(
            "{} ÷ ({} × 86,400 s)",
            num(gpu_s),
            num(s.fleet.gpus() as f64)
        ),
        ours.busy,
        Unit::Share,
    );
    sizing.step(
        "busiest hour",
        "work ÷ (GPUs × 86,400 s) × the busiest hour's weight",
        format!("{:.2}% × {}", load * 100.0, num(fleet::peak_weight(s))),
        ours.peak_load,
        Unit::Share,
    );

    sizing
}

/// The smallest valid layout of the scenario's servers and parallelism with at least
/// `gpus` GPUs and one replica.
fn needed_layout(s: &Scenario, gpus: f64) -> FleetLayout {
    let parallelism = s.replica.parallelism;
    let per_replica = f64::from(parallelism.gpus());
    let per_server = s.fleet.gpus_per_server;
    let replicas = (gpus / per_replica).ceil().max(1.0);
    let servers = (replicas * per_replica / f64::from(per_server))
        .ceil()
        .max(1.0) as u64;
    // A replica spanning k servers needs a multiple of k servers: at most k − 1 more.
    (servers..=servers.saturating_add(u64::from(parallelism.gpus())))
        .find_map(|n| FleetLayout::new(n, per_server, parallelism).ok())
        .unwrap_or(s.fleet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::from_yaml;

    /// A day small enough to work by hand: the perf-model tests' toy model on a GPU of round
    /// numbers, fixed lengths, flat traffic, every price set.
    const HAND: &str = "
name: hand
workload:
  requests_per_day: 8.64e6
  prompt_tokens: 1000
  output_tokens: 101
model:
  {id: toy, name: Toy, layers: 2, hidden: 1024, heads: 8, kv_heads: 8, ffn: 4096, mlp: plain,
   vocab: 1000, context: 4096}
hardware:
  gpu:
    id: round
    name: Round GPU
    memory: 80GB
    memory_bandwidth: 1TB/s
    tensor: {fp16: 100TFLOPS, bf16: 100TFLOPS}
    tdp: 500W
    idle_power: 50W
    scale_up_link: 200GB/s
    step_power: {floor: 100W, compute_weight: 1, memory_weight: 1}
  gpus_per_server: 4
  server:
    components:
      - {name: box, count: 1, static: 200W, dynamic: 100W}
fleet: {servers: 2}
scheduler: {max_seqs: 10, max_tokens_per_step: 2000}
perf: {compute_efficiency: 0.5, memory_efficiency: 0.5, step_overhead: 1ms}
facility: {pue: 1.5, cooling_share: 0.6}
costs:
  hardware: {rented: {gpu_hour: 2, includes_facility: false}}
  energy: {price_per_kwh: 0.1}
  egress_per_gb: 0.05
  colocation_per_kw_month: 100
  fixed_per_day: {staff: 50}
";

    fn close(a: f64, b: f64) -> bool {
        ((a - b) / b).abs() < 1e-6
    }

    fn hand() -> Estimate {
        estimate(&from_yaml(HAND, "hand").unwrap(), &Options::default()).unwrap()
    }

    fn line(day: &FleetDay, category: &str) -> f64 {
        day.cost
            .by_category
            .iter()
            .find(|(c, _)| *c == category)
            .map_or(0.0, |(_, usd)| *usd)
    }

    /// The toy model: `N = 2·(4·1024² + 2·1024·4096) = 25,165,824` weights per token
    /// (50,331,648 B), LM head 1024·1000 (2,048,000 B), KV 2 layers · 2·8·128 · 2 B = 8,192 B
    /// per token, attention 2 layers · 4·8·128 = 8,192 FLOPs per pair. At η 0.5 the GPU does
    /// 50 TFLOPS and 0.5 TB/s; each step adds 1 ms.
    ///
    /// Traffic: 8.64e6 requests × (1000 prompt, 101 output) = 8.64e9 prompt, 8.7264e8 output
    /// and 8.64e8 decode tokens a day.
    ///
    /// Prefill: ⌊2000 ÷ 1000⌋ = 2 prompts a step, 2000 tokens, 2 · 500,500 pairs, 2 logits:
    /// matmul 2N·2000 ÷ 50e12 = 2.01326592 ms (its weights: 0.10 ms), attention
    /// 8192 · 1,001,000 ÷ 50e12 = 0.16400384 ms (KV writes: 0.03 ms), head 2,048,000 B ÷
    /// 0.5e12 = 0.004096 ms, + 1 ms = 3.18136576 ms; 8.64e9 ÷ 2000 = 4,320,000 steps →
    /// 13,743.500 GPU-s. A step does 108,867,584,000 FLOPs and moves 68,763,648 B:
    /// u_c = 0.342204, u_m = 0.021615, so 100 + 400 · 0.363818 = 245.527 W.
    ///
    /// Decode: c̄ = 1000 + 100·99 ÷ (2·100) = 1049.5, batch min(10, KV) = 10, 10,495 cached,
    /// 10,505 pairs: weights 50,331,648 B ÷ 0.5e12 = 0.100663296 ms, KV 8192 · 10,505 ÷ 0.5e12
    /// = 0.17211392 ms, head 0.004096 ms, + 1 ms = 1.276873216 ms; 8.64e8 ÷ 10 = 86,400,000
    /// steps → 110,321.846 GPU-s. A step does 609,853,440 FLOPs and moves 138,436,608 B:
    /// u_c = 0.004776, u_m = 0.108418, so 145.278 W.
    ///
    /// Work 124,065.346 GPU-s: 2.872 GPUs at 50%, so 3 replicas in 1 server of 4. The 8 GPUs
    /// are busy 124,065.346 ÷ 691,200 = 17.9493% at a step power of (245.527 · 13,743.5 +
    /// 145.278 · 110,321.8) ÷ 124,065.3 = 156.383 W: a GPU draws 50 + 106.383 · 0.179493 =
    /// 69.095 W, a server 200 + 100 · 0.179493 = 217.949 W; IT 8 · 69.095 + 2 · 217.949 =
    /// 988.66 W = 23.7278 kWh a day, facility × 1.5 = 35.5917 kWh.
    ///
    /// Bill: GPUs 8 · 24 h · $2 = $384; energy 35.5917 kWh · $0.1 = $3.5592; egress 8.7264e8 ·
    /// 200 B = 174.528 GB · $0.05 = $8.7264; colocation 2 · (4·500 + 300) W = 4.6 kW · $100 ·
    /// 12 ÷ 365 = $15.1233; staff $50. Total $461.4089.
    #[test]
    fn a_hand_computed_day_matches_to_the_cent() {
        let e = hand();
        let t = &e.traffic;
        assert_eq!(t.requests_per_day, 8.64e6);
        assert_eq!(t.prompt_tokens_per_day(), 8.64e9);
        assert_eq!(t.decode_tokens_per_day(), 8.64e8);
        assert_eq!(t.decode_context(), 1049.5);

        let p = &e.prefill;
        assert_eq!(p.sequences, 2);
        assert_eq!(p.work.attention_pairs, 1_001_000);
        assert_eq!(p.steps_per_day, 4_320_000.0);
        assert!(close(p.cost.time.0, 3.181_365_76e-3));
        assert_eq!(p.cost.flops.0, 108_867_584_000.0);
        assert_eq!(p.cost.memory_bytes.0, 68_763_648.0);
        assert!(close(p.gpu_s, 13_743.500_083));
        assert!(close(p.step_power.0, 245.527_371));

        let d = &e.decode;
        assert_eq!(d.sequences, 10);
        assert_eq!(d.work.cached_context, 10_495);
        assert_eq!(d.steps_per_day, 86_400_000.0);
        assert!(close(d.cost.time.0, 1.276_873_216e-3));
        assert!(close(d.gpu_s, 110_321.845_862));
        assert!(close(d.step_power.0, 145.277_837));

        assert!(close(e.work.gpu_s, 124_065.345_946));
        assert!(close(e.gpus_needed, 2.871_883));
        let fleet = &e.scenario_fleet;
        assert!(close(fleet.busy, 0.179_492_688));
        assert!(close(fleet.gpu_power.0, 69.094_990));
        assert!(close(fleet.energy.it_kwh, 23.727_803));
        assert!(close(fleet.energy.facility_kwh, 35.591_705));

        assert_eq!(line(fleet, "hardware"), 384.0);
        assert!(close(line(fleet, "energy"), 3.559_170));
        assert!(close(line(fleet, "network"), 8.7264));
        assert!(close(line(fleet, "facility"), 15.123_288));
        assert_eq!(line(fleet, "fixed"), 50.0);
        let total = fleet.cost.total_usd_per_day;
        assert_eq!((total * 100.0).round(), 46_141.0, "{total}");

        // The fleet for 50%: one server of 4, busy 35.90%, $192 of GPUs, $7.56 of space.
        let needed = &e.needed_fleet;
        assert_eq!(needed.layout.servers, 1);
        assert!(close(needed.busy, 0.358_985_376));
        assert_eq!(
            (needed.cost.total_usd_per_day * 100.0).round(),
            26_041.0,
            "{}",
            needed.cost.total_usd_per_day
        );
    }

    #[test]
    fn every_step_reads_name_formula_numbers_value() {
        let e = hand();
        let text = render::estimate_text(&e);
        for expected in [
            "requests/day      = mean arrival rate × 86,400 s = 100/s × 86,400 s = 8,640,000 requests",
            "prompts per step    = ⌊max_tokens_per_step ÷ P̄⌋, 1 to max_seqs = ⌊2,000 ÷ 1,000⌋ = 2 prompts",
            "steps/day           = decode tokens/day ÷ B = 864,000,000 ÷ 10 = 86,400,000 steps",
            "GPUs needed      = work ÷ (86,400 s × target utilisation) = 124,065 ÷ (86,400 s × 0.5) = 2.872 GPUs",
            "hardware: GPU rental, on demand = GPUs × 24 h × share × $ per GPU-hour = 8 × 24 h × 100% × $2.00 = $384.00",
            "total                           = sum of the lines = hardware $384.00 + energy $3.56 + network $8.73 + facility $15.12 + fixed $50.00 = $461.41",
            "the fleet needed at 50% utilisation: 1 server × 4 Round GPU",
        ] {
            assert!(text.contains(expected), "`{expected}` not in:\n{text}");
        }
        for section in &e.sections {
            for step in &section.steps {
                assert!(step.value.is_finite(), "{}: {}", section.title, step.name);
            }
        }
    }

    #[test]
    fn a_closed_loop_needs_a_daily_volume() {
        let closed = HAND.replace("requests_per_day: 8.64e6", "concurrency: 32");
        let s = from_yaml(&closed, "closed").unwrap();
        let err = estimate(&s, &Options::default()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("workload.concurrency"));
        assert!(err.message.contains("--requests-per-day"), "{err}");
        let given = Options {
            requests_per_day: Some(8.64e6),
            ..Options::default()
        };
        let total = estimate(&s, &given)
            .unwrap()
            .scenario_fleet
            .cost
            .total_usd_per_day;
        assert_eq!(
            (total * 100.0).round(),
            46_141.0,
            "the same day as the open stream"
        );
    }

    #[test]
    fn options_out_of_range_are_input_errors() {
        let s = from_yaml(HAND, "hand").unwrap();
        for utilization in [0.0, 1.5, f64::NAN] {
            let options = Options {
                utilization,
                ..Options::default()
            };
            let err = estimate(&s, &options).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("--utilization"));
        }
        let negative = Options {
            requests_per_day: Some(-1.0),
            ..Options::default()
        };
        assert!(estimate(&s, &negative).is_err());
    }

    #[test]
    fn no_traffic_leaves_an_idle_fleet_and_no_unit_costs() {
        let s = from_yaml(&HAND.replace("8.64e6", "0"), "idle").unwrap();
        let e = estimate(&s, &Options::default()).unwrap();
        assert_eq!(e.work.gpu_s, 0.0);
        assert_eq!(e.scenario_fleet.busy, 0.0);
        assert_eq!(e.scenario_fleet.gpu_power.0, 50.0);
        assert_eq!(e.scenario_fleet.cost.usd_per_1k_requests, None);
        assert_eq!(
            e.needed_fleet.layout.replicas, 4,
            "one server, the least fleet"
        );
        assert!(!render::estimate_text(&e).contains("NaN"));
    }

    #[test]
    fn an_overloaded_fleet_is_capped_hour_by_hour_and_flagged() {
        // 40× the hand day: 2.07e8 GPU-s of work a day on 8 GPUs, with a 3:1 daily cycle.
        let heavy = HAND.replace(
            "requests_per_day: 8.64e6",
            "requests_per_day: 3.456e8\n  diurnal: {peak_to_trough: 3}",
        );
        let e = estimate(&from_yaml(&heavy, "heavy").unwrap(), &Options::default()).unwrap();
        let fleet = &e.scenario_fleet;
        assert!(fleet.peak_load > 1.0);
        assert!(fleet.busy <= 1.0);
        assert!(
            e.notes[0].contains("cannot carry the busiest hour"),
            "{:?}",
            e.notes
        );
        assert!(e.needed_fleet.layout.gpus() as f64 >= e.gpus_needed);
        assert!((e.needed_fleet.busy - 0.5).abs() < 0.05);
    }

    #[test]
    fn replicas_spanning_servers_come_in_whole_groups() {
        let wide = HAND.replace(
            "fleet: {servers: 2}",
            "fleet: {servers: 2, tensor_parallel: 8}",
        );
        let s = from_yaml(&wide, "wide").unwrap();
        assert_eq!(s.fleet.replicas, 1);
        // 8 GPUs a replica over 4-GPU servers: 2.87 GPUs need one replica, two servers.
        let layout = needed_layout(&s, 2.87);
        assert_eq!((layout.servers, layout.replicas), (2, 1));
        let layout = needed_layout(&s, 9.0);
        assert_eq!((layout.servers, layout.replicas), (4, 2));
    }
}
