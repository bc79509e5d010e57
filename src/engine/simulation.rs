//! One run: the day's requests flow from the workload through the router into the
//! replicas, whose steps are events on the queue, until the horizon.
//!
//! Arrivals are drawn one at a time (only the next one is ever on the queue), so memory holds
//! the requests in flight and nothing else that grows with the day.

use super::queue::EventQueue;
use super::rng::Streams;
use super::time::SimTime;
use crate::fleet::Router;
use crate::perf_model::PerfModel;
use crate::scenario::Scenario;
use crate::serve::{KvCache, Replica};
use crate::stats::{Capacity, Recorder, RunSummary, TimeSeriesRow};
use crate::workload::{Request, RequestSource};

/// What happens at an instant.
#[derive(Clone, Copy, Debug)]
enum Event {
    /// A request reaches the edge.
    Arrival(Request),
    /// Replica `0` finishes its step.
    StepDone(u32),
}

/// What one run produces.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// Headline figures.
    pub summary: RunSummary,
    /// One row per time-series interval.
    pub timeseries: Vec<TimeSeriesRow>,
}

/// The state of one run.
struct Simulation<'a> {
    scenario: &'a Scenario,
    perf: PerfModel,
    replicas: Vec<Replica>,
    router: Router,
    queue: EventQueue<Event>,
    source: RequestSource,
    recorder: Recorder,
    horizon: SimTime,
}

/// Simulates one run of `scenario` with the random streams `streams`.
pub fn simulate(scenario: &Scenario, streams: Streams) -> RunOutput {
    let replica_count = scenario.fleet.replicas as usize;
    let template = Replica::new(
        scenario.scheduler,
        KvCache::new(scenario.kv_block_tokens, scenario.kv_blocks_per_replica),
    );
    let mut sim = Simulation {
        scenario,
        perf: PerfModel::new(&scenario.replica),
        replicas: vec![template; replica_count],
        router: Router::new(scenario.router, replica_count),
        queue: EventQueue::new(),
        source: RequestSource::new(&scenario.workload, &streams),
        recorder: Recorder::new(scenario.horizon.0, scenario.timeseries_interval.0),
        horizon: SimTime::from_secs(scenario.horizon.0),
    };
    sim.run();
    let capacity = sim.capacity();
    let (summary, timeseries) = sim.recorder.finish(&capacity);
    RunOutput {
        summary,
        timeseries,
    }
}

impl Simulation<'_> {
    fn run(&mut self) {
        self.schedule_next_arrival();
        while let Some((now, event)) = self.queue.pop() {
            if now >= self.horizon {
                break;
            }
            match event {
                Event::Arrival(request) => self.arrive(now, request),
                Event::StepDone(index) => self.step_done(now, index as usize),
            }
        }
    }

    fn schedule_next_arrival(&mut self) {
        if let Some(request) = self.source.next_before(self.horizon) {
            self.queue.push(request.arrival, Event::Arrival(request));
        }
    }

    fn arrive(&mut self, now: SimTime, request: Request) {
        self.recorder.arrival(now);
        self.schedule_next_arrival();
        // Replicas are identical: one that can never serve the request means none can.
        if let Err(why) = self.replicas[0].admits(&request) {
            self.recorder.rejected(now, why);
            return;
        }
        let replicas = &self.replicas;
        let index = self.router.route(|i| replicas[i].outstanding());
        self.recorder.change_levels(now, 1, 0, 0);
        self.replicas[index].enqueue(request);
        if !self.replicas[index].is_busy() {
            self.start_step(now, index);
        }
    }

    fn step_done(&mut self, now: SimTime, index: usize) {
        let before = levels_of(&self.replicas[index]);
        let emitted = self.replicas[index].finish_step(now, &mut self.recorder);
        self.recorder.output_tokens(now, emitted);
        self.note_level_change(now, index, before);
        self.start_step(now, index);
    }

    /// Starts the next step of replica `index` if it has work.
    fn start_step(&mut self, now: SimTime, index: usize) {
        let before = levels_of(&self.replicas[index]);
        let planned = self.replicas[index].start_step(now, &self.perf, &mut self.recorder);
        self.note_level_change(now, index, before);
        let Some(step) = planned else { return };
        // A step always advances time, so the clock cannot stall on an empty model.
        let end = (now + step.cost.time).max(SimTime(now.0 + 1));
        let power = self.scenario.gpu_power;
        let above_idle = power.power(self.perf.activity(&step.cost, end - now)) - power.idle;
        let gpus = self.scenario.replica.parallelism.gpus();
        self.recorder.step(now, end, gpus, &step, above_idle);
        self.queue.push(end, Event::StepDone(index as u32));
    }

    fn note_level_change(&mut self, now: SimTime, index: usize, before: (i64, i64, i64)) {
        let after = levels_of(&self.replicas[index]);
        if after != before {
            self.recorder.change_levels(
                now,
                after.0 - before.0,
                after.1 - before.1,
                after.2 - before.2,
            );
        }
    }

    fn capacity(&self) -> Capacity {
        let s = self.scenario;
        let gpus = s.fleet.gpus();
        Capacity {
            gpus,
            replicas: s.fleet.replicas,
            kv_blocks: s.kv_blocks_per_replica * s.fleet.replicas,
            peak_flops: self.perf.replica_peak().0 * s.fleet.replicas as f64,
            memory_bandwidth: s.replica.gpu.memory_bandwidth.0 * gpus as f64,
            idle_power_w: s.gpu_power.idle.0 * gpus as f64,
            pue: s.facility.pue,
        }
    }
}

/// A replica's waiting, running and KV-block counts.
fn levels_of(replica: &Replica) -> (i64, i64, i64) {
    (
        replica.waiting() as i64,
        replica.running() as i64,
        replica.kv().used_blocks() as i64,
    )
}
