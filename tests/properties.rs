//! Invariants that hold for every scenario, checked over random ones.

use fleetsim::engine::{Stepping, Streams, simulate, simulate_keeping_completions};
use fleetsim::fleet::RouterPolicy;
use fleetsim::scenario::{Scenario, from_yaml};
use fleetsim::stats::RunMeasurements;
use proptest::prelude::*;
use std::fmt::Write;

/// A small scenario: GPT-2 on L4s with a tight memory budget, so that KV-cache preemptions
/// and rejections of requests too long for the cache both happen; with `failures`, parts
/// that fail every few minutes, so that retries and failed requests happen too; with
/// `autoscale` (requests per replica, provisioning delay in seconds), between one and four
/// servers boot, drain and are released as well.
#[derive(Clone, Debug)]
struct Knobs {
    /// `rate: …/s` or `concurrency: …`.
    traffic: String,
    batching: &'static str,
    chunked: bool,
    memory_utilization: f64,
    max_seqs: u32,
    replicas: u32,
    router: RouterPolicy,
    failures: bool,
    autoscale: Option<(f64, u32)>,
    /// A 2 Mb/s edge with 3 ms of latency, on which responses queue.
    slow_edge: bool,
    /// Instead of `traffic`, a trace of conversations sharing prefixes (generated from this
    /// seed), replayed at `traffic`'s rate with prefix caching (unless batching is static).
    prefix_trace: Option<u64>,
}

/// The arrival rate of [`conversations`], per second.
const CONVERSATION_RATE: f64 = 2.5;

/// A Mooncake-format trace of 300 requests over 120 s, in conversations: every prompt opens
/// with a shared system prompt of two 64-token blocks; a conversation's next turn repeats its
/// last prompt and answer and adds a message, so its blocks are the last prompt's whole ones
/// and new ones; prompts stay under 1,000 tokens (a longer one starts a new conversation).
fn conversations(seed: u64) -> String {
    let mut state = seed;
    let mut next = move |n: u64| {
        // SplitMix64.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    };
    // Per conversation: its last prompt's tokens, its whole blocks' ids, its last answer.
    let mut open: Vec<(u64, Vec<u64>, u64)> = Vec::new();
    let mut next_id = 2;
    let mut text = String::new();
    for row in 0..300u64 {
        let turn = (!open.is_empty() && next(3) > 0).then(|| next(open.len() as u64) as usize);
        let message = 20 + next(200);
        let (base, mut ids) = match turn {
            Some(c) => (open[c].0 + open[c].2 + message, open[c].1.clone()),
            None => (128 + message, vec![0, 1]),
        };
        let (tokens, turn) = if base < 1000 {
            (base, turn)
        } else {
            (128 + message, None)
        };
        if turn.is_none() {
            ids = vec![0, 1];
        }
        while (ids.len() as u64) < tokens.div_ceil(64) {
            ids.push(next_id);
            next_id += 1;
        }
        let output = 1 + next(200);
        let _ = writeln!(
            text,
            "{{\"timestamp\": {}, \"input_length\": {tokens}, \"output_length\": {output}, \
             \"hash_ids\": {ids:?}}}",
            row * 400
        );
        // The last, partial block is not part of the next turn's prefix.
        ids.truncate((tokens / 64) as usize);
        match turn {
            Some(c) => open[c] = (tokens, ids, output),
            None => open.push((tokens, ids, output)),
        }
    }
    text
}

fn scenario(k: &Knobs) -> Scenario {
    let router = k.router.name();
    let autoscaling = k.autoscale.map_or(String::new(), |(target, delay)| {
        format!(
            ", autoscaling: {{min_servers: 1, max_servers: 4, requests_per_replica: {target}, \
             interval: 10s, provisioning_delay: {delay}s, scale_down_delay: 30s}}"
        )
    });
    let failures = if k.failures {
        "{gpu_mtbf: 20m, server_mtbf: 1h, gpu_mttr: 2m, server_mttr: 3m, max_retries: 1}"
    } else {
        "{enabled: false}"
    };
    let edge = if k.slow_edge {
        "network: {edge: {bandwidth: 2Mb/s, latency: 3ms}}"
    } else {
        ""
    };
    // Read when the scenario is resolved: the file may go with the folder after that.
    let dir = tempfile::tempdir().expect("a temporary folder");
    let workload = match k.prefix_trace {
        Some(seed) => {
            let path = dir.path().join("conversations.jsonl");
            std::fs::write(&path, conversations(seed)).expect("the trace is written");
            let rate: f64 = k
                .traffic
                .trim_start_matches("rate: ")
                .trim_end_matches("/s")
                .parse()
                .expect("an open-loop rate");
            format!(
                "trace: {{file: {:?}, block_tokens: 64, loop: true, time_scale: {}}}",
                path.display(),
                CONVERSATION_RATE / rate
            )
        }
        None => format!(
            "{}
  prompt_tokens: {{lognormal: {{median: 300, sigma: 1.0}}, max: 1000}}
  output_tokens: {{lognormal: {{median: 60, sigma: 1.0}}, max: 1000}}",
            k.traffic
        ),
    };
    let yaml = format!(
        "
workload:
  {workload}
model: gpt2
hardware: {{gpu: l4, gpus_per_server: {}}}
fleet: {{servers: 2, router: {router}{autoscaling}}}
failures: {failures}
costs: {{hardware: {{rented: {{gpu_hour: 0.8}}}}}}
{edge}
scheduler:
  batching: {}
  chunked_prefill: {}
  max_seqs: {}
  max_tokens_per_step: 1024
  memory_utilization: {}
  activation_reserve: 0
study: {{horizon: 10m, timeseries_interval: 1m}}
",
        k.replicas, k.batching, k.chunked, k.max_seqs, k.memory_utilization
    );
    from_yaml(&yaml, "property").expect("valid scenario")
}

fn arbitrary_scenario() -> impl Strategy<Value = Scenario> {
    (
        1.0..200.0f64,
        prop::sample::select(vec!["continuous", "static"]),
        any::<bool>(),
        0.0105..0.03f64,
        1u32..64,
        1u32..4,
        prop::sample::select(RouterPolicy::ALL.to_vec()),
        prop::option::of((1.0..64.0f64, 0u32..120)),
        prop::option::of(any::<u64>()),
    )
        .prop_map(
            |(rate, batching, chunked, memory, seqs, replicas, router, autoscale, prefix)| {
                // Prefix-aware routing needs prefix caching: a trace and continuous batching.
                let prefix_aware = router == RouterPolicy::PrefixAware;
                scenario(&Knobs {
                    traffic: format!("rate: {rate}/s"),
                    batching: if prefix_aware { "continuous" } else { batching },
                    chunked,
                    memory_utilization: memory,
                    max_seqs: seqs,
                    replicas,
                    router,
                    failures: true,
                    autoscale,
                    slow_edge: false,
                    prefix_trace: if prefix_aware {
                        Some(prefix.unwrap_or(rate.to_bits()))
                    } else {
                        prefix
                    },
                })
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn requests_are_conserved(s in arbitrary_scenario(), seed in 0u64..1000) {
        let run = simulate(&s, Streams { seed, run: 0 });
        let r = run.summary.requests;
        prop_assert_eq!(r.arrived, r.completed + r.rejected + r.failed + r.in_flight);
        prop_assert!(r.waiting_at_horizon <= r.in_flight);
        let rows = &run.timeseries;
        prop_assert_eq!(rows.iter().map(|row| row.arrivals).sum::<u64>(), r.arrived);
        prop_assert_eq!(rows.iter().map(|row| row.completions).sum::<u64>(), r.completed);
        prop_assert_eq!(rows.iter().map(|row| row.rejected).sum::<u64>(), r.rejected);
        prop_assert_eq!(rows.iter().map(|row| row.failed).sum::<u64>(), r.failed);
        prop_assert_eq!(rows.iter().map(|row| row.preemptions).sum::<u64>(), r.preemptions);
        prop_assert_eq!(run.summary.latency.e2e.count, r.completed);
        prop_assert_eq!(run.summary.prefix_cache.is_some(), s.prefix_caching.is_some());
        if let Some(p) = run.summary.prefix_cache {
            prop_assert_eq!(rows.iter().map(|row| row.prefix_blocks).sum::<u64>(), p.blocks);
            prop_assert_eq!(rows.iter().map(|row| row.prefix_hit_blocks).sum::<u64>(), p.hit_blocks);
            prop_assert!(p.hit_blocks <= p.blocks && p.hit_tokens < p.prompt_tokens.max(1));
            // Every request that started looked up its prompt, at each replica it went to;
            // preempted ones again.
            prop_assert!(p.lookups >= r.completed && p.lookups <= r.arrived + r.retries);
            prop_assert!(p.rejoins <= r.preemptions && p.prefill_tokens_saved >= p.hit_tokens);
        }
    }

    #[test]
    fn energy_is_at_least_idle_energy(s in arbitrary_scenario(), seed in 0u64..1000) {
        let mut s = s;
        s.seed = seed;
        let run = fleetsim::study::run(&s);
        let (g, e) = (run.summary.gpu_energy, run.energy);
        // Idle power is drawn by the GPUs of the servers on, all of them for a fixed fleet.
        let gpus_on = run.summary.utilization.servers_on_mean * f64::from(s.fleet.gpus_per_server);
        prop_assert!(gpus_on <= s.fleet.gpus() as f64 * (1.0 + 1e-12));
        prop_assert!(s.autoscaling.is_some() || (gpus_on - s.fleet.gpus() as f64).abs() < 1e-9);
        let idle_kwh = s.gpu_power.idle.0 * gpus_on * s.horizon.0 / 3.6e6;
        prop_assert!((g.idle_kwh - idle_kwh).abs() <= 1e-9 * idle_kwh);
        prop_assert!(g.kwh >= g.idle_kwh);
        prop_assert!((e.gpu_kwh - g.kwh).abs() <= 1e-9 * g.kwh);
        prop_assert!(e.it_kwh >= e.gpu_kwh && e.facility_kwh >= e.it_kwh);
        let max_kwh = s.gpu_power.tdp.0 * s.fleet.gpus() as f64 * s.horizon.0 / 3.6e6;
        prop_assert!(g.kwh <= max_kwh * (1.0 + 1e-12));
        let parts = e.it_kwh + e.cooling_kwh + e.other_kwh;
        prop_assert!((parts - e.facility_kwh).abs() <= 1e-9 * e.facility_kwh);
    }

    #[test]
    fn utilisations_are_shares(s in arbitrary_scenario(), seed in 0u64..1000) {
        let u = simulate(&s, Streams { seed, run: 0 }).summary.utilization;
        for share in [u.gpu_busy, u.flops, u.memory_bandwidth, u.kv_cache_mean, u.kv_cache_peak] {
            prop_assert!((0.0..=1.0 + 1e-9).contains(&share), "{:?}", u);
        }
        prop_assert!(u.kv_cache_mean <= u.kv_cache_peak + 1e-12);
    }

    #[test]
    fn a_run_depends_only_on_its_seed(s in arbitrary_scenario(), seed in 0u64..1000) {
        let a = simulate(&s, Streams { seed, run: 0 });
        let b = simulate(&s, Streams { seed, run: 0 });
        prop_assert_eq!(a.summary, b.summary);
        prop_assert_eq!(a.timeseries, b.timeseries);
    }
}

#[test]
fn the_tight_scenarios_preempt_reject_retry_and_fail() {
    let s = scenario(&Knobs {
        traffic: "rate: 150/s".into(),
        batching: "continuous",
        chunked: true,
        memory_utilization: 0.0105,
        max_seqs: 64,
        replicas: 1,
        router: RouterPolicy::RoundRobin,
        failures: true,
        autoscale: None,
        slow_edge: false,
        prefix_trace: None,
    });
    let summary = simulate(&s, Streams { seed: 1, run: 0 }).summary;
    let r = summary.requests;
    assert!(r.preemptions > 0, "{r:?}");
    assert!(r.rejected_kv_cache > 0, "{r:?}");
    assert!(r.retries > 0 && r.failed > 0, "{r:?}");
    let f = summary.reliability;
    assert!(
        f.gpu_failures + f.server_failures > 0 && f.availability < 1.0,
        "{f:?}"
    );
}

/// `a` and `b` agree to 1e-9 relative (or 1e-12 absolute near zero).
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) || (a - b).abs() <= 1e-12
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Runs of decode steps with the batch's decoders in lockstep against single steps,
    /// each with the scheduler's pass over the whole batch (`Stepping::Single`).
    #[test]
    fn runs_of_decode_steps_equal_single_steps(
        rate in 1.0..150.0f64,
        chunked in any::<bool>(),
        memory in 0.0105..0.03f64,
        seqs in 1u32..64,
        replicas in 1u32..4,
        router in prop::sample::select(RouterPolicy::ALL.to_vec()),
        closed in any::<bool>(),
        failures in any::<bool>(),
        autoscale in prop::option::of((1.0..64.0f64, 0u32..120)),
        prefix in prop::option::of(any::<u64>()),
        seed in 0u64..1000,
    ) {
        // Open or closed loop, or conversations sharing prefixes with prefix caching; every
        // router, tight caches, failures or none, autoscaling or none, a slow edge.
        let prefix = if router == RouterPolicy::PrefixAware { Some(prefix.unwrap_or(seed)) } else { prefix };
        let mut s = scenario(&Knobs {
            traffic: if closed && prefix.is_none() {
                format!("concurrency: {}", (rate / 4.0).ceil())
            } else {
                format!("rate: {rate}/s")
            },
            batching: "continuous",
            chunked,
            memory_utilization: memory,
            max_seqs: seqs,
            replicas,
            router,
            failures,
            autoscale,
            slow_edge: true,
            prefix_trace: prefix,
        });
        let streams = Streams { seed, run: 0 };
        s.stepping = Stepping::Single;
        let single = simulate_keeping_completions(&s, streams);
        s.stepping = Stepping::Runs;
        let runs = simulate_keeping_completions(&s, streams);
        let (a, b) = (single.completions.unwrap(), runs.completions.unwrap());
        prop_assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            prop_assert_eq!(x.id, y.id);
            prop_assert!(close(x.ttft_s, y.ttft_s), "request {}: TTFT {} vs {}", x.id, x.ttft_s, y.ttft_s);
            prop_assert!(close(x.e2e_s, y.e2e_s), "request {}: e2e {} vs {}", x.id, x.e2e_s, y.e2e_s);
        }
        prop_assert_eq!(single.summary.requests, runs.summary.requests);
        prop_assert_eq!(single.summary.prefix_cache, runs.summary.prefix_cache);
        prop_assert_eq!(single.summary.throughput.output_tokens, runs.summary.throughput.output_tokens);
        prop_assert_eq!(single.latency.itl.summary().count, runs.latency.itl.summary().count);
        for (x, y) in single.timeseries.iter().zip(&runs.timeseries) {
            prop_assert_eq!((x.prefix_blocks, x.prefix_hit_blocks), (y.prefix_blocks, y.prefix_hit_blocks));
            for (p, q) in [
                (x.gpu_busy, y.gpu_busy),
                (x.flops_util, y.flops_util),
                (x.kv_cache, y.kv_cache),
                (x.waiting_mean, y.waiting_mean),
                (x.running_mean, y.running_mean),
                (x.gpu_power_kw, y.gpu_power_kw),
                (x.output_tokens_per_s, y.output_tokens_per_s),
            ] {
                prop_assert!(close(p, q), "interval at {} s: {} vs {}", x.t_start_s, p, q);
            }
        }
    }
}

/// One run of `s` on a pool of `threads` threads: one thread simulates the fleet as one,
/// more cut an eligible fleet into that many parts simulated in parallel.
fn on_threads(threads: usize, s: &Scenario, streams: Streams) -> RunMeasurements {
    let mut s = s.clone();
    s.run_threads = threads;
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(|| simulate_keeping_completions(&s, streams))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// With an open loop, a stateless router, no failures and no autoscaler, replicas
    /// simulated in parallel parts give the very bits of one simulation of the fleet.
    #[test]
    fn replicas_in_parallel_equal_one_simulation(
        rate in 1.0..300.0f64,
        chunked in any::<bool>(),
        memory in 0.0105..0.03f64,
        seqs in 1u32..64,
        replicas in 1u32..5,
        random in any::<bool>(),
        slow_edge in any::<bool>(),
        single in any::<bool>(),
        prefix in prop::option::of(any::<u64>()),
        seed in 0u64..1000,
    ) {
        let mut s = scenario(&Knobs {
            traffic: format!("rate: {rate}/s"),
            batching: "continuous",
            chunked,
            memory_utilization: memory,
            max_seqs: seqs,
            replicas,
            router: if random { RouterPolicy::Random } else { RouterPolicy::RoundRobin },
            failures: false,
            autoscale: None,
            slow_edge,
            prefix_trace: prefix,
        });
        if single {
            s.stepping = Stepping::Single;
        }
        let streams = Streams { seed, run: 0 };
        let one = on_threads(1, &s, streams);
        for threads in [2, 3] {
            let parts = on_threads(threads, &s, streams);
            prop_assert_eq!(&parts.summary, &one.summary);
            prop_assert_eq!(&parts.timeseries, &one.timeseries);
            prop_assert_eq!(&parts.completions, &one.completions);
            for (x, y) in [
                (&parts.latency.ttft, &one.latency.ttft),
                (&parts.latency.tpot, &one.latency.tpot),
                (&parts.latency.itl, &one.latency.itl),
                (&parts.latency.e2e, &one.latency.e2e),
            ] {
                prop_assert_eq!(x.summary(), y.summary());
                prop_assert_eq!(x.cdf(), y.cdf());
            }
        }
    }
}
