//! Speed of the simulator's parts and of the whole: event-queue operations (scattered pushes
//! and pops, and a fleet's replicas each rescheduling its one step), one perf-model step, and
//! simulated requests per second on the reference workload (`reference.yaml`),
//! on one thread and with its replicas in two parts on two threads.
//!
//! `cargo bench --bench engine`; one group with `cargo bench --bench engine -- end_to_end`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use fleetsim::engine::{EventQueue, SimTime, Streams, simulate};
use fleetsim::perf_model::{PerfModel, StepWork};
use fleetsim::scenario::{Scenario, from_yaml};
use std::hint::black_box;

/// The reference workload: 1,000,000 requests on 16 TP4 replicas of Llama-3-70B.
fn reference() -> Scenario {
    let text = include_str!("reference.yaml");
    from_yaml(text, "reference").expect("the reference scenario is valid")
}

/// Pushes then pops 100,000 events at scattered times, as a run's steps and arrivals do.
fn event_queue(c: &mut Criterion) {
    const EVENTS: u64 = 100_000;
    let mut group = c.benchmark_group("event_queue");
    group.throughput(Throughput::Elements(2 * EVENTS));
    group.bench_function("push_pop_100k", |b| {
        b.iter_batched(
            EventQueue::<u64>::new,
            |mut queue| {
                // A multiplicative hash spreads the times like independent clocks would.
                for i in 0..EVENTS {
                    let t = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 24;
                    queue.push(SimTime(t), i);
                }
                while let Some(event) = queue.pop() {
                    black_box(event);
                }
            },
            BatchSize::SmallInput,
        );
    });
    // A fleet's steps: each of the ChatGPT fleet's 3,617 replicas has one step in flight;
    // the earliest ends and its replica puts its next, some 40 ms later.
    const REPLICAS: usize = 3617;
    let scattered = |i: u64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    group.bench_function("replica_steps_3617_100k", |b| {
        b.iter_batched(
            || {
                let mut queue = EventQueue::<u32>::with_owners(REPLICAS);
                for r in 0..REPLICAS {
                    queue.put_first(r, SimTime(scattered(r as u64)), r as u32);
                }
                queue
            },
            |mut queue| {
                for i in 0..EVENTS {
                    let (t, r) = queue.pop().expect("every replica has a step in flight");
                    let next = SimTime(t.0 + 40_000_000 + scattered(i) % 1_000_000);
                    queue.put_first(r as usize, next, r);
                }
                black_box(queue.len());
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

/// One step of the reference replica: a decode batch of 128 sequences at 1,200 tokens of
/// context plus a 2,048-token prefill chunk.
fn perf_model(c: &mut Criterion) {
    let scenario = reference();
    let perf = PerfModel::new(&scenario.replica);
    let mut work = StepWork::default();
    for _ in 0..128 {
        work.add_sequence(1200, 1, true);
    }
    work.add_sequence(0, 2048, false);
    let mut group = c.benchmark_group("perf_model");
    group.throughput(Throughput::Elements(1));
    group.bench_function("step", |b| b.iter(|| perf.step(black_box(&work))));
    group.finish();
}

/// The whole reference run: about 1,000,000 requests simulated.
fn end_to_end(c: &mut Criterion) {
    let scenario = reference();
    let requests = simulate(&scenario, Streams { seed: 1, run: 0 })
        .summary
        .requests
        .arrived;
    let mut group = c.benchmark_group("end_to_end");
    group.sample_size(10);
    group.throughput(Throughput::Elements(requests));
    group.bench_function("reference_1m_requests", |b| {
        b.iter(|| simulate(black_box(&scenario), Streams { seed: 1, run: 0 }))
    });
    // The same run, its 16 replicas in two parts on two threads (the same bits).
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a pool of two threads");
    let parallel = Scenario {
        run_threads: 2,
        ..scenario
    };
    group.bench_function("reference_1m_requests_2_threads", |b| {
        b.iter(|| two.install(|| simulate(black_box(&parallel), Streams { seed: 1, run: 0 })))
    });
    group.finish();
}

criterion_group!(benches, event_queue, perf_model, end_to_end);
criterion_main!(benches);
