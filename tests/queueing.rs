//! Queueing theory gives exact answers for simple cases; the simulator must reproduce them.

use fleetsim::engine::{SimTime, Streams, simulate};
use fleetsim::perf_model::{PerfModel, StepWork};
use fleetsim::scenario::{Scenario, from_yaml};

const PROMPT: u64 = 200;
const OUTPUT: u64 = 8;

/// One GPT-2 replica on an H100 with static batches of one request of fixed lengths: every
/// request's service takes the same time, so the replica is an M/D/1 queue. No failures, and
/// an edge link that carries no bytes, so nothing else adds delay.
fn m_d_1_scenario(rate: f64, horizon_s: f64) -> Scenario {
    one_at_a_time(&format!("rate: {rate}/s"), horizon_s)
}

/// The M/D/1 replica driven instead by `clients` closed-loop clients that pause `think`
/// seconds between a response and their next request.
fn closed_loop_scenario(clients: u64, think_s: f64, horizon_s: f64) -> Scenario {
    one_at_a_time(
        &format!("concurrency: {clients}\n  think_time: {think_s}s"),
        horizon_s,
    )
}

/// The deterministic-service replica under the `arrivals` lines of a workload.
fn one_at_a_time(arrivals: &str, horizon_s: f64) -> Scenario {
    let yaml = format!(
        "
workload:
  {arrivals}
  prompt_tokens: {PROMPT}
  output_tokens: {OUTPUT}
model: gpt2
hardware: {{gpu: h100-sxm, gpus_per_server: 1}}
fleet: {{servers: 1}}
scheduler: {{batching: static, max_seqs: 1}}
study: {{horizon: {horizon_s}s, timeseries_interval: 1h}}
failures: {{enabled: false}}
network: {{edge: {{request_overhead_bytes: 0, request_bytes_per_token: 0, response_bytes_per_token: 0}}}}
"
    );
    from_yaml(&yaml, "one-at-a-time").expect("valid scenario")
}

/// The deterministic service time: one prefill step, then one decode step per further token,
/// each rounded to the engine's tick as the engine does.
fn service_time(scenario: &Scenario) -> f64 {
    let perf = PerfModel::new(&scenario.replica);
    let mut total = SimTime::ZERO;
    let mut prefill = StepWork::default();
    prefill.add_sequence(0, PROMPT, true);
    total = total + perf.step(&prefill).time;
    for generated in 1..OUTPUT {
        let mut decode = StepWork::default();
        decode.add_sequence(PROMPT + generated - 1, 1, true);
        total = total + perf.step(&decode).time;
    }
    total.secs()
}

/// Mean wait in queue of M/D/1 (Pollaczek–Khinchine with zero service variance):
/// `W_q = ρ·S / (2(1 − ρ))`.
fn pollaczek_khinchine_wait(rho: f64, service: f64) -> f64 {
    rho * service / (2.0 * (1.0 - rho))
}

fn check_m_d_1(rho: f64) {
    let probe = m_d_1_scenario(1.0, 1.0);
    let service = service_time(&probe);
    let rate = rho / service;
    // Enough requests that the sampling error of the mean wait is well under 1%.
    let requests = 1_500_000.0;
    let scenario = m_d_1_scenario(rate, requests / rate);
    let run = simulate(&scenario, Streams { seed: 11, run: 0 });
    let e2e = run.summary.latency.e2e;
    let measured_wait = e2e.mean_s.unwrap() - service;
    let expected = pollaczek_khinchine_wait(rho, service);
    let error = (measured_wait - expected).abs() / expected;
    assert!(
        error < 0.03,
        "ρ = {rho}: mean wait {measured_wait:.6} s vs Pollaczek–Khinchine {expected:.6} s \
         ({:.2}% off, {} requests, service {service:.6} s)",
        error * 100.0,
        e2e.count
    );
    // The server is busy a share ρ of the time.
    let utilization = run.summary.utilization.gpu_busy;
    assert!(
        (utilization - rho).abs() < 0.01,
        "busy {utilization} vs ρ {rho}"
    );
}

#[test]
fn m_d_1_mean_wait_matches_pollaczek_khinchine_at_half_load() {
    check_m_d_1(0.5);
}

#[test]
fn m_d_1_mean_wait_matches_pollaczek_khinchine_at_0_8_load() {
    check_m_d_1(0.8);
}

#[test]
fn a_lone_request_takes_exactly_the_service_time() {
    let scenario = m_d_1_scenario(0.01, 36_000.0);
    let run = simulate(&scenario, Streams { seed: 3, run: 0 });
    let e2e = run.summary.latency.e2e;
    assert!(e2e.count >= 1);
    let service = service_time(&scenario);
    // Arrivals about 100 s apart almost never queue: every latency is the service time.
    assert!((e2e.mean_s.unwrap() - service).abs() < 1e-9);
}

#[test]
fn littles_law_holds_on_a_continuous_batching_run() {
    let yaml = "
workload:
  rate: 30/s
  prompt_tokens: {lognormal: {median: 400, sigma: 0.8}, max: 4000}
  output_tokens: {uniform: [20, 300]}
model: llama-3.1-8b
hardware: {gpu: h100-sxm, gpus_per_server: 2}
fleet: {servers: 1, router: least-outstanding-requests}
scheduler: {max_seqs: 64}
study: {horizon: 3h, timeseries_interval: 10m}
failures: {enabled: false}
";
    let scenario = from_yaml(yaml, "little").unwrap();
    let run = simulate(&scenario, Streams { seed: 5, run: 0 });
    let s = run.summary;
    let in_system = s.utilization.waiting_mean + s.utilization.running_mean;
    let arrival_rate = s.requests.arrived as f64 / scenario.horizon.0;
    let mean_sojourn = s.latency.e2e.mean_s.unwrap();
    let little = arrival_rate * mean_sojourn;
    assert!(
        (in_system - little).abs() / in_system < 0.02,
        "L = {in_system:.3} vs λW = {little:.3}"
    );
    assert!(
        s.utilization.batch_mean > 2.0,
        "batches form: {}",
        s.utilization.batch_mean
    );
}

#[test]
fn one_client_with_no_think_time_keeps_the_replica_exactly_busy() {
    let probe = closed_loop_scenario(1, 0.0, 1.0);
    let service = service_time(&probe);
    let horizon = 2_000.0 * service;
    let run = simulate(
        &closed_loop_scenario(1, 0.0, horizon),
        Streams { seed: 1, run: 0 },
    );
    let s = run.summary;
    // Requests follow each other back to back: every one takes the service time and one
    // more starts at the horizon's edge.
    assert!((s.latency.e2e.mean_s.unwrap() - service).abs() < 1e-12);
    assert!(
        s.requests.completed.abs_diff(2_000) <= 1,
        "{:?}",
        s.requests
    );
    assert!(s.utilization.gpu_busy > 0.999, "{}", s.utilization.gpu_busy);
    // Alone on the replica, every gap between tokens is one decode step, so the mean gap is
    // the mean time per output token; each completed request told OUTPUT − 1 gaps.
    let (itl, tpot) = (&s.latency.itl, &s.latency.tpot);
    assert!((itl.mean_s.unwrap() - tpot.mean_s.unwrap()).abs() < 1e-9);
    assert!(itl.count >= s.requests.completed * (OUTPUT - 1));
    assert!(itl.count < (s.requests.completed + 1) * (OUTPUT - 1));
}

#[test]
fn closed_loop_obeys_the_interactive_response_time_law() {
    // N = X·(R + Z): clients = throughput × (response time + think time), exact for any
    // closed system in steady state (Denning & Buzen 1978).
    let (clients, think) = (8, 0.05);
    let probe = closed_loop_scenario(clients, think, 1.0);
    let service = service_time(&probe);
    let horizon = 200_000.0 * service;
    let run = simulate(
        &closed_loop_scenario(clients, think, horizon),
        Streams { seed: 2, run: 0 },
    );
    let s = run.summary;
    let throughput = s.requests.completed as f64 / horizon;
    let response = s.latency.e2e.mean_s.unwrap();
    let law = throughput * (response + think);
    assert!(
        (law - clients as f64).abs() / (clients as f64) < 0.01,
        "X(R+Z) = {law:.4} vs N = {clients} (X {throughput:.2}/s, R {response:.5} s)"
    );
    // Eight clients who think for less than the seven services ahead of them saturate it.
    assert!(7.0 * service > think);
    assert!(s.utilization.gpu_busy > 0.99, "{}", s.utilization.gpu_busy);
}

#[test]
fn closed_loop_clients_back_off_when_every_request_is_refused() {
    // Prompts larger than a step, without chunked prefill, are all refused; each client
    // retries one `ERROR_BACKOFF` later, so the run ends instead of spinning at one instant.
    let yaml = "
workload:
  concurrency: 4
  prompt_tokens: 5000
  output_tokens: 10
model: gpt2
hardware: {gpu: h100-sxm, gpus_per_server: 1}
fleet: {servers: 1}
scheduler: {chunked_prefill: false, max_tokens_per_step: 1000}
study: {horizon: 100s, timeseries_interval: 1h}
failures: {enabled: false}
";
    let scenario = from_yaml(yaml, "refused").unwrap();
    let run = simulate(&scenario, Streams { seed: 4, run: 0 });
    let s = run.summary.requests;
    assert_eq!(s.completed, 0);
    let expected = 4 * (100.0 / fleetsim::workload::ERROR_BACKOFF) as u64;
    assert_eq!(s.arrived, expected, "{s:?}");
}
