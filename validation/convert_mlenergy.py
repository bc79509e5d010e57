#!/usr/bin/env python3
"""Converts the ML.ENERGY leaderboard v3 export into fleetsim's measurement format.

Each measured configuration (model, GPU, tensor parallelism, max_num_seqs) becomes six rows:
inter-token latency p50/p90/p99, output throughput, mean GPU power (all GPUs of the replica)
and GPU energy per output token. The original columns ride along as `source_*` columns.

Assumptions, because the export does not give them (docs/VALIDATION.md):
- the benchmark keeps the server saturated: a closed loop of `max_num_seqs` clients;
- prompts average 500 tokens (lm-arena-chat turns with history);
- prompt and output lengths are log-normal with sigma 1.0 around their means.

Run from the repository root: python3 validation/convert_mlenergy.py
"""
import csv

SOURCE = "validation/mlenergy_v3_lm_arena_chat.csv"
TARGET = "validation/mlenergy_v3.csv"
MODELS = {
    "meta-llama/Llama-3.1-8B-Instruct": "llama-3.1-8b",
    "meta-llama/Llama-3.1-70B-Instruct": "llama-3.1-70b",
}
GPUS = {"H100": "h100-sxm", "B200": "b200"}
PRECISIONS = {"bfloat16": "bf16"}
PROMPT_TOKENS = 500
LENGTH_SIGMA = 1.0
CITATION = "ML.ENERGY leaderboard v3, lm-arena-chat, vLLM 0.11.1 (data of 2026-02-16)"
METRICS = [
    ("itl_ms", "p50", "median_itl_ms"),
    ("itl_ms", "p90", "p90_itl_ms"),
    ("itl_ms", "p99", "p99_itl_ms"),
    ("throughput_tok_s", "mean", "output_tokens_per_s"),
    ("gpu_power_w", "mean", "avg_gpu_power_w"),
    ("energy_per_token_j", "mean", "energy_per_token_j"),
]
KEPT = ["model", "gpu", "num_gpus", "max_num_seqs", "avg_batch_size", "avg_output_len"]

with open(SOURCE, newline="") as f:
    rows = list(csv.DictReader(f))
with open(TARGET, "w", newline="") as f:
    out = csv.writer(f, lineterminator="\n")
    out.writerow(
        ["model", "gpu", "precision", "tensor_parallel", "concurrency", "max_seqs",
         "input_tokens", "output_tokens", "length_sigma", "metric", "statistic", "value",
         "source"] + [f"source_{k}" for k in KEPT]
    )
    for r in rows:
        for metric, statistic, column in METRICS:
            out.writerow(
                [MODELS[r["model"]], GPUS[r["gpu"]], PRECISIONS[r["weight_precision"]],
                 r["tensor_parallel"], r["max_num_seqs"], r["max_num_seqs"], PROMPT_TOKENS,
                 r["avg_output_len"], LENGTH_SIGMA, metric, statistic, r[column], CITATION]
                + [r[k] for k in KEPT]
            )
