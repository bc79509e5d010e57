//! From the day's traffic to the work of the GPUs: tokens per day, then the FLOPs, bytes and
//! GPU-seconds of the prefill and decode steps that process them.
//!
//! Each phase is one representative step, priced by [`PerfModel::step`] exactly as the
//! simulator prices its steps, repeated as often as the day's tokens need:
//!
//! - **prefill**: whole prompts of the mean length `P̄`, as many as the step budget holds
//!   (`⌊max_tokens_per_step ÷ P̄⌋`, from 1 to `max_seqs`), each with its causal attention
//!   pairs `E[P(P+1)/2]` and one sampled token (a request's first output token);
//! - **decode**: the full batch `B = min(max_seqs, ⌊KV capacity ÷ (c̄ + 1)⌋)`, each sequence
//!   adding one token after `c̄` cached ones, where `c̄` is the mean context a decoded token
//!   attends to.
//!
//! FLOPs and KV-cache traffic are linear in tokens, context and attention pairs, so they do
//! not depend on how the tokens are cut into steps. Weight reads, the LM head read and the
//! fixed step overhead are paid once per step, so they do: full batches pay the least of
//! them, and the estimate is the day's work at its most efficient. A prompt longer than the
//! step budget is priced as one step (its chunks' extra weight reads and overheads are small
//! beside its compute).

use super::steps::{Section, Unit, num};
use crate::perf_model::{PerfModel, StepCost, StepWork};
use crate::scenario::Scenario;
use crate::units::{Watts, si};

/// Seconds in a day.
pub const DAY_S: f64 = 86_400.0;

/// The day's traffic in mean figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Traffic {
    /// Requests per day.
    pub requests_per_day: f64,
    /// Mean prompt length, tokens (`P̄`).
    pub prompt_mean: f64,
    /// Mean squared prompt length, tokens².
    pub prompt_mean_square: f64,
    /// Mean output length, tokens (`Ō`).
    pub output_mean: f64,
    /// Mean squared output length, tokens².
    pub output_mean_square: f64,
}

impl Traffic {
    /// Prompt tokens per day.
    pub fn prompt_tokens_per_day(&self) -> f64 {
        self.requests_per_day * self.prompt_mean
    }

    /// Output tokens per day.
    pub fn output_tokens_per_day(&self) -> f64 {
        self.requests_per_day * self.output_mean
    }

    /// Tokens decode steps process per day: all output tokens but each request's first,
    /// which its last prefill step samples.
    pub fn decode_tokens_per_day(&self) -> f64 {
        self.requests_per_day * (self.output_mean - 1.0).max(0.0)
    }

    /// Mean causal (query, key) pairs of one prompt's prefill, `E[P(P+1)/2]`.
    pub fn prefill_pairs_per_prompt(&self) -> f64 {
        (self.prompt_mean_square + self.prompt_mean) / 2.0
    }

    /// `E[(O−1)(O−2)]`: twice the context that a request's own output adds up over its
    /// decode steps.
    fn output_pairs(&self) -> f64 {
        (self.output_mean_square - 3.0 * self.output_mean + 2.0).max(0.0)
    }

    /// Mean cached context a decoded token attends to: decode step `j` of a request
    /// (`j = 1 … O−1`) sees `P + j − 1` cached tokens, so over the day
    /// `c̄ = E[(O−1)·P + (O−1)(O−2)/2] ÷ E[O−1]`, prompts and outputs independent.
    pub fn decode_context(&self) -> f64 {
        let decode_steps = self.output_mean - 1.0;
        if decode_steps <= 0.0 {
            return self.prompt_mean;
        }
        self.prompt_mean + self.output_pairs() / (2.0 * decode_steps)
    }
}

/// The day's traffic and the section that shows it; `given` is `--requests-per-day`.
pub fn traffic(s: &Scenario, given: Option<f64>) -> Option<(Traffic, Section)> {
    let w = &s.workload;
    let mut section = Section::new("traffic");
    let requests_per_day = match (given, w.mean_rate()) {
        (Some(per_day), _) => {
            section.step(
                "requests/day",
                "given (--requests-per-day)",
                "",
                per_day,
                Unit::Of("requests"),
            );
            per_day
        }
        (None, Some(rate)) => {
            let per_day = rate * DAY_S;
            section.step(
                "requests/day",
                "mean arrival rate × 86,400 s",
                format!("{}/s × 86,400 s", num(rate)),
                per_day,
                Unit::Of("requests"),
            );
            per_day
        }
        (None, None) => return None,
    };
    let t = Traffic {
        requests_per_day,
        prompt_mean: w.prompt_tokens.mean(),
        prompt_mean_square: w.prompt_tokens.mean_square(),
        output_mean: w.output_tokens.mean(),
        output_mean_square: w.output_tokens.mean_square(),
    };
    section.step(
        "mean prompt P̄",
        format!("E[{}]", w.prompt_tokens),
        "",
        t.prompt_mean,
        Unit::Of("tokens"),
    );
    section.step(
        "mean output Ō",
        format!("E[{}]", w.output_tokens),
        "",
        t.output_mean,
        Unit::Of("tokens"),
    );
    section.step(
        "prompt tokens/day",
        "requests/day × P̄",
        format!("{} × {}", num(requests_per_day), num(t.prompt_mean)),
        t.prompt_tokens_per_day(),
        Unit::Of("tokens"),
    );
    section.step(
        "output tokens/day",
        "requests/day × Ō",
        format!("{} × {}", num(requests_per_day), num(t.output_mean)),
        t.output_tokens_per_day(),
        Unit::Of("tokens"),
    );
    section.step(
        "decode tokens/day",
        "requests/day × (Ō − 1)",
        format!("{} × {}", num(requests_per_day), num(t.output_mean - 1.0)),
        t.decode_tokens_per_day(),
        Unit::Of("tokens"),
    );
    Some((t, section))
}

/// One phase of the day's work: a representative step and how often it runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Phase {
    /// Sequences in the step: prompts of a prefill step, or the decode batch.
    pub sequences: u64,
    /// The step's work.
    pub work: StepWork,
    /// What the perf model says it costs.
    pub cost: StepCost,
    /// Steps per day.
    pub steps_per_day: f64,
    /// FLOPs per day, all GPUs together.
    pub flops_per_day: f64,
    /// Bytes moved in GPU memory per day.
    pub bytes_per_day: f64,
    /// GPU-seconds the FLOPs take at the peak of the weight format × `η_compute`.
    pub compute_gpu_s: f64,
    /// GPU-seconds the bytes take at the memory bandwidth × `η_memory`.
    pub memory_gpu_s: f64,
    /// GPU-seconds of the steps as the perf model times them: per operator class the
    /// slower of compute and memory, plus collectives and the fixed step overhead.
    pub gpu_s: f64,
    /// Power of a GPU during the step, from its activity.
    pub step_power: Watts,
}

/// Prices `steps_per_day` steps of `work` for a replica of `s`.
fn phase(
    s: &Scenario,
    perf: &PerfModel,
    sequences: u64,
    work: StepWork,
    steps_per_day: f64,
) -> Phase {
    let gpus = f64::from(s.replica.parallelism.gpus());
    let eff = s.replica.efficiencies;
    let cost = perf.step(&work);
    let flops_per_day = steps_per_day * cost.flops.0;
    let bytes_per_day = steps_per_day * cost.memory_bytes.0;
    let step_power = if cost.time.0 > 0.0 {
        s.gpu_power.power(perf.activity(&cost, cost.time))
    } else {
        s.gpu_power.idle
    };
    Phase {
        sequences,
        work,
        cost,
        steps_per_day,
        flops_per_day,
        bytes_per_day,
        compute_gpu_s: flops_per_day / (perf.replica_peak().0 / gpus * eff.compute),
        memory_gpu_s: bytes_per_day / (s.replica.gpu.memory_bandwidth.0 * eff.memory),
        gpu_s: steps_per_day * cost.time.0 * gpus,
        step_power,
    }
}

/// The prefill phase and its section.
pub fn prefill(s: &Scenario, perf: &PerfModel, t: &Traffic) -> (Phase, Section) {
    let budget = f64::from(s.scheduler.max_tokens_per_step);
    let prompts = ((budget / t.prompt_mean).floor() as u64).clamp(1, s.scheduler.max_seqs.into());
    let n = prompts as f64;
    let work = StepWork {
        tokens: ((n * t.prompt_mean).round() as u64).max(1),
        cached_context: 0,
        attention_pairs: (n * t.prefill_pairs_per_prompt()).round() as u64,
        logits: prompts,
    };
    let steps = t.prompt_tokens_per_day() / work.tokens as f64;
    let p = phase(s, perf, prompts, work, steps);
    let mut section = Section::new("prefill");
    section.step(
        "prompts per step",
        "⌊max_tokens_per_step ÷ P̄⌋, 1 to max_seqs",
        format!("⌊{} ÷ {}⌋", num(budget), num(t.prompt_mean)),
        n,
        Unit::Of("prompts"),
    );
    section.step(
        "attention pairs",
        "prompts × E[P(P+1)/2]",
        format!("{} × {}", num(n), num(t.prefill_pairs_per_prompt())),
        work.attention_pairs as f64,
        Unit::Of("pairs"),
    );
    section.step(
        "steps/day",
        "prompt tokens/day ÷ tokens per step",
        format!(
            "{} ÷ {}",
            num(t.prompt_tokens_per_day()),
            num(work.tokens as f64)
        ),
        steps,
        Unit::Of("steps"),
    );
    phase_steps(&mut section, s, perf, &p);
    (p, section)
}

/// The decode phase and its section.
pub fn decode(s: &Scenario, perf: &PerfModel, t: &Traffic) -> (Phase, Section) {
    let context = t.decode_context();
    let kv_tokens = s.kv_blocks_per_replica * u64::from(s.kv_block_tokens);
    let fit = (kv_tokens as f64 / (context + 1.0)).floor() as u64;
    let batch = fit.min(s.scheduler.max_seqs.into()).max(1);
    let cached = (batch as f64 * context).round() as u64;
    let work = StepWork {
        tokens: batch,
        cached_context: cached,
        attention_pairs: cached + batch,
        logits: batch,
    };
    let steps = t.decode_tokens_per_day() / batch as f64;
    let p = phase(s, perf, batch, work, steps);
    let mut section = Section::new("decode");
    section.step(
        "mean context c̄",
        "P̄ + E[(O−1)(O−2)] ÷ (2·(Ō − 1))",
        format!(
            "{} + {} ÷ (2 × {})",
            num(t.prompt_mean),
            num(t.output_pairs()),
            num(t.output_mean - 1.0)
        ),
        context,
        Unit::Of("tokens"),
    );
    section.step(
        "batch B",
        "min(max_seqs, ⌊KV capacity ÷ (c̄ + 1)⌋)",
        format!(
            "min({}, ⌊{} ÷ {}⌋)",
            s.scheduler.max_seqs,
            num(kv_tokens as f64),
            num(context + 1.0)
        ),
        batch as f64,
        Unit::Of("sequences"),
    );
    section.step(
        "steps/day",
        "decode tokens/day ÷ B",
        format!("{} ÷ {}", num(t.decode_tokens_per_day()), batch),
        steps,
        Unit::Of("steps"),
    );
    phase_steps(&mut section, s, perf, &p);
    (p, section)
}

/// The steps every phase shows: its step's time, the day's FLOPs and bytes, their
/// rooflines, the GPU-seconds and the GPUs' power in the step.
fn phase_steps(section: &mut Section, s: &Scenario, perf: &PerfModel, p: &Phase) {
    let w = &p.work;
    let eff = s.replica.efficiencies;
    let gpus = s.replica.parallelism.gpus();
    let peak = perf.replica_peak().0 / f64::from(gpus);
    section.step(
        "step time",
        "perf model: Σ classes max(compute, memory) + collectives + overhead",
        format!(
            "{} new tokens, {} cached, {} pairs, {} logits",
            num(w.tokens as f64),
            num(w.cached_context as f64),
            num(w.attention_pairs as f64),
            num(w.logits as f64)
        ),
        p.cost.time.0 * 1e3,
        Unit::Of("ms"),
    );
    section.step(
        "FLOPs/day",
        "steps/day × FLOPs per step",
        format!("{} × {}", num(p.steps_per_day), num(p.cost.flops.0)),
        p.flops_per_day,
        Unit::Of("FLOP"),
    );
    section.step(
        "bytes/day",
        "steps/day × bytes per step (weights, KV cache, LM head)",
        format!("{} × {}", num(p.steps_per_day), num(p.cost.memory_bytes.0)),
        p.bytes_per_day,
        Unit::Of("B"),
    );
    section.step(
        "compute time",
        "FLOPs/day ÷ (peak × η_compute)",
        format!(
            "{} ÷ ({} × {})",
            num(p.flops_per_day),
            si(peak, "FLOPS"),
            num(eff.compute)
        ),
        p.compute_gpu_s,
        Unit::Of("GPU-s"),
    );
    section.step(
        "memory time",
        "bytes/day ÷ (bandwidth × η_memory)",
        format!(
            "{} ÷ ({} × {})",
            num(p.bytes_per_day),
            si(s.replica.gpu.memory_bandwidth.0, "B/s"),
            num(eff.memory)
        ),
        p.memory_gpu_s,
        Unit::Of("GPU-s"),
    );
    section.step(
        "GPU time",
        "steps/day × step time × GPUs per replica",
        format!(
            "{} × {} ms × {gpus}",
            num(p.steps_per_day),
            num(p.cost.time.0 * 1e3)
        ),
        p.gpu_s,
        Unit::Of("GPU-s"),
    );
    let roofline = p.compute_gpu_s.max(p.memory_gpu_s);
    section.step(
        "beyond the roofline",
        "GPU time − max(compute, memory time)",
        format!("{} − {}", num(p.gpu_s), num(roofline)),
        p.gpu_s - roofline,
        Unit::Of("GPU-s"),
    );
    let power = s.gpu_power;
    let activity = if p.cost.time.0 > 0.0 {
        perf.activity(&p.cost, p.cost.time)
    } else {
        crate::perf_model::Activity {
            compute: 0.0,
            memory: 0.0,
        }
    };
    section.step(
        "GPU power in a step",
        "P_floor + (TDP − P_floor) × min(1, w_c·u_c + w_m·u_m)",
        format!(
            "{} + ({} − {}) × min(1, {} × {} + {} × {})",
            num(power.active_floor.0),
            num(power.tdp.0),
            num(power.active_floor.0),
            num(power.compute_weight),
            num(activity.compute),
            num(power.memory_weight),
            num(activity.memory)
        ),
        p.step_power.0,
        Unit::Of("W"),
    );
}
