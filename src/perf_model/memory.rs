//! Whether a replica fits in its GPUs' memory, and how many tokens of KV cache remain.
//!
//! Per GPU: `memory × utilisation ≥ weights/(tp·pp) + activation reserve + KV cache`. The KV
//! cache takes whatever is left, as vLLM's `gpu_memory_utilization` does; one token's KV entry
//! is spread over the `pp` stages and split across tensor-parallel ranks by KV head.

use super::shape::ModelShape;
use super::step::ReplicaSetup;
use crate::catalog::{Model, Precision};
use crate::units::Bytes;
use std::fmt;

/// Runtime memory outside tensors: CUDA context, cuBLAS and NCCL workspaces, CUDA graphs.
/// vLLM reports about 1 GiB of such "non-torch" memory per GPU at start-up.
const RUNTIME_RESERVE: f64 = Bytes::GIB;

/// Bytes per activation element (bf16) and per logit (fp32).
const ACTIVATION_BYTES: f64 = 2.0;
const LOGIT_BYTES: f64 = 4.0;

/// The memory budget of one GPU of a replica.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemoryPlan {
    /// Memory the server may use: capacity × utilisation.
    pub usable_per_gpu: Bytes,
    /// This GPU's share of the weights.
    pub weights_per_gpu: Bytes,
    /// Activations and runtime reserve.
    pub activations_per_gpu: Bytes,
    /// What is left for the KV cache.
    pub kv_cache_per_gpu: Bytes,
    /// KV-cache bytes one token takes on this GPU.
    pub kv_bytes_per_token_per_gpu: Bytes,
    /// Tokens the replica's KV cache holds.
    pub kv_capacity_tokens: u64,
}

/// A replica that does not fit, with the figures to say by how much.
#[derive(Clone, Debug, PartialEq)]
pub struct DoesNotFit {
    model: String,
    gpu: String,
    weights: Precision,
    tp: u32,
    pp: u32,
    plan: MemoryPlan,
    capacity: Bytes,
    utilization: f64,
    gpus_needed: Option<u64>,
    fitting_formats: Vec<Precision>,
}

impl DoesNotFit {
    /// Bytes per GPU missing.
    pub fn shortfall_per_gpu(&self) -> Bytes {
        self.plan.weights_per_gpu + self.plan.activations_per_gpu - self.plan.usable_per_gpu
    }
}

impl fmt::Display for DoesNotFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.plan;
        write!(
            f,
            "{} does not fit: with {} weights on tp={} × pp={} it needs {} of weights and {} of \
             activations per GPU",
            self.model, self.weights, self.tp, self.pp, p.weights_per_gpu, p.activations_per_gpu,
        )?;
        let short = self.shortfall_per_gpu();
        if short.0 <= 0.0 {
            return write!(
                f,
                ", which leaves {} of the {} one {} offers, less than one KV-cache block; use \
                 more GPUs per replica, raise scheduler.memory_utilization or lower \
                 scheduler.max_tokens_per_step",
                Bytes(p.kv_cache_per_gpu.0.max(0.0)),
                p.usable_per_gpu,
                self.gpu,
            );
        }
        write!(
            f,
            ", but one {} offers {} ({} × memory_utilization {}): short by {} per GPU",
            self.gpu, p.usable_per_gpu, self.capacity, self.utilization, short,
        )?;
        let mut remedies = Vec::new();
        if let Some(n) = self.gpus_needed {
            remedies.push(format!(
                "at least {n} GPUs per replica (tensor_parallel × pipeline_parallel)"
            ));
        }
        if !self.fitting_formats.is_empty() {
            let names: Vec<&str> = self.fitting_formats.iter().map(|p| p.name()).collect();
            remedies.push(format!("{} weights", names.join(" or ")));
        }
        remedies.push("a GPU with more memory".into());
        write!(f, "; it would fit with {}", remedies.join(", or "))
    }
}

/// The activation reserve per GPU when the scenario gives none: one layer's intermediate
/// tensors at the step token budget (`tokens·(4h + 2·ffn/tp)` bf16 values: residual, Q/K/V/O
/// and the feed-forward intermediates), the fp32 logits of a full batch (`seqs·V/tp`), and
/// the runtime reserve.
pub fn default_activation_reserve(
    model: &Model,
    tp: u32,
    max_tokens_per_step: u32,
    max_seqs: u32,
) -> Bytes {
    let tp = tp as f64;
    let ffn = match &model.moe {
        Some(moe) => (model.ffn as f64).max(((moe.active + moe.shared) as u64 * moe.ffn) as f64),
        None => model.ffn as f64,
    };
    let per_token = (4.0 * model.hidden as f64 + 2.0 * ffn / tp) * ACTIVATION_BYTES;
    let logits = max_seqs as f64 * model.vocab as f64 / tp * LOGIT_BYTES;
    Bytes(max_tokens_per_step as f64 * per_token + logits + RUNTIME_RESERVE)
}

/// Plans one GPU's memory for `setup`, or says by how much it does not fit. A replica must
/// hold at least `min_kv_tokens` tokens of KV cache (one block).
pub fn plan_memory(
    setup: &ReplicaSetup,
    utilization: f64,
    activation_reserve: Bytes,
    min_kv_tokens: u64,
) -> Result<MemoryPlan, Box<DoesNotFit>> {
    let shape = ModelShape::of(&setup.model);
    let tp = setup.parallelism.tensor;
    let pp = setup.parallelism.pipeline;
    let gpus = setup.parallelism.gpus() as f64;
    let usable = setup.gpu.memory * utilization;
    let weights_total = shape.total_params() * setup.weights.bytes();
    let weights = Bytes(weights_total / gpus);
    let kv_token = Bytes(
        shape.kv_elements_per_token() * setup.kv_cache.bytes() / pp as f64
            * shape.kv_share_per_rank(tp),
    );
    let kv_space = usable - weights - activation_reserve;
    let capacity = if kv_space.0 > 0.0 {
        (kv_space / kv_token).floor() as u64
    } else {
        0
    };
    let plan = MemoryPlan {
        usable_per_gpu: usable,
        weights_per_gpu: weights,
        activations_per_gpu: activation_reserve,
        kv_cache_per_gpu: kv_space,
        kv_bytes_per_token_per_gpu: kv_token,
        kv_capacity_tokens: capacity,
    };
    if capacity >= min_kv_tokens.max(1) {
        return Ok(plan);
    }
    let room = usable - activation_reserve;
    // The fewest GPUs whose weight share leaves some room: the smallest n with W/n < room.
    let gpus_needed = (room.0 > 0.0).then(|| (weights_total / room.0).floor() as u64 + 1);
    let fitting_formats = [Precision::Fp8, Precision::Int4]
        .into_iter()
        .filter(|p| p.bytes() < setup.weights.bytes())
        .filter(|p| shape.total_params() * p.bytes() / gpus < room.0)
        .collect();
    Err(Box::new(DoesNotFit {
        model: setup.model.name.clone(),
        gpu: setup.gpu.name.clone(),
        weights: setup.weights,
        tp,
        pp,
        plan,
        capacity: setup.gpu.memory,
        utilization,
        gpus_needed,
        fitting_formats,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf_model::step::tests_support::toy_setup;

    #[test]
    fn kv_capacity_is_what_the_weights_and_reserve_leave() {
        // Toy model: 27,213,824 params → 54,427,648 B in bf16; 8,192 B of KV per token.
        // 80 GB × 0.9 − 1 GB − 54,427,648 B = 70,945,572,352 B → 8,660,348 tokens.
        let plan = plan_memory(&toy_setup(1, 1), 0.9, Bytes(1e9), 16).unwrap();
        assert_eq!(plan.weights_per_gpu, Bytes(54_427_648.0));
        assert_eq!(plan.kv_bytes_per_token_per_gpu, Bytes(8192.0));
        assert_eq!(plan.kv_capacity_tokens, 8_660_348);
        // Two ranks: half the weights and half the KV heads per GPU.
        // (72e9 − 1e9 − 27,213,824) / 4,096 = 17,327,340 tokens.
        let plan = plan_memory(&toy_setup(2, 1), 0.9, Bytes(1e9), 16).unwrap();
        assert_eq!(plan.kv_capacity_tokens, 17_327_340);
        // Two stages: half the layers' KV per GPU.
        let plan = plan_memory(&toy_setup(1, 2), 0.9, Bytes(1e9), 16).unwrap();
        assert_eq!(plan.kv_bytes_per_token_per_gpu, Bytes(4096.0));
    }

    #[test]
    fn a_model_that_does_not_fit_says_by_how_much() {
        let mut setup = toy_setup(1, 1);
        setup.gpu.memory = Bytes(40e6);
        let err = plan_memory(&setup, 1.0, Bytes(0.0), 16).unwrap_err();
        // 54,427,648 B of weights against 40,000,000 B: short by 14,427,648 B.
        assert_eq!(err.shortfall_per_gpu(), Bytes(14_427_648.0));
        let text = err.to_string();
        assert!(text.contains("short by 13.8 MiB per GPU"), "{text}");
        assert!(text.contains("at least 2 GPUs per replica"), "{text}");
        assert!(text.contains("fp8 or int4 weights"), "{text}");
    }

    #[test]
    fn no_room_for_one_block_is_an_error_too() {
        let mut setup = toy_setup(1, 1);
        // Weights fit, and 100 tokens of KV remain: fewer than a 128-token block.
        setup.gpu.memory = Bytes(54_427_648.0 + 8192.0 * 100.0);
        let err = plan_memory(&setup, 1.0, Bytes(0.0), 128).unwrap_err();
        assert!(
            err.to_string().contains("less than one KV-cache block"),
            "{err}"
        );
        assert!(plan_memory(&setup, 1.0, Bytes(0.0), 64).is_ok());
    }

    #[test]
    fn default_reserve_follows_its_formula() {
        let setup = toy_setup(2, 1);
        // 8192 tokens · (4·1024 + 2·4096/2) · 2 B + 256 · 1000/2 · 4 B + 1 GiB.
        let expected = 8192.0 * 8192.0 * 2.0 + 512_000.0 + Bytes::GIB;
        assert_eq!(
            default_activation_reserve(&setup.model, 2, 8192, 256),
            Bytes(expected)
        );
    }
}
