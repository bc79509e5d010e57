//! Prefix caching: a hand-made trace's hit rate worked out by hand and reported exactly;
//! caching never lowers throughput nor raises the mean TTFT; the prefix-aware router finds
//! more of the Mooncake slice's prefixes than round-robin; bad settings exit with status 2
//! naming the field; the bytes are the same at any thread count.

mod common;
use common::{csv_rows, fleetsim, fleetsim_ok, write_scenario};

use fleetsim::engine::{Streams, simulate};
use fleetsim::scenario::from_yaml;
use fleetsim::stats::RunSummary;
use std::fs;
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/traces")
        .join(name)
}

/// A scenario replaying `trace_keys` (the keys of `workload.trace`, flow style) on one
/// server of `gpus` single-GPU replicas of Llama-3.1 8B behind `router`, with `scheduler`
/// (flow-style keys) and `study` (flow-style keys).
fn replay_yaml(trace_keys: &str, gpus: u32, router: &str, scheduler: &str, study: &str) -> String {
    format!(
        "
workload:
  trace: {{{trace_keys}}}
model: llama-3.1-8b
hardware: {{gpu: h100-sxm, gpus_per_server: {gpus}}}
fleet: {{servers: 1, router: {router}}}
scheduler: {{{scheduler}}}
failures: {{enabled: false}}
study: {{{study}}}
"
    )
}

/// One run of `yaml` from the library.
fn run(yaml: &str, seed: u64) -> RunSummary {
    let scenario = from_yaml(yaml, "prefix").expect("a valid scenario");
    simulate(&scenario, Streams { seed, run: 0 }).summary
}

/// The hand-made trace (`tests/data/traces/prefix-hand-made.jsonl`): eight requests 10 s
/// apart on one replica with room for all of them, so each finds what those before it
/// cached. Blocks are 512 tokens; a request caches its whole blocks and may use at most
/// ⌊(prompt − 1) / 512⌋ of them, its last token always computed:
///
/// | prompt | ids | whole | may use | cached before | hit |
/// |---|---|---|---|---|---|
/// | 1,200 | 1 2 3 | 2 | 2 | — | 0 |
/// | 1,600 | 1 2 4 5 | 3 | 3 | 1 2 | 2 |
/// | 700 | 1 6 | 1 | 1 | 1 2 4 | 1 |
/// | 1,024 | 1 2 | 2 | 1 | 1 2 4 | 1 |
/// | 2,100 | 7 8 9 10 11 | 4 | 4 | 1 2 4 | 0 |
/// | 2,100 | 7 8 9 10 12 | 4 | 4 | … 7 8 9 10 | 4 |
/// | 300 | 13 | 0 | 0 | | 0 |
/// | 1,600 | 1 2 4 14 | 3 | 3 | 1 2 4 … | 3 |
///
/// 11 of 26 blocks; 11 × 512 = 5,632 of 10,624 prompt tokens.
#[test]
fn the_hit_rate_of_a_hand_made_trace_is_reported_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let trace = format!("file: {}", data("prefix-hand-made.jsonl").display());
    let yaml = replay_yaml(
        &trace,
        1,
        "round-robin",
        "",
        "horizon: 90s, timeseries_interval: 10s",
    );
    let scenario = write_scenario(dir.path(), "hand.yaml", &yaml);
    let out = dir.path().join("out");
    let output = fleetsim_ok("run", &scenario, &out, &[]);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains(
            "prefix     42.3% of prompt blocks found cached (53.0% of prompt tokens), 5,632 \
             prefill tokens saved, 0 blocks evicted"
        ),
        "{printed}"
    );

    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let p = &summary["first_run"]["results"]["prefix_cache"];
    assert_eq!(p["block_tokens"], 512);
    assert_eq!(p["lookups"], 8);
    assert_eq!(
        (p["blocks"].as_u64(), p["hit_blocks"].as_u64()),
        (Some(26), Some(11))
    );
    assert_eq!(p["block_hit_rate"].as_f64(), Some(11.0 / 26.0));
    assert_eq!(p["prompt_tokens"], 10_624);
    assert_eq!(p["hit_tokens"], 5_632);
    assert_eq!(p["token_hit_rate"].as_f64(), Some(5632.0 / 10_624.0));
    assert_eq!(
        (p["rejoins"].as_u64(), p["evictions"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(p["prefill_tokens_saved"], 5_632);
    assert_eq!(summary["configuration"]["prefix_caching"], true);
    let headline = summary["headlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["key"] == "prefix_cache_hit_rate")
        .unwrap();
    assert_eq!(headline["mean"].as_f64(), Some(11.0 / 26.0));

    // One request an interval: its own hits ÷ blocks; nothing looked up after 80 s.
    let rates: Vec<String> = csv_rows(&out.join("timeseries.csv"))
        .iter()
        .map(|row| row["prefix_hit_rate_p50"].clone())
        .collect();
    let expected: Vec<String> = [0.0, 0.5, 0.5, 0.5, 0.0, 0.8, 0.0, 0.75]
        .iter()
        .map(|r: &f64| r.to_string())
        .chain([String::new()])
        .collect();
    assert_eq!(rates, expected);
    let markdown = fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(markdown.contains("## Prefix cache"), "{markdown}");
    assert!(markdown.contains("11 (42.3%)"), "{markdown}");

    // Caching off: the same requests, every prompt prefilled whole, no prefix figures.
    let off = run(
        &yaml.replace("scheduler: {}", "scheduler: {prefix_caching: false}"),
        1,
    );
    let on = run(&yaml, 1);
    assert!(off.prefix_cache.is_none());
    assert_eq!(off.requests.completed, 8);
    assert_eq!(on.requests.completed, 8);
    let prefilled = |s: &RunSummary| (s.throughput.prefill_tokens_per_s * 90.0).round() as u64;
    assert_eq!(prefilled(&off), 10_624);
    assert_eq!(prefilled(&on), 10_624 - 5_632);
}

/// The Mooncake slice on a fleet it loads: two or four replicas, three routers, two seeds
/// (the second copy of the trace is thinned at random), five minutes of its 5.5.
#[test]
fn prefix_caching_never_lowers_throughput_nor_raises_the_mean_ttft() {
    let trace = format!(
        "file: {}, rate_scale: 1.5",
        data("mooncake-conv-1000.jsonl").display()
    );
    for router in ["round-robin", "least-outstanding-requests", "random"] {
        for gpus in [2, 4] {
            for seed in [1, 2] {
                let yaml = |caching: bool| {
                    replay_yaml(
                        &trace,
                        gpus,
                        router,
                        &format!("prefix_caching: {caching}, max_tokens_per_step: 2048"),
                        "horizon: 5m, timeseries_interval: 1m",
                    )
                };
                let (on, off) = (run(&yaml(true), seed), run(&yaml(false), seed));
                let case = format!("{router}, {gpus} GPUs, seed {seed}");
                assert!(on.prefix_cache.unwrap().prefill_tokens_saved > 0, "{case}");
                assert!(
                    on.requests.completed >= off.requests.completed,
                    "{case}: {} vs {} completed",
                    on.requests.completed,
                    off.requests.completed
                );
                assert!(
                    on.throughput.output_tokens_per_s >= off.throughput.output_tokens_per_s,
                    "{case}"
                );
                let (ttft_on, ttft_off) = (on.latency.ttft.mean_s, off.latency.ttft.mean_s);
                assert!(ttft_on.unwrap() <= ttft_off.unwrap(), "{case}");
            }
        }
    }
}

#[test]
fn prefix_aware_routing_finds_more_of_the_mooncake_slice_than_round_robin() {
    let shipped = fs::read_to_string("scenarios/mooncake-replay.yaml").unwrap();
    let trace = data("mooncake-conv-1000.jsonl");
    let shipped = shipped.replace(
        "../tests/data/traces/mooncake-conv-1000.jsonl",
        trace.to_str().unwrap(),
    );
    assert!(shipped.contains("router: prefix-aware"));
    let hit_rate = |yaml: &str| run(yaml, 5).prefix_cache.unwrap().block_hit_rate;
    let prefix_aware = hit_rate(&shipped);
    let round_robin = hit_rate(&shipped.replace("router: prefix-aware", "router: round-robin"));
    assert!(
        prefix_aware > 1.5 * round_robin,
        "prefix-aware {prefix_aware}, round-robin {round_robin}"
    );
}

#[test]
fn bad_prefix_caching_settings_exit_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let mooncake = format!("file: {}", data("mooncake-conv-1000.jsonl").display());
    let azure = format!("file: {}", data("azure-conv-2000.csv").display());
    let study = "horizon: 1m";
    for (yaml, expected) in [
        (
            replay_yaml(&azure, 1, "round-robin", "prefix_caching: true", study),
            "scheduler.prefix_caching: needs prompts whose blocks can be told apart",
        ),
        (
            replay_yaml(
                &mooncake,
                1,
                "round-robin",
                "prefix_caching: true, batching: static",
                study,
            ),
            "scheduler.prefix_caching: needs continuous batching",
        ),
        (
            replay_yaml(&azure, 1, "prefix-aware", "", study),
            "fleet.router: prefix-aware routing follows the replicas' prefix caches",
        ),
        (
            replay_yaml(&mooncake, 1, "prefix-aware", "prefix_caching: false", study),
            "fleet.router: prefix-aware routing",
        ),
        (
            replay_yaml(
                &format!("{mooncake}, block_tokens: 500"),
                1,
                "round-robin",
                "",
                study,
            ),
            "scheduler.kv_block_tokens: must divide the trace's prompt blocks of 500 tokens",
        ),
        (
            replay_yaml(
                &format!("{azure}, block_tokens: 64"),
                1,
                "round-robin",
                "",
                study,
            ),
            "workload.trace.block_tokens: the trace has no prompt block ids",
        ),
        (
            replay_yaml(
                &format!("{mooncake}, block_tokens: 0"),
                1,
                "round-robin",
                "",
                study,
            ),
            "workload.trace.block_tokens",
        ),
        (
            replay_yaml(&mooncake, 1, "round-robin", "prefix_caching: maybe", study),
            "scheduler.prefix_caching",
        ),
        (
            replay_yaml(&mooncake, 1, "round-robin", "prefix_cache: true", study),
            "did you mean `prefix_caching`",
        ),
        (
            replay_yaml(&mooncake, 1, "prefix-awar", "", study),
            "prefix-aware",
        ),
    ] {
        let scenario = write_scenario(dir.path(), "bad.yaml", &yaml);
        let out = dir.path().join("out");
        let output = fleetsim(&[
            "run",
            scenario.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{expected}: {err}");
        assert!(err.contains("bad.yaml:"), "{err}");
        assert!(err.contains(expected), "{expected}: {err}");
        assert!(!out.exists(), "nothing is written");
    }
}

/// With prefix caching and a round-robin router, a run's replicas are simulated in parts
/// on two threads: the same bytes as one thread.
#[test]
fn prefix_caching_gives_the_same_bytes_at_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let trace = format!(
        "file: {}, rate_scale: 1.5",
        data("mooncake-conv-1000.jsonl").display()
    );
    let yaml = replay_yaml(
        &trace,
        4,
        "round-robin",
        "max_tokens_per_step: 2048",
        "horizon: 3m, timeseries_interval: 10s",
    );
    let scenario = write_scenario(dir.path(), "threads.yaml", &yaml);
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    fleetsim_ok("run", &scenario, &one, &["--threads", "1", "--quiet"]);
    fleetsim_ok("run", &scenario, &two, &["--threads", "2", "--quiet"]);
    for file in ["summary.json", "summary.md", "runs.csv", "timeseries.csv"] {
        assert_eq!(
            fs::read(one.join(file)).unwrap(),
            fs::read(two.join(file)).unwrap(),
            "{file}"
        );
    }
}
