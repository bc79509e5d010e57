//! Parameter counts and per-token figures derived from a model's architecture.
//!
//! Biases and normalisation weights are left out (under 0.1% of any catalog model), so a
//! derived total lands within about 1% of the published count; a unit test holds every
//! catalog model to that.

use crate::catalog::{Mlp, Model};

/// Counts derived once from a [`Model`], in plain numbers of parameters or elements.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelShape {
    /// Transformer layers.
    pub layers: f64,
    /// Hidden width.
    pub hidden: f64,
    /// Vocabulary size.
    pub vocab: f64,
    /// Attention projection weights of one layer (Q, K, V, O; MLA's down/up projections).
    pub attention_params: f64,
    /// Weights of one dense feed-forward block.
    pub dense_mlp_params: f64,
    /// Layers with a dense feed-forward block.
    pub dense_layers: f64,
    /// Layers with mixture-of-experts feed-forward blocks.
    pub moe_layers: f64,
    /// Weights of one expert.
    pub expert_params: f64,
    /// Routed experts per MoE layer (`E`).
    pub experts: f64,
    /// Routed experts per token (`k`).
    pub active_experts: f64,
    /// Shared experts per MoE layer, in expert units.
    pub shared_experts: f64,
    /// Router (gate) weights of one MoE layer.
    pub router_params: f64,
    /// Token and position embedding weights.
    pub embedding_params: f64,
    /// LM head weights stored apart from the embedding (0 when tied).
    pub separate_lm_head_params: f64,
    /// KV-cache elements one token adds in one layer: `2·n_kv·d_h`, or MLA's latent width.
    pub kv_elements_per_token_layer: f64,
    /// Attention FLOPs per (query, key) pair in one layer: `4·heads·d_h` (scores and
    /// weighted values), or MLA's absorbed form `heads·(2·(r_kv + d_rope) + 2·r_kv)`.
    pub attention_flops_per_pair_layer: f64,
    /// Whether each tensor-parallel rank keeps the whole KV entry (MLA's latent).
    pub kv_replicated_across_ranks: bool,
    /// Key-value heads, for splitting the KV cache across tensor-parallel ranks.
    pub kv_heads: f64,
}

/// Weights of a feed-forward block of intermediate size `ffn`.
fn mlp_params(kind: Mlp, hidden: f64, ffn: f64) -> f64 {
    match kind {
        Mlp::Gated => 3.0 * hidden * ffn,
        Mlp::Plain => 2.0 * hidden * ffn,
    }
}

impl ModelShape {
    /// Derives the counts of `model`.
    pub fn of(model: &Model) -> ModelShape {
        let h = model.hidden as f64;
        let heads = model.heads as f64;
        let d = model.head_dim() as f64;
        let kv = model.kv_heads as f64;
        let layers = model.layers as f64;

        let (attention_params, kv_elements, attention_flops) = match &model.mla {
            None => (
                2.0 * h * heads * d + 2.0 * h * kv * d,
                2.0 * kv * d,
                4.0 * heads * d,
            ),
            Some(mla) => {
                let q_rank = mla.q_lora_rank as f64;
                let kv_rank = mla.kv_lora_rank as f64;
                let nope = mla.qk_nope_head_dim as f64;
                let rope = mla.qk_rope_head_dim as f64;
                let v = mla.v_head_dim as f64;
                let query = if q_rank > 0.0 {
                    h * q_rank + q_rank * heads * (nope + rope)
                } else {
                    h * heads * (nope + rope)
                };
                let params =
                    query + h * (kv_rank + rope) + kv_rank * heads * (nope + v) + heads * v * h;
                (
                    params,
                    kv_rank + rope,
                    heads * (2.0 * (kv_rank + rope) + 2.0 * kv_rank),
                )
            }
        };

        let (dense_layers, moe_layers, expert_params, experts, active, shared, router) =
            match &model.moe {
                None => (layers, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
                Some(moe) => (
                    moe.dense_layers as f64,
                    layers - moe.dense_layers as f64,
                    mlp_params(model.mlp, h, moe.ffn as f64),
                    moe.experts as f64,
                    moe.active as f64,
                    moe.shared as f64,
                    h * moe.experts as f64,
                ),
            };

        ModelShape {
            layers,
            hidden: h,
            vocab: model.vocab as f64,
            attention_params,
            dense_mlp_params: mlp_params(model.mlp, h, model.ffn as f64),
            dense_layers,
            moe_layers,
            expert_params,
            experts,
            active_experts: active,
            shared_experts: shared,
            router_params: router,
            embedding_params: (model.vocab + model.learned_positions) as f64 * h,
            separate_lm_head_params: if model.tied_embeddings {
                0.0
            } else {
                model.vocab as f64 * h
            },
            kv_elements_per_token_layer: kv_elements,
            attention_flops_per_pair_layer: attention_flops,
            kv_replicated_across_ranks: model.mla.is_some(),
            kv_heads: kv,
        }
    }

    /// Weights every token passes through in the layers, except routed experts.
    pub fn always_active_layer_params(&self) -> f64 {
        self.layers * self.attention_params
            + self.dense_layers * self.dense_mlp_params
            + self.moe_layers * (self.shared_experts * self.expert_params + self.router_params)
    }

    /// All weights stored: embeddings, layers, every expert, LM head.
    pub fn total_params(&self) -> f64 {
        self.embedding_params
            + self.separate_lm_head_params
            + self.always_active_layer_params()
            + self.moe_layers * self.experts * self.expert_params
    }

    /// Weights one token uses, counting embeddings and the `k` routed experts only
    /// (the convention of published "active parameter" figures).
    pub fn active_params(&self) -> f64 {
        self.total_params()
            - self.moe_layers * (self.experts - self.active_experts) * self.expert_params
    }

    /// Weights of the matrix products one token goes through in the layers (`N` in
    /// `2·N` FLOPs per token), without the LM head.
    pub fn layer_matmul_params_per_token(&self) -> f64 {
        self.always_active_layer_params()
            + self.moe_layers * self.active_experts * self.expert_params
    }

    /// Expected routed experts a step of `tokens` tokens touches in one MoE layer, with
    /// uniform routing: `E·(1 − (1 − k/E)^T)`.
    pub fn experts_touched(&self, tokens: f64) -> f64 {
        if self.experts == 0.0 {
            return 0.0;
        }
        self.experts * (1.0 - (1.0 - self.active_experts / self.experts).powf(tokens))
    }

    /// KV-cache elements one token adds across all layers.
    pub fn kv_elements_per_token(&self) -> f64 {
        self.layers * self.kv_elements_per_token_layer
    }

    /// Share of a token's KV entry one tensor-parallel rank holds: heads split across
    /// ranks (whole heads, so `⌈n_kv/tp⌉/n_kv`), or the whole latent for MLA.
    pub fn kv_share_per_rank(&self, tp: u32) -> f64 {
        if self.kv_replicated_across_ranks {
            1.0
        } else {
            (self.kv_heads / tp as f64).ceil() / self.kv_heads
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Mla, Moe};

    fn llama_like() -> Model {
        Model {
            id: "t".into(),
            name: "t".into(),
            layers: 32,
            hidden: 4096,
            heads: 32,
            kv_heads: 8,
            head_dim: None,
            ffn: 14336,
            mlp: Mlp::Gated,
            vocab: 128256,
            tied_embeddings: false,
            learned_positions: 0,
            context: 8192,
            moe: None,
            mla: None,
            reported_params: None,
            reported_active_params: None,
            source: String::new(),
        }
    }

    #[test]
    fn dense_gqa_counts_match_hand_computation() {
        let s = ModelShape::of(&llama_like());
        // Q and O: 2·4096·4096; K and V: 2·4096·(8·128).
        assert_eq!(
            s.attention_params,
            2.0 * 4096.0 * 4096.0 + 2.0 * 4096.0 * 1024.0
        );
        assert_eq!(s.dense_mlp_params, 3.0 * 4096.0 * 14336.0);
        // 32·(41,943,040 + 176,160,768) + 2·128,256·4,096 = 8,029,995,008 (Llama-3.1-8B: 8.03B).
        assert_eq!(s.total_params(), 8_029_995_008.0);
        assert_eq!(s.kv_elements_per_token(), 32.0 * 2.0 * 8.0 * 128.0);
        assert_eq!(s.attention_flops_per_pair_layer, 4.0 * 4096.0);
        assert_eq!(s.active_params(), s.total_params());
    }

    #[test]
    fn kv_heads_split_across_ranks_in_whole_heads() {
        let s = ModelShape::of(&llama_like());
        assert_eq!(s.kv_share_per_rank(1), 1.0);
        assert_eq!(s.kv_share_per_rank(4), 0.25);
        // 8 KV heads on 16 ranks: each rank still holds one whole head.
        assert_eq!(s.kv_share_per_rank(16), 0.125);
    }

    #[test]
    fn moe_counts_experts_and_active_share() {
        let mut m = llama_like();
        m.moe = Some(Moe {
            experts: 8,
            active: 2,
            shared: 0,
            ffn: 14336,
            dense_layers: 0,
        });
        let s = ModelShape::of(&m);
        let expert = 3.0 * 4096.0 * 14336.0;
        let router = 4096.0 * 8.0;
        let outside = 32.0 * (s.attention_params + router) + 2.0 * 128256.0 * 4096.0;
        assert_eq!(s.total_params(), outside + 32.0 * 8.0 * expert);
        assert_eq!(s.active_params(), outside + 32.0 * 2.0 * expert);
        // One token touches exactly k experts; very many touch all E.
        assert!((s.experts_touched(1.0) - 2.0).abs() < 1e-12);
        assert!((s.experts_touched(1e4) - 8.0).abs() < 1e-9);
        // Two tokens: 8·(1 − (3/4)²) = 3.5.
        assert!((s.experts_touched(2.0) - 3.5).abs() < 1e-12);
    }

    #[test]
    fn mla_caches_one_latent_per_token_and_layer() {
        let mut m = llama_like();
        m.heads = 128;
        m.hidden = 7168;
        m.mla = Some(Mla {
            q_lora_rank: 1536,
            kv_lora_rank: 512,
            qk_nope_head_dim: 128,
            qk_rope_head_dim: 64,
            v_head_dim: 128,
        });
        let s = ModelShape::of(&m);
        assert_eq!(s.kv_elements_per_token_layer, 576.0);
        assert_eq!(s.kv_share_per_rank(8), 1.0);
        // 7168·1536 + 1536·128·192 + 7168·576 + 512·128·256 + 128·128·7168 = 187,105,280.
        assert_eq!(s.attention_params, 187_105_280.0);
        assert_eq!(
            s.attention_flops_per_pair_layer,
            128.0 * (2.0 * 576.0 + 2.0 * 512.0)
        );
    }

    #[test]
    fn plain_mlp_and_tied_embeddings_count_like_gpt2() {
        let gpt2 = Model {
            id: "gpt2".into(),
            name: "GPT-2".into(),
            layers: 12,
            hidden: 768,
            heads: 12,
            kv_heads: 12,
            head_dim: None,
            ffn: 3072,
            mlp: Mlp::Plain,
            vocab: 50257,
            tied_embeddings: true,
            learned_positions: 1024,
            context: 1024,
            moe: None,
            mla: None,
            reported_params: None,
            reported_active_params: None,
            source: String::new(),
        };
        let s = ModelShape::of(&gpt2);
        // 12·(4·768² + 2·768·3072) + (50257 + 1024)·768 = 124,318,464.
        assert_eq!(s.total_params(), 124_318_464.0);
        assert_eq!(s.separate_lm_head_params, 0.0);
    }
}
