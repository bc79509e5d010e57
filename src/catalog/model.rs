//! A transformer's architecture as the perf model needs it: the shape, not the weights.

use crate::check;
use crate::error::InputError;
use serde::{Deserialize, Serialize};

/// How a layer's feed-forward block is built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mlp {
    /// Gated (SwiGLU): gate, up and down matrices, `3·h·ffn` weights (Llama, Mixtral).
    #[default]
    Gated,
    /// Plain (GELU): up and down matrices, `2·h·ffn` weights (GPT-2, GPT-3).
    Plain,
}

/// Mixture-of-experts feed-forward layers.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Moe {
    /// Routed experts per MoE layer (`E`).
    pub experts: u32,
    /// Routed experts each token uses (`k`).
    pub active: u32,
    /// Shared experts every token uses, in units of one expert's size.
    #[serde(default)]
    pub shared: u32,
    /// Intermediate size of one expert.
    pub ffn: u64,
    /// Leading layers that keep a dense feed-forward block of size `ffn` of the model.
    #[serde(default)]
    pub dense_layers: u32,
}

/// Multi-head latent attention (DeepSeek-V2/V3): the KV cache holds one compressed latent
/// per token and layer instead of per-head keys and values.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mla {
    /// Rank of the query compression (0: queries are projected directly).
    #[serde(default)]
    pub q_lora_rank: u64,
    /// Rank of the joint key-value compression: the cached latent's width.
    pub kv_lora_rank: u64,
    /// Per-head query/key width without rotary embedding.
    pub qk_nope_head_dim: u64,
    /// Per-head query/key width with rotary embedding (cached beside the latent).
    pub qk_rope_head_dim: u64,
    /// Per-head value width.
    pub v_head_dim: u64,
}

/// One model, from the catalog or defined inline in a scenario.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Short identifier used in scenarios, such as `llama-3.1-70b`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Transformer layers (`L`).
    pub layers: u32,
    /// Hidden width (`h`).
    pub hidden: u64,
    /// Attention (query) heads.
    pub heads: u64,
    /// Key-value heads: equal to `heads` for multi-head attention, fewer for grouped-query.
    pub kv_heads: u64,
    /// Per-head width (`d_h`); `hidden / heads` when absent.
    #[serde(default)]
    pub head_dim: Option<u64>,
    /// Intermediate size of the dense feed-forward block.
    pub ffn: u64,
    /// Feed-forward kind.
    #[serde(default)]
    pub mlp: Mlp,
    /// Vocabulary size (`V`).
    pub vocab: u64,
    /// Whether the LM head shares the embedding matrix.
    #[serde(default)]
    pub tied_embeddings: bool,
    /// Learned position embeddings (GPT-2, GPT-3): their count; 0 for rotary models.
    #[serde(default)]
    pub learned_positions: u64,
    /// Maximum context length in tokens.
    pub context: u32,
    /// Mixture-of-experts layers, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moe: Option<Moe>,
    /// Multi-head latent attention, if used instead of per-head KV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mla: Option<Mla>,
    /// Total parameters as published, to check the shape against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_params: Option<f64>,
    /// Parameters active per token as published (MoE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_active_params: Option<f64>,
    /// Where the figures come from.
    #[serde(default)]
    pub source: String,
}

impl Model {
    /// Per-head width: `head_dim`, or `hidden / heads`.
    pub fn head_dim(&self) -> u64 {
        self.head_dim.unwrap_or(self.hidden / self.heads.max(1))
    }

    /// Checks that the shape is a possible transformer.
    pub fn validate(&self) -> Result<(), InputError> {
        check::at_least("layers", self.layers.into(), 1)?;
        check::at_least("hidden", self.hidden, 1)?;
        check::at_least("heads", self.heads, 1)?;
        check::at_least("kv_heads", self.kv_heads, 1)?;
        check::at_least("ffn", self.ffn, 1)?;
        check::at_least("vocab", self.vocab, 1)?;
        check::at_least("context", self.context.into(), 1)?;
        if self.kv_heads > self.heads || self.heads % self.kv_heads != 0 {
            return Err(InputError::field(
                "kv_heads",
                format!(
                    "must divide heads ({}) evenly, got {}",
                    self.heads, self.kv_heads
                ),
            ));
        }
        if self.head_dim.is_none() && self.hidden % self.heads != 0 {
            return Err(InputError::field(
                "head_dim",
                format!(
                    "is needed because hidden ({}) is not a multiple of heads ({})",
                    self.hidden, self.heads
                ),
            ));
        }
        if let Some(moe) = &self.moe {
            check::at_least("moe.experts", moe.experts.into(), 1)?;
            check::at_least("moe.active", moe.active.into(), 1)?;
            check::at_least("moe.ffn", moe.ffn, 1)?;
            check::at_most(
                "moe.active",
                moe.active.into(),
                moe.experts.into(),
                "moe.experts",
            )?;
            check::at_most(
                "moe.dense_layers",
                moe.dense_layers.into(),
                self.layers.into(),
                "layers",
            )?;
        }
        if let Some(mla) = &self.mla {
            check::at_least("mla.kv_lora_rank", mla.kv_lora_rank, 1)?;
            check::at_least("mla.qk_nope_head_dim", mla.qk_nope_head_dim, 1)?;
            check::at_least("mla.v_head_dim", mla.v_head_dim, 1)?;
        }
        Ok(())
    }
}
