//! One run: the day's requests cross the edge link, the router sends them to healthy
//! replicas, whose steps are events on the queue; parts fail and are repaired; an
//! autoscaler switches servers on and off; the run stops at the horizon.
//!
//! Arrivals are drawn one at a time (only the next one of an open stream is ever pending,
//! beside the queue), so memory holds the requests in flight and nothing else that grows
//! with the day.

mod decode_run;
mod parallel;
mod scaling;

use decode_run::{RunState, step_end};
use scaling::Scaler;

use super::Stepping;
use super::queue::{EventKey, EventQueue};
use super::rng::{Stream, Streams};
use super::time::SimTime;
use crate::fleet::{EdgeLink, Failures, Part, ReplicaLoad, Router, RouterPolicy};
use crate::perf_model::{PerfModel, StepCost};
use crate::scenario::Scenario;
use crate::serve::{Attempt, Finished, KvCache, PlannedStep, Rejection, Replica};
use crate::stats::{Capacity, Recorder, RunMeasurements};
use crate::units::{Seconds, Watts};
use crate::workload::{Request, RequestSource};
use rand::rngs::Xoshiro256PlusPlus;
use std::collections::VecDeque;

/// What happens at an instant.
#[derive(Clone, Copy, Debug)]
enum Event {
    /// A closed-loop client's request reaches the edge (an open stream's next request waits
    /// beside the queue: [`Simulation::next_open`]).
    Arrival(Request),
    /// A request has crossed the edge link and reaches the router.
    AtRouter(Request),
    /// A replica finishes the step it started in its `epoch` (a failure starts a new one).
    StepDone {
        /// The replica.
        replica: u32,
        /// Its epoch when the step started.
        epoch: u32,
        /// Tokens the step emits.
        emits: u32,
    },
    /// The next failure in the fleet.
    Failure(Part),
    /// A failed part comes back.
    Repair(Part),
    /// The autoscaler decides.
    Autoscale,
    /// A replica's run of decode steps reaches the end of its scheduled steps (if the
    /// replica is still in the `epoch` it was scheduled in).
    RunDone {
        /// The replica.
        replica: u32,
        /// Its epoch when the event was scheduled.
        epoch: u32,
    },
    /// A unit of servers has booted.
    Booted {
        /// The unit.
        unit: u32,
        /// Its boot number.
        boot: u32,
    },
}

/// A replica and what the engine knows about it.
#[derive(Clone, Debug)]
struct Slot {
    replica: Replica,
    /// Failed parts it depends on; healthy when zero.
    down: u32,
    /// Bumped at each failure, so a lost step's completion is ignored.
    epoch: u32,
    /// When it went down.
    down_since: SimTime,
    /// Whether its servers are on and taking requests (false while off, booting or
    /// draining).
    serving: bool,
    /// Its run of decode steps, in flight or not.
    run: RunState,
    /// The ends of the run's steps after the one in flight, up to its event, worked out
    /// when the event was put (kept here to be reused from run to run). Their costs are
    /// worked out again as they are settled: a few dozen operations on what the run holds,
    /// where keeping them (48 bytes a step) was a cache miss by the time the run was
    /// settled, on a fleet of thousands of replicas.
    run_ends: VecDeque<SimTime>,
}

impl Slot {
    /// Whether the router may send it requests.
    fn routable(&self) -> bool {
        self.down == 0 && self.serving
    }
}

/// The state of one run.
struct Simulation<'a> {
    scenario: &'a Scenario,
    perf: PerfModel,
    slots: Vec<Slot>,
    healthy: usize,
    router: Router,
    routing_rng: Xoshiro256PlusPlus,
    edge: EdgeLink,
    failures: Option<Failures>,
    failure_rng: Xoshiro256PlusPlus,
    scaler: Option<Scaler>,
    /// Whether runs of decode steps are single events.
    runs: bool,
    queue: EventQueue<Event>,
    /// The open stream's next request, on its way to the router, and its place in the
    /// queue's order: kept beside the queue, so that a request of an open stream is no event
    /// until it reaches the router.
    next_open: Option<(EventKey, Request)>,
    source: RequestSource,
    recorder: Recorder,
    horizon: SimTime,
}

/// Simulates one run of `scenario` with the random streams `streams`.
pub fn simulate(scenario: &Scenario, streams: Streams) -> RunMeasurements {
    simulate_with(scenario, streams, false)
}

/// [`simulate`], keeping every completed request's latencies in
/// [`RunMeasurements::completions`] (memory grows with the requests: for checks).
pub fn simulate_keeping_completions(scenario: &Scenario, streams: Streams) -> RunMeasurements {
    simulate_with(scenario, streams, true)
}

fn simulate_with(scenario: &Scenario, streams: Streams, keep: bool) -> RunMeasurements {
    if let Some(parts) = parallel::parts(scenario) {
        return parallel::simulate(scenario, streams, keep, parts);
    }
    let mut sim = Simulation::new(scenario, &streams, scenario.fleet.replicas as usize);
    if keep {
        sim.recorder.keep_completions();
    }
    sim.run();
    sim.close();
    sim.recorder.finish(&capacity(scenario, &sim.perf))
}

impl<'a> Simulation<'a> {
    /// A run of `scenario` over `replicas` replicas (the fleet's, or the part of them
    /// simulated apart), before anything happens.
    fn new(scenario: &'a Scenario, streams: &Streams, replicas: usize) -> Simulation<'a> {
        let replica = Replica::new(
            scenario.scheduler,
            KvCache::new(scenario.kv_block_tokens, scenario.kv_blocks_per_replica),
        );
        let replica = match scenario.stepping {
            Stepping::Runs => replica,
            Stepping::Single => replica.without_lockstep(),
        };
        let template = Slot {
            replica: match &scenario.prefix_caching {
                Some(prompts) => replica.with_prefix_caching(prompts.clone()),
                None => replica,
            },
            down: 0,
            epoch: 0,
            down_since: SimTime::ZERO,
            serving: true,
            run: RunState::default(),
            run_ends: VecDeque::new(),
        };
        let mut sim = Simulation {
            scenario,
            perf: PerfModel::new(&scenario.replica),
            slots: vec![template; replicas],
            healthy: replicas,
            router: Router::new(scenario.router, replicas),
            routing_rng: streams.rng(Stream::Routing),
            edge: EdgeLink::new(scenario.edge, replicas),
            failures: scenario
                .failures
                .map(|model| Failures::new(model, scenario.fleet)),
            failure_rng: streams.rng(Stream::Failures),
            scaler: scenario.autoscaling.map(Scaler::new),
            runs: false,
            queue: EventQueue::with_owners(replicas),
            next_open: None,
            source: RequestSource::new(&scenario.workload, streams),
            recorder: Recorder::new(scenario.horizon.0, scenario.timeseries_interval.0, replicas),
            horizon: SimTime::from_secs(scenario.horizon.0),
        };
        sim.runs = sim.runs_allowed();
        sim
    }
}

impl Simulation<'_> {
    fn run(&mut self) {
        self.switch_on_first_servers();
        self.schedule_first_arrivals();
        self.schedule_next_failure(SimTime::ZERO);
        loop {
            let open_first = match (&self.next_open, self.queue.peek_key()) {
                (Some((open, _)), Some(queued)) => *open < queued,
                (open, _) => open.is_some(),
            };
            if open_first {
                let (key, request) = self.next_open.take().expect("an open arrival");
                if key.time >= self.horizon {
                    break;
                }
                self.route(key.time, request.into());
                self.draw_open_arrival();
            } else {
                let Some((now, event)) = self.queue.pop() else {
                    break;
                };
                if now >= self.horizon {
                    break;
                }
                self.handle(now, event);
            }
        }
        // The link is first come, first served: the open stream's requests not yet routed
        // reach the router after the horizon. They arrived before it, and cross the link.
        self.draw_open_arrival();
        while self.next_open.take().is_some() {
            self.draw_open_arrival();
        }
    }

    /// Handles `event`, due at `now`.
    fn handle(&mut self, now: SimTime, event: Event) {
        match event {
            Event::Arrival(request) => self.arrive(now, request),
            Event::AtRouter(request) => self.route(now, request.into()),
            Event::StepDone {
                replica,
                epoch,
                emits,
            } => {
                if self.slots[replica as usize].epoch == epoch {
                    self.step_done(now, replica as usize, emits);
                }
            }
            Event::RunDone { replica, epoch } => {
                if self.slots[replica as usize].epoch == epoch {
                    self.run_done(now, replica as usize);
                }
            }
            Event::Failure(part) => self.fail(now, part),
            Event::Repair(part) => self.repair(now, part),
            Event::Autoscale => self.autoscale(now),
            Event::Booted { unit, boot } => {
                let scaler = self.scaler.as_mut().expect("autoscaling is on");
                if scaler.boot_ended(unit as usize, boot) {
                    self.serve_unit(now, unit as usize, true);
                }
            }
        }
    }

    /// Closes the books at the horizon: runs settled, outages still open, edge totals.
    fn close(&mut self) {
        self.settle_runs_at_horizon();
        self.record_evictions();
        let gpus = self.scenario.replica.parallelism.gpus();
        for slot in self.slots.iter().filter(|s| s.down > 0) {
            self.recorder.outage(slot.down_since, self.horizon, gpus);
        }
        let ingress = self.edge.ingress;
        let (egress_bytes, egress_busy) = self.edge.egress_totals();
        self.recorder.edge_traffic(
            (ingress.bytes().0, ingress.busy().0),
            (egress_bytes.value(), egress_busy.value()),
        );
    }

    /// Puts the first arrivals on their way: every client of a closed loop on the queue, or
    /// the first request of an open stream beside it.
    fn schedule_first_arrivals(&mut self) {
        if self.source.is_closed() {
            for request in self.source.initial_clients() {
                self.queue.push(request.arrival, Event::Arrival(request));
            }
        } else {
            self.draw_open_arrival();
        }
    }

    /// Draws the open stream's next request, counts its arrival and sends it over the edge
    /// link; it waits beside the queue until it reaches the router. Drawn once the request
    /// before it was routed, and the link is first come, first served, so requests are routed
    /// in arrival order.
    fn draw_open_arrival(&mut self) {
        while let Some(request) = self.source.next_before(self.horizon) {
            let now = request.arrival;
            self.recorder.arrival(now);
            match to_router(&self.slots[0].replica, &mut self.edge, now, &request) {
                Ok(at) => {
                    self.next_open = Some((self.queue.key_later(at.max(now)), request));
                    return;
                }
                Err(why) => self.recorder.rejected(now, why),
            }
        }
    }

    /// A request has ended (served, or refused or failed) and its user learnt so at `at`: a
    /// closed-loop client sends its next one.
    fn client_done(&mut self, at: SimTime, served: bool) {
        if let Some(request) = self.source.follow_up(at, served, self.horizon) {
            self.queue.push(request.arrival, Event::Arrival(request));
        }
    }

    fn schedule_next_failure(&mut self, now: SimTime) {
        let Some(failures) = &self.failures else {
            return;
        };
        if let Some((gap, part)) = failures.next_failure(&mut self.failure_rng) {
            let at = now + gap;
            if at < self.horizon {
                self.queue.push(at, Event::Failure(part));
            }
        }
    }

    /// A closed-loop client's request reaches the edge.
    fn arrive(&mut self, now: SimTime, request: Request) {
        self.recorder.arrival(now);
        self.send_in(now, request);
    }

    /// Sends a request that arrived at `now` over the edge link to the router, unless no
    /// replica can ever serve it.
    fn send_in(&mut self, now: SimTime, request: Request) {
        let at_router = match to_router(&self.slots[0].replica, &mut self.edge, now, &request) {
            Ok(at) => at,
            Err(why) => {
                self.recorder.rejected(now, why);
                self.client_done(now, false);
                return;
            }
        };
        if at_router <= now {
            self.route(now, request.into());
        } else {
            self.queue.push(at_router, Event::AtRouter(request));
        }
    }

    /// Tells the record how many prompt blocks the replicas' prefix caches evicted (once,
    /// after the last step).
    fn record_evictions(&mut self) {
        let evicted = self.slots.iter().map(|s| s.replica.kv().evictions()).sum();
        self.recorder.prefix_evictions(evicted);
    }

    /// Sends an attempt to a healthy replica, or gives it up if none is up.
    fn route(&mut self, now: SimTime, attempt: Attempt) {
        let reads_cache = self.router.policy() == RouterPolicy::PrefixAware;
        if reads_cache && self.runs {
            // Runs of decode steps take their blocks, and evict cached ones, as they are
            // settled: the router sees each cache as it is now.
            for index in 0..self.slots.len() {
                self.settle(index, now);
            }
        }
        let slots = &self.slots;
        let request = &attempt.request;
        let chosen = self.router.route(&mut self.routing_rng, self.healthy, |i| {
            let slot = &slots[i];
            ReplicaLoad {
                healthy: slot.routable(),
                requests: slot.replica.outstanding(),
                tokens: slot.replica.context_tokens(),
                cached_blocks: if reads_cache && slot.routable() {
                    slot.replica.cached_prefix(request)
                } else {
                    0
                },
            }
        });
        let Some(index) = chosen else {
            self.recorder.failed(now);
            self.client_done(now, false);
            return;
        };
        self.deliver(now, index, attempt);
    }

    /// Hands an attempt to replica `index`.
    fn deliver(&mut self, now: SimTime, index: usize, attempt: Attempt) {
        self.cut_run(now, index);
        let before = levels_of(&self.slots[index].replica);
        self.slots[index].replica.enqueue(attempt);
        self.note_level_change(now, index, before);
        if !self.slots[index].replica.is_busy() {
            self.start_step(now, index);
        }
    }

    fn step_done(&mut self, now: SimTime, index: usize, emits: u32) {
        // The step's end and the next step's start are one change of the replica's levels.
        let before = levels_of(&self.slots[index].replica);
        let (seen, finished) = self.emit(now, index, emits);
        self.start_step_from(now, index, before);
        self.release_if_drained(now, index);
        for _ in 0..finished.completed {
            self.client_done(seen, true);
        }
    }

    /// Replica `index`'s step ending at `now`, emitting `emits` tokens, finishes: its tokens
    /// cross the edge and it completes what it completes. Returns when its tokens reach
    /// their users, and what it produced.
    fn finish(&mut self, now: SimTime, index: usize, emits: u32) -> (SimTime, Finished) {
        let before = levels_of(&self.slots[index].replica);
        let done = self.emit(now, index, emits);
        self.note_level_change(now, index, before);
        done
    }

    /// [`Simulation::finish`], the change of the replica's levels left to the caller to note.
    fn emit(&mut self, now: SimTime, index: usize, emits: u32) -> (SimTime, Finished) {
        let bytes = self.scenario.edge.response_bytes_per_token * f64::from(emits);
        let seen = SimTime::from_secs(self.edge.response(index, now.secs(), emits.into())).max(now);
        let finished = self.slots[index]
            .replica
            .finish_step(seen, &mut self.recorder);
        debug_assert_eq!(finished.emitted, u64::from(emits));
        self.recorder
            .output_tokens(index, seen, finished.emitted, bytes);
        (seen, finished)
    }

    /// Starts the next step of replica `index` if it has work, and a run of decode steps
    /// after it when one can follow.
    fn start_step(&mut self, now: SimTime, index: usize) {
        let before = levels_of(&self.slots[index].replica);
        self.start_step_from(now, index, before);
    }

    /// [`Simulation::start_step`], noting the replica's levels as changed from `before`.
    fn start_step_from(&mut self, now: SimTime, index: usize, before: (i64, i64, i64)) {
        let slot = &mut self.slots[index];
        let planned = slot.replica.start_step(now, &self.perf, &mut self.recorder);
        let epoch = slot.epoch;
        self.note_level_change(now, index, before);
        let Some(step) = planned else { return };
        let end = step_end(now, &step.cost);
        self.record_step(index, now, end, &step);
        let emits = step.work.logits as u32;
        if self.runs && self.start_run(index, end, emits) {
            return;
        }
        let replica = index as u32;
        self.put_replica_event(
            index,
            end,
            Event::StepDone {
                replica,
                epoch,
                emits,
            },
        );
    }

    /// Puts replica `index`'s next event (the end of its step or of its run's steps so far)
    /// on the queue, in place of its last, which no longer comes (it was for an earlier epoch).
    fn put_replica_event(&mut self, index: usize, at: SimTime, event: Event) {
        let replaced = self.queue.put_first(index, at, event);
        debug_assert!(
            replaced.is_none_or(|old| match old {
                Event::StepDone { epoch, .. } | Event::RunDone { epoch, .. } =>
                    epoch != self.slots[index].epoch,
                _ => false,
            }),
            "a replica has one step in flight"
        );
    }

    /// Records replica `index`'s step's activity and power from `start` to `end`.
    fn record_step(&mut self, index: usize, start: SimTime, end: SimTime, step: &PlannedStep) {
        record_step(
            &mut self.recorder,
            self.scenario,
            &self.perf,
            (index, start, end),
            (start.secs(), end.secs()),
            step,
        );
    }

    /// A part fails: the replicas on it go down and their requests are retried elsewhere.
    fn fail(&mut self, now: SimTime, part: Part) {
        self.schedule_next_failure(now);
        let failures = self.failures.as_mut().expect("failures are enabled");
        if !failures.fail(part) {
            return;
        }
        self.recorder.part_failed(matches!(part, Part::Gpu(_)));
        let repaired = now + failures.repair_time(&mut self.failure_rng, part);
        let replicas = failures.replicas_of(part);
        let max_retries = failures.model().max_retries;
        self.queue.push(repaired, Event::Repair(part));
        let mut evicted = Vec::new();
        for index in replicas {
            let index = index as usize;
            if self.slots[index].down == 0 {
                // The run's steps that ended are kept; the one in flight is lost.
                self.settle(index, now);
                self.slots[index].drop_run();
            }
            let slot = &mut self.slots[index];
            slot.down += 1;
            if slot.down > 1 {
                continue;
            }
            slot.down_since = now;
            slot.epoch += 1;
            if slot.serving {
                self.healthy -= 1;
                self.change_capacity(now, -1.0);
            }
            let before = levels_of(&self.slots[index].replica);
            evicted.extend(self.slots[index].replica.evict_all());
            self.note_level_change(now, index, before);
            self.release_if_drained(now, index);
        }
        for attempt in evicted {
            if attempt.retries > max_retries {
                self.recorder.failed(now);
                self.client_done(now, false);
            } else {
                self.recorder.retried();
                self.route(now, attempt);
            }
        }
    }

    /// A part is repaired: replicas with no other failed part come back.
    fn repair(&mut self, now: SimTime, part: Part) {
        let failures = self.failures.as_mut().expect("failures are enabled");
        failures.repair(part);
        let gpus = self.scenario.replica.parallelism.gpus();
        for index in failures.replicas_of(part) {
            let slot = &mut self.slots[index as usize];
            slot.down -= 1;
            if slot.down == 0 {
                self.recorder.outage(slot.down_since, now, gpus);
                if slot.serving {
                    self.healthy += 1;
                    self.change_capacity(now, 1.0);
                }
            }
        }
    }

    /// Notes replica `index`'s levels as changed at `now` from `before`, if they did.
    fn note_level_change(&mut self, now: SimTime, index: usize, before: (i64, i64, i64)) {
        let after = levels_of(&self.slots[index].replica);
        if after != before {
            let delta = (after.0 - before.0, after.1 - before.1, after.2 - before.2);
            self.note_levels(now, index, delta);
        }
    }

    /// Replica `index`'s requests waiting, running and KV blocks change at `now` by `delta`.
    fn note_levels(&mut self, now: SimTime, index: usize, delta: (i64, i64, i64)) {
        note_levels(&mut self.recorder, &mut self.scaler, now, index, delta);
    }
}

/// [`Simulation::record_step`], on the parts of the simulation it uses: replica `index`'s
/// step ran from `start` to `end`, `secs` in seconds (given, as a run has them at hand).
fn record_step(
    recorder: &mut Recorder,
    scenario: &Scenario,
    perf: &PerfModel,
    (index, start, end): (usize, SimTime, SimTime),
    secs: (f64, f64),
    step: &PlannedStep,
) {
    let above_idle = above_idle(scenario, perf, &step.cost, end - start);
    let gpus = scenario.replica.parallelism.gpus();
    recorder.step(index, secs, gpus, step, above_idle);
}

/// The watts per GPU above idle of a step that costs `cost` and lasts `duration`.
fn above_idle(scenario: &Scenario, perf: &PerfModel, cost: &StepCost, duration: Seconds) -> Watts {
    let power = scenario.gpu_power;
    power.power(perf.activity(cost, duration)) - power.idle
}

/// [`Simulation::note_levels`], on the parts of the simulation it uses.
fn note_levels(
    recorder: &mut Recorder,
    scaler: &mut Option<Scaler>,
    now: SimTime,
    index: usize,
    (waiting, running, kv): (i64, i64, i64),
) {
    recorder.change_levels(index, now, waiting, running, kv);
    if let Some(scaler) = scaler {
        scaler.levels_changed(now, waiting + running, kv);
    }
}

/// When a request arriving at `now` reaches the router over `edge`, or why no replica can
/// ever serve it: replicas are identical, so `probe`, any one of them, answers for all.
fn to_router(
    probe: &Replica,
    edge: &mut EdgeLink,
    now: SimTime,
    request: &Request,
) -> Result<SimTime, Rejection> {
    probe.admits(request)?;
    Ok(SimTime::from_secs(
        edge.request(now.secs(), request.prompt_tokens),
    ))
}

/// What the whole fleet of `s` can hold and do, for the record's shares.
fn capacity(s: &Scenario, perf: &PerfModel) -> Capacity {
    let gpus = s.fleet.gpus();
    Capacity {
        servers: s.fleet.servers,
        gpus,
        replicas: s.fleet.replicas,
        kv_blocks: s.kv_blocks_per_replica * s.fleet.replicas,
        peak_flops: perf.replica_peak().0 * s.fleet.replicas as f64,
        memory_bandwidth: s.replica.gpu.memory_bandwidth.0 * gpus as f64,
        idle_power_w: s.gpu_power.idle.0 * gpus as f64,
        prefix_block_tokens: s.prefix_caching.as_ref().map(|p| p.block_tokens()),
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
