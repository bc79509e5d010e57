//! The time, FLOPs and bytes of one forward step of a replica: a roofline per operator
//! class, divided across tensor-parallel ranks, plus collectives and a fixed overhead.
//!
//! For each class (layer matrix products, attention, LM head) the time is
//! `max(FLOPs / (tp·peak·η_compute), bytes_per_rank / (bandwidth·η_memory))`; the classes run
//! one after the other. Tensor parallelism adds two all-reduces per layer, each moving
//! `2(tp−1)/tp · T·h·2` bytes over one direction of the link plus a fixed latency (the ring
//! algorithm's volume; Patarasuk & Yuan 2009). Pipeline stages run one after the other for a
//! batch (no micro-batch overlap), handing `T·h·2` bytes of activations across each stage
//! boundary. Activations are bf16 (2 bytes); activation traffic to memory is not counted.

use super::shape::ModelShape;
use crate::catalog::{Gpu, Model, Precision};
use crate::units::{Bytes, BytesPerSec, Flops, FlopsPerSec, Seconds, u64_to_f64};

/// Bytes per activation element exchanged between ranks and stages (bf16).
const ACTIVATION_BYTES: f64 = 2.0;

/// Tensor- and pipeline-parallel degrees of a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parallelism {
    /// Tensor-parallel degree: GPUs that split every layer.
    pub tensor: u32,
    /// Pipeline-parallel degree: stages of consecutive layers.
    pub pipeline: u32,
}

impl Parallelism {
    /// GPUs in one replica: `tp × pp`.
    pub fn gpus(&self) -> u32 {
        self.tensor * self.pipeline
    }
}

/// Achieved fractions of the hardware peaks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Efficiencies {
    /// Fraction of peak tensor throughput a matrix product reaches (`η_compute`).
    pub compute: f64,
    /// Fraction of peak memory bandwidth a streaming read reaches (`η_memory`).
    pub memory: f64,
    /// Fraction of link bandwidth a collective reaches (`η_link`).
    pub link: f64,
}

/// Fixed times that do not scale with the work.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Overheads {
    /// Per step: scheduling, sampling, kernel launches not hidden by CUDA graphs.
    pub step: Seconds,
    /// Per collective or pipeline hand-off: launch and synchronisation latency.
    pub collective: Seconds,
}

/// Everything the step model needs about a replica.
#[derive(Clone, Debug)]
pub struct ReplicaSetup {
    /// The model served.
    pub model: Model,
    /// The GPU it runs on.
    pub gpu: Gpu,
    /// Weight storage format.
    pub weights: Precision,
    /// KV-cache storage format.
    pub kv_cache: Precision,
    /// Tensor and pipeline degrees.
    pub parallelism: Parallelism,
    /// One-direction bandwidth per GPU of the link tensor-parallel all-reduces use.
    pub tensor_link: BytesPerSec,
    /// One-direction bandwidth per GPU of the link between pipeline stages.
    pub pipeline_link: BytesPerSec,
    /// Achieved fractions of peak.
    pub efficiencies: Efficiencies,
    /// Fixed per-step and per-collective times.
    pub overheads: Overheads,
}

/// The work of one step, as sums over the sequences in the batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepWork {
    /// New tokens processed: prefill chunk tokens plus one per decoding sequence (`T`).
    pub tokens: u64,
    /// Tokens already in the KV cache that the batch's attention reads (`Σ cᵢ`).
    pub cached_context: u64,
    /// Causal (query, key) pairs: a chunk of `n` tokens after `c` cached ones adds
    /// `n·c + n(n+1)/2`.
    pub attention_pairs: u64,
    /// Tokens whose logits are computed and sampled (one per sequence that emits a token).
    pub logits: u64,
}

impl StepWork {
    /// Adds a sequence that processes `new` tokens after `cached` tokens already in the
    /// cache, emitting a token if `emits`.
    pub fn add_sequence(&mut self, cached: u64, new: u64, emits: bool) {
        self.tokens += new;
        self.cached_context += cached;
        self.attention_pairs += new * cached + new * (new + 1) / 2;
        self.logits += u64::from(emits);
    }
}

/// What one step costs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepCost {
    /// Wall time of the step.
    pub time: Seconds,
    /// FLOPs over all GPUs of the replica.
    pub flops: Flops,
    /// Bytes read and written in GPU memory over all GPUs of the replica.
    pub memory_bytes: Bytes,
    /// Bytes tensor-parallel all-reduces carry over the links, all ranks together.
    pub tensor_link_bytes: Bytes,
    /// Bytes pipeline hand-offs carry between stages.
    pub pipeline_link_bytes: Bytes,
}

/// The step model of one replica configuration, with its constants worked out once.
#[derive(Clone, Debug)]
pub struct PerfModel {
    shape: ModelShape,
    tp: f64,
    pp: f64,
    matmul_peak: FlopsPerSec,
    attention_peak: FlopsPerSec,
    memory_bandwidth: BytesPerSec,
    weight_bytes: f64,
    kv_bytes_per_token: f64,
    kv_share_per_rank: f64,
    tensor_link: BytesPerSec,
    pipeline_link: BytesPerSec,
    overheads: Overheads,
    replica_peak: FlopsPerSec,
    replica_bandwidth: BytesPerSec,
    /// `decode_parts[n − 1]`: the fixed part of a step of `n` tokens and `n` logits (a decode
    /// step of `n` sequences), worked out once for `n` up to [`DECODE_PARTS`].
    decode_parts: Vec<FixedPart>,
}

/// Batch sizes whose decode steps have their fixed part worked out in advance.
const DECODE_PARTS: u64 = 512;

/// How hard a step drives the replica's GPUs: achieved shares of their peaks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Activity {
    /// Achieved FLOP/s ÷ peak tensor FLOP/s.
    pub compute: f64,
    /// Achieved memory traffic ÷ peak memory bandwidth.
    pub memory: f64,
}

/// A roofline: the slower of doing the FLOPs and moving the bytes.
fn roofline(flops: f64, peak: FlopsPerSec, bytes: f64, bandwidth: BytesPerSec) -> f64 {
    (flops / peak.0).max(bytes / bandwidth.0)
}

impl PerfModel {
    /// Works out the constants of `setup`.
    pub fn new(setup: &ReplicaSetup) -> PerfModel {
        let eff = setup.efficiencies;
        let (matmul_peak, _) = setup.gpu.matmul_peak(setup.weights);
        let shape = ModelShape::of(&setup.model);
        let mut perf = PerfModel {
            kv_bytes_per_token: shape.kv_elements_per_token() * setup.kv_cache.bytes(),
            kv_share_per_rank: shape.kv_share_per_rank(setup.parallelism.tensor),
            shape,
            tp: setup.parallelism.tensor as f64,
            pp: setup.parallelism.pipeline as f64,
            matmul_peak: matmul_peak * eff.compute,
            attention_peak: setup.gpu.tensor.bf16 * eff.compute,
            memory_bandwidth: setup.gpu.memory_bandwidth * eff.memory,
            weight_bytes: setup.weights.bytes(),
            tensor_link: setup.tensor_link * eff.link,
            pipeline_link: setup.pipeline_link * eff.link,
            overheads: setup.overheads,
            replica_peak: matmul_peak * f64::from(setup.parallelism.gpus()),
            replica_bandwidth: setup.gpu.memory_bandwidth * f64::from(setup.parallelism.gpus()),
            decode_parts: Vec::new(),
        };
        perf.decode_parts = (1..=DECODE_PARTS)
            .map(|n| perf.work_out_fixed_part(n, n))
            .collect();
        perf
    }

    /// KV-cache bytes one token occupies across the whole replica.
    pub fn kv_bytes_per_token(&self) -> Bytes {
        Bytes(self.kv_bytes_per_token)
    }

    /// Peak tensor throughput of the whole replica in the format its matrix products run
    /// in, for utilisation figures.
    pub fn replica_peak(&self) -> FlopsPerSec {
        self.replica_peak
    }

    /// The activity of a step of `cost` that lasted `duration` (which may exceed
    /// `cost.time` when the engine rounds it up to a tick).
    pub fn activity(&self, cost: &StepCost, duration: Seconds) -> Activity {
        Activity {
            compute: (cost.flops / self.replica_peak) / duration,
            memory: (cost.memory_bytes / self.replica_bandwidth) / duration,
        }
    }

    /// The cost of a step doing `work`. A step with no tokens costs nothing.
    pub fn step(&self, work: &StepWork) -> StepCost {
        self.step_with(&self.fixed_part(work.tokens, work.logits), work)
    }

    /// The part of a step's cost that depends only on its tokens and logits, not on the
    /// context it attends to: every step of a run of decode steps shares it. Looked up for
    /// decode steps of up to [`DECODE_PARTS`] sequences.
    pub fn fixed_part(&self, tokens: u64, logits: u64) -> FixedPart {
        match tokens.checked_sub(1) {
            Some(i) if tokens == logits && tokens <= DECODE_PARTS => self.decode_parts[i as usize],
            _ => self.work_out_fixed_part(tokens, logits),
        }
    }

    /// [`PerfModel::fixed_part`], worked out.
    fn work_out_fixed_part(&self, tokens: u64, logits: u64) -> FixedPart {
        let s = &self.shape;
        let tokens = tokens as f64;

        // Layer matrix products: every always-active weight once, plus the experts touched.
        let matmul_flops = 2.0 * s.layer_matmul_params_per_token() * tokens;
        let expert_params = s.moe_layers * s.experts_touched(tokens) * s.expert_params;
        let matmul_bytes = (s.always_active_layer_params() + expert_params) * self.weight_bytes;
        let matmul_time = roofline(
            matmul_flops / self.tp,
            self.matmul_peak,
            matmul_bytes / self.tp,
            self.memory_bandwidth,
        );

        // LM head: read once, one row of products per sampled token.
        let head_params = s.hidden * s.vocab;
        let (head_flops, head_bytes) = if logits > 0 {
            (
                2.0 * head_params * logits as f64,
                head_params * self.weight_bytes,
            )
        } else {
            (0.0, 0.0)
        };
        let head_time = roofline(
            head_flops / self.tp,
            self.matmul_peak,
            head_bytes / self.tp,
            self.memory_bandwidth,
        );

        // Tensor parallel: two ring all-reduces of the activations per layer.
        let activation_bytes = tokens * s.hidden * ACTIVATION_BYTES;
        let (tensor_time, tensor_bytes) = if self.tp > 1.0 {
            let per_rank = 2.0 * (self.tp - 1.0) / self.tp * activation_bytes;
            let collectives = 2.0 * s.layers;
            (
                collectives * (per_rank / self.tensor_link.0 + self.overheads.collective.0),
                collectives * per_rank * self.tp,
            )
        } else {
            (0.0, 0.0)
        };

        // Pipeline: hand the activations across each stage boundary.
        let boundaries = self.pp - 1.0;
        let pipeline_time =
            boundaries * (activation_bytes / self.pipeline_link.0 + self.overheads.collective.0);
        let pipeline_bytes = boundaries * activation_bytes;

        FixedPart {
            tokens,
            matmul: (matmul_time, matmul_flops, matmul_bytes),
            head: (head_time, head_flops, head_bytes),
            tensor: (tensor_time, tensor_bytes),
            pipeline: (pipeline_time, pipeline_bytes),
        }
    }

    /// The cost of a step doing `work`, whose tokens and logits `fixed` was worked out for
    /// ([`PerfModel::fixed_part`]): the attention to its context is priced, the rest taken
    /// from `fixed`, and everything added in the order [`PerfModel::step`] adds it, so the
    /// result is the same to the bit.
    pub fn step_with(&self, fixed: &FixedPart, work: &StepWork) -> StepCost {
        if work.tokens == 0 {
            return StepCost::default();
        }
        debug_assert_eq!(fixed.tokens, work.tokens as f64);
        let s = &self.shape;

        // Attention: read the cached context, write the new tokens' KV entries.
        let attention_flops =
            s.layers * s.attention_flops_per_pair_layer * u64_to_f64(work.attention_pairs);
        let kv_bytes = self.kv_bytes_per_token * (u64_to_f64(work.cached_context) + fixed.tokens);
        let kv_bytes_per_rank = kv_bytes * self.kv_share_per_rank;
        let attention_time = roofline(
            attention_flops / self.tp,
            self.attention_peak,
            kv_bytes_per_rank,
            self.memory_bandwidth,
        );

        let (matmul_time, matmul_flops, matmul_bytes) = fixed.matmul;
        let (head_time, head_flops, head_bytes) = fixed.head;
        StepCost {
            time: Seconds(
                matmul_time
                    + attention_time
                    + head_time
                    + fixed.tensor.0
                    + fixed.pipeline.0
                    + self.overheads.step.0,
            ),
            flops: Flops(matmul_flops + attention_flops + head_flops),
            memory_bytes: Bytes(matmul_bytes + kv_bytes_per_rank * self.tp + head_bytes),
            tensor_link_bytes: Bytes(fixed.tensor.1),
            pipeline_link_bytes: Bytes(fixed.pipeline.1),
        }
    }
}

/// What a step's cost owes to its tokens and logits alone: its matrix products, its LM head,
/// its collectives and hand-offs, as (time, FLOPs, bytes) or (time, bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FixedPart {
    tokens: f64,
    matmul: (f64, f64, f64),
    head: (f64, f64, f64),
    tensor: (f64, f64),
    pipeline: (f64, f64),
}

/// Hand-checkable fixtures shared by the perf-model tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::catalog::{Mlp, TensorPeak};
    use crate::units::Watts;

    /// A toy model small enough to work by hand: 2 layers, h = 1024, 8 heads of 128,
    /// 8 KV heads, ffn 4096 plain, vocab 1000, untied.
    pub(crate) fn toy_model() -> Model {
        Model {
            id: "toy".into(),
            name: "toy".into(),
            layers: 2,
            hidden: 1024,
            heads: 8,
            kv_heads: 8,
            head_dim: None,
            ffn: 4096,
            mlp: Mlp::Plain,
            vocab: 1000,
            tied_embeddings: false,
            learned_positions: 0,
            context: 4096,
            moe: None,
            mla: None,
            reported_params: None,
            reported_active_params: None,
            source: String::new(),
        }
    }

    /// A GPU with round numbers: 100 TFLOPS, 1 TB/s.
    pub(crate) fn toy_gpu() -> Gpu {
        Gpu {
            id: "toy".into(),
            name: "toy".into(),
            memory: Bytes(80e9),
            memory_bandwidth: BytesPerSec(1e12),
            tensor: TensorPeak {
                fp16: FlopsPerSec(100e12),
                bf16: FlopsPerSec(100e12),
                fp8: Some(FlopsPerSec(200e12)),
                int8: None,
                int4: None,
            },
            tdp: Watts(500.0),
            idle_power: Watts(50.0),
            scale_up_link: BytesPerSec(200e9),
            step_power: None,
            rent_per_hour: None,
            source: String::new(),
        }
    }

    /// The toy model on the toy GPU with unit efficiencies and no overheads.
    pub(crate) fn toy_setup(tp: u32, pp: u32) -> ReplicaSetup {
        ReplicaSetup {
            model: toy_model(),
            gpu: toy_gpu(),
            weights: Precision::Bf16,
            kv_cache: Precision::Bf16,
            parallelism: Parallelism {
                tensor: tp,
                pipeline: pp,
            },
            tensor_link: BytesPerSec(100e9),
            pipeline_link: BytesPerSec(50e9),
            efficiencies: Efficiencies {
                compute: 1.0,
                memory: 1.0,
                link: 1.0,
            },
            overheads: Overheads {
                step: Seconds(0.0),
                collective: Seconds(0.0),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::toy_setup as setup;
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        ((a - b) / b).abs() < 1e-12
    }

    #[test]
    fn single_decode_is_memory_bound_on_the_weights() {
        let model = PerfModel::new(&setup(1, 1));
        let mut work = StepWork::default();
        work.add_sequence(100, 1, true);
        let cost = model.step(&work);
        // Layer weights: 2·(4·1024² + 2·1024·4096) = 25,165,824 params → 50,331,648 B.
        // KV: (100 + 1) tokens · 2 layers · 2·8·128 elements · 2 B = 827,392 B.
        // LM head: 1024·1000 params → 2,048,000 B. All at 1 TB/s.
        let bytes = 50_331_648.0 + 827_392.0 + 2_048_000.0;
        assert!(close(cost.time.0, bytes / 1e12), "{:?}", cost);
        assert!(close(cost.memory_bytes.0, bytes));
        // FLOPs: 2·25,165,824 + 2 layers·4·1024·101 pairs + 2·1024·1000.
        let flops = 2.0 * 25_165_824.0 + 2.0 * 4096.0 * 101.0 + 2.0 * 1_024_000.0;
        assert!(close(cost.flops.0, flops));
        assert_eq!(cost.tensor_link_bytes.0 + cost.pipeline_link_bytes.0, 0.0);
    }

    #[test]
    fn a_fixed_part_worked_out_once_prices_every_step_of_a_run_to_the_bit() {
        // 32 decoders, 4-way tensor parallel: the steps of a run differ only in context.
        let model = PerfModel::new(&setup(4, 1));
        let fixed = model.fixed_part(32, 32);
        for context in [0, 31, 32 * 700, 32 * 4000 + 5] {
            let mut work = StepWork::default();
            for i in 0..32 {
                work.add_sequence(context / 32 + u64::from(i < context % 32), 1, true);
            }
            assert_eq!(model.step_with(&fixed, &work), model.step(&work));
        }
        assert_eq!(
            model.step_with(&fixed, &StepWork::default()),
            StepCost::default()
        );
    }

    #[test]
    fn decode_parts_looked_up_are_those_worked_out() {
        let model = PerfModel::new(&setup(4, 1));
        for n in [1, 2, 255, DECODE_PARTS] {
            assert_eq!(model.fixed_part(n, n), model.work_out_fixed_part(n, n));
        }
        // Beyond the table, and for steps with a prefill, the part is worked out.
        let n = DECODE_PARTS + 1;
        assert_eq!(model.fixed_part(n, n).tokens, n as f64);
        assert_eq!(model.fixed_part(900, 3), model.work_out_fixed_part(900, 3));
        assert_ne!(model.fixed_part(900, 3), model.fixed_part(900, 900));
    }

    #[test]
    fn long_prefill_is_compute_bound() {
        let model = PerfModel::new(&setup(1, 1));
        let mut work = StepWork::default();
        work.add_sequence(0, 4096, true);
        let cost = model.step(&work);
        // Matmuls: 2·25,165,824·4096 FLOPs at 100 TFLOPS = 2.0616e-3 s (bytes take 5e-5 s).
        let matmul = 2.0 * 25_165_824.0 * 4096.0 / 100e12;
        // Attention: 2 layers · 4096 · (4096·4097/2) pairs = 6.8736e10 FLOPs → 6.87e-4 s,
        // against 4096 tokens · 8192 B of KV writes → 3.4e-5 s.
        let attention = 2.0 * 4096.0 * (4096.0 * 4097.0 / 2.0) / 100e12;
        // LM head for the one sampled token: reading 2,048,000 B dominates.
        let head = 2_048_000.0 / 1e12;
        assert!(close(cost.time.0, matmul + attention + head), "{:?}", cost);
    }

    #[test]
    fn tensor_parallel_splits_work_and_adds_all_reduces() {
        let one = PerfModel::new(&setup(1, 1));
        let two = PerfModel::new(&setup(2, 1));
        let mut work = StepWork::default();
        work.add_sequence(0, 1000, true);
        let (a, b) = (one.step(&work), two.step(&work));
        // All-reduce: 4 collectives · (2·1/2 · 1000·1024·2 B) / 100 GB/s = 8.192e-5 s.
        let all_reduce = 4.0 * 2_048_000.0 / 100e9;
        assert!(close(b.time.0, a.time.0 / 2.0 + all_reduce), "{a:?} {b:?}");
        assert!(close(b.flops.0, a.flops.0));
        assert!(close(b.tensor_link_bytes.0, 4.0 * 2_048_000.0 * 2.0));
    }

    #[test]
    fn pipeline_stages_add_hand_offs_but_not_speed() {
        let one = PerfModel::new(&setup(1, 1));
        let two = PerfModel::new(&setup(1, 2));
        let mut work = StepWork::default();
        work.add_sequence(50, 1, true);
        work.add_sequence(70, 1, true);
        let (a, b) = (one.step(&work), two.step(&work));
        // One boundary: 2 tokens · 1024 · 2 B over 50 GB/s.
        assert!(close(b.time.0, a.time.0 + 4096.0 / 50e9));
        assert!(close(b.pipeline_link_bytes.0, 4096.0));
    }

    #[test]
    fn overheads_and_efficiencies_enter_as_documented() {
        let mut s = setup(2, 1);
        s.efficiencies = Efficiencies {
            compute: 0.5,
            memory: 0.5,
            link: 0.5,
        };
        s.overheads = Overheads {
            step: Seconds(1e-3),
            collective: Seconds(1e-5),
        };
        let base = PerfModel::new(&setup(2, 1));
        let slow = PerfModel::new(&s);
        let mut work = StepWork::default();
        work.add_sequence(10, 1, true);
        let (a, b) = (base.step(&work), slow.step(&work));
        // Everything takes twice as long, plus 1 ms and 4 collectives · 10 µs.
        assert!(close(b.time.0, 2.0 * a.time.0 + 1e-3 + 4.0 * 1e-5));
    }

    #[test]
    fn fp8_weights_use_fp8_peak_and_half_the_bytes() {
        let mut s = setup(1, 1);
        s.weights = Precision::Fp8;
        let fp8 = PerfModel::new(&s);
        let bf16 = PerfModel::new(&setup(1, 1));
        let mut work = StepWork::default();
        work.add_sequence(0, 4096, true);
        assert_eq!(fp8.replica_peak(), FlopsPerSec(200e12));
        assert!(fp8.step(&work).time < bf16.step(&work).time);
        // int8 has no tensor peak on this GPU: matrix products fall back to bf16.
        s.weights = Precision::Int8;
        assert_eq!(PerfModel::new(&s).replica_peak(), FlopsPerSec(100e12));
    }

    #[test]
    fn moe_steps_read_only_the_experts_their_tokens_touch() {
        let mut s = setup(1, 1);
        s.model.moe = Some(crate::catalog::Moe {
            experts: 4,
            active: 2,
            shared: 0,
            ffn: 4096,
            dense_layers: 0,
        });
        let model = PerfModel::new(&s);
        // Per layer: attention 4·1024² = 4,194,304 and router 1024·4 = 4,096 always; each
        // expert 2·1024·4096 = 8,388,608. One token touches 4·(1 − 1/2) = 2 experts.
        let always = 2.0 * (4_194_304.0 + 4_096.0);
        let expert = 8_388_608.0;
        let mut one = StepWork::default();
        one.add_sequence(100, 1, true);
        let kv_and_head = 8192.0 * 101.0 + 2_048_000.0;
        let bytes = (always + 2.0 * 2.0 * expert) * 2.0 + kv_and_head;
        assert!(close(model.step(&one).time.0, bytes / 1e12));
        assert!(close(model.step(&one).memory_bytes.0, bytes));
        // Two tokens touch 4·(1 − 1/4) = 3 experts per layer, but do the FLOPs of 2 each.
        let mut two = StepWork::default();
        two.add_sequence(100, 1, true);
        two.add_sequence(100, 1, true);
        let bytes = (always + 2.0 * 3.0 * expert) * 2.0 + 2.0 * kv_and_head - 2_048_000.0;
        assert!(close(model.step(&two).memory_bytes.0, bytes));
        let matmul_flops = 2.0 * (always + 2.0 * 2.0 * expert) * 2.0;
        let attention_flops = 2.0 * 2.0 * 4096.0 * 101.0;
        let head_flops = 2.0 * 2.0 * 1_024_000.0;
        assert!(close(
            model.step(&two).flops.0,
            matmul_flops + attention_flops + head_flops
        ));
    }

    #[test]
    fn fp8_kv_cache_halves_the_kv_traffic() {
        let mut s = setup(1, 1);
        s.kv_cache = Precision::Fp8;
        let fp8 = PerfModel::new(&s);
        let bf16 = PerfModel::new(&setup(1, 1));
        assert_eq!(bf16.kv_bytes_per_token(), Bytes(8192.0));
        assert_eq!(fp8.kv_bytes_per_token(), Bytes(4096.0));
        let mut work = StepWork::default();
        work.add_sequence(10_000, 1, true);
        let saved = bf16.step(&work).memory_bytes.0 - fp8.step(&work).memory_bytes.0;
        assert!(close(saved, 4096.0 * 10_001.0));
    }

    #[test]
    fn activity_is_the_achieved_share_of_the_peaks() {
        let model = PerfModel::new(&setup(2, 1));
        let cost = StepCost {
            time: Seconds(1e-3),
            flops: Flops(50e9),
            memory_bytes: Bytes(1e9),
            tensor_link_bytes: Bytes(0.0),
            pipeline_link_bytes: Bytes(0.0),
        };
        // Two GPUs: 200 TFLOPS and 2 TB/s; 50 GFLOP and 1 GB in 1 ms.
        let activity = model.activity(&cost, cost.time);
        assert!(close(activity.compute, 0.25));
        assert!(close(activity.memory, 0.5));
    }

    #[test]
    fn step_work_sums_causal_pairs() {
        let mut work = StepWork::default();
        work.add_sequence(10, 3, false);
        // 3·10 + 3·4/2 = 36 pairs.
        assert_eq!(work.attention_pairs, 36);
        assert_eq!(work.logits, 0);
        assert_eq!(work.tokens, 3);
        assert_eq!(work.cached_context, 10);
    }
}
