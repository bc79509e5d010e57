//! A transformer's architecture as the perf model needs it: the shape, not the weights.

use crate::check;
use crate::error::InputError;
use crate::uncertain::{Drawer, Value};
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
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Moe {
    /// Routed experts per MoE layer (`E`).
    pub experts: u32,
    /// Routed experts each token uses (`k`).
    pub active: u32,
    /// Shared experts every token uses, in units of one expert's size.
    pub shared: u32,
    /// Intermediate size of one expert.
    pub ffn: u64,
    /// Leading layers that keep a dense feed-forward block of size `ffn` of the model.
    pub dense_layers: u32,
}

/// Multi-head latent attention (DeepSeek-V2/V3): the KV cache holds one compressed latent
/// per token and layer instead of per-head keys and values.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Mla {
    /// Rank of the query compression (0: queries are projected directly).
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
#[derive(Clone, Debug, Serialize, PartialEq)]
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
    pub head_dim: Option<u64>,
    /// Intermediate size of the dense feed-forward block.
    pub ffn: u64,
    /// Feed-forward kind.
    pub mlp: Mlp,
    /// Vocabulary size (`V`).
    pub vocab: u64,
    /// Whether the LM head shares the embedding matrix.
    pub tied_embeddings: bool,
    /// Learned position embeddings (GPT-2, GPT-3): their count; 0 for rotary models.
    pub learned_positions: u64,
    /// Maximum context length in tokens.
    pub context: u32,
    /// Mixture-of-experts layers, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moe: Option<Moe>,
    /// Multi-head latent attention, if used instead of per-head KV.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mla: Option<Mla>,
    /// Total parameters as published, to check the shape against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_params: Option<f64>,
    /// Parameters active per token as published (MoE).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_active_params: Option<f64>,
    /// Where the figures come from.
    pub source: String,
}

/// A model as written in the catalog or a scenario: the fields of [`Model`], each number fixed
/// or uncertain.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    id: String,
    name: String,
    layers: Value<u32>,
    hidden: Value<u64>,
    heads: Value<u64>,
    kv_heads: Value<u64>,
    #[serde(default)]
    head_dim: Option<Value<u64>>,
    ffn: Value<u64>,
    #[serde(default)]
    mlp: Mlp,
    vocab: Value<u64>,
    #[serde(default)]
    tied_embeddings: bool,
    #[serde(default)]
    learned_positions: Value<u64>,
    context: Value<u32>,
    #[serde(default)]
    moe: Option<MoeSpec>,
    #[serde(default)]
    mla: Option<MlaSpec>,
    #[serde(default)]
    reported_params: Option<f64>,
    #[serde(default)]
    reported_active_params: Option<f64>,
    #[serde(default)]
    source: String,
}

/// [`Moe`] as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoeSpec {
    experts: Value<u32>,
    active: Value<u32>,
    #[serde(default)]
    shared: Value<u32>,
    ffn: Value<u64>,
    #[serde(default)]
    dense_layers: Value<u32>,
}

/// [`Mla`] as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MlaSpec {
    #[serde(default)]
    q_lora_rank: Value<u64>,
    kv_lora_rank: Value<u64>,
    qk_nope_head_dim: Value<u64>,
    qk_rope_head_dim: Value<u64>,
    v_head_dim: Value<u64>,
}

impl ModelSpec {
    /// The model with its numbers drawn (`field` is where it sits in the scenario, such as
    /// `model`), checked.
    pub fn resolve(&self, field: &str, d: &mut Drawer) -> Result<Model, InputError> {
        let f = |name: &str| format!("{field}.{name}");
        let model = Model {
            id: self.id.clone(),
            name: self.name.clone(),
            layers: d.value(&f("layers"), &self.layers),
            hidden: d.value(&f("hidden"), &self.hidden),
            heads: d.value(&f("heads"), &self.heads),
            kv_heads: d.value(&f("kv_heads"), &self.kv_heads),
            head_dim: self.head_dim.as_ref().map(|v| d.value(&f("head_dim"), v)),
            ffn: d.value(&f("ffn"), &self.ffn),
            mlp: self.mlp,
            vocab: d.value(&f("vocab"), &self.vocab),
            tied_embeddings: self.tied_embeddings,
            learned_positions: d.value(&f("learned_positions"), &self.learned_positions),
            context: d.value(&f("context"), &self.context),
            moe: self.moe.as_ref().map(|m| Moe {
                experts: d.value(&f("moe.experts"), &m.experts),
                active: d.value(&f("moe.active"), &m.active),
                shared: d.value(&f("moe.shared"), &m.shared),
                ffn: d.value(&f("moe.ffn"), &m.ffn),
                dense_layers: d.value(&f("moe.dense_layers"), &m.dense_layers),
            }),
            mla: self.mla.as_ref().map(|m| Mla {
                q_lora_rank: d.value(&f("mla.q_lora_rank"), &m.q_lora_rank),
                kv_lora_rank: d.value(&f("mla.kv_lora_rank"), &m.kv_lora_rank),
                qk_nope_head_dim: d.value(&f("mla.qk_nope_head_dim"), &m.qk_nope_head_dim),
                qk_rope_head_dim: d.value(&f("mla.qk_rope_head_dim"), &m.qk_rope_head_dim),
                v_head_dim: d.value(&f("mla.v_head_dim"), &m.v_head_dim),
            }),
            reported_params: self.reported_params,
            reported_active_params: self.reported_active_params,
            source: self.source.clone(),
        };
        model.validate().map_err(|e| e.under(field))?;
        Ok(model)
    }
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
