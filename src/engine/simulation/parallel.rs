//! One run's replicas simulated in parallel.
//!
//! With an open stream of arrivals (drawn or replayed from a trace), a router that ignores the replicas' state (round-robin
//! or random), no failures and no autoscaler, what a replica does all day depends only on
//! the requests the router sends it. The run then splits in two:
//!
//! - the **dispatcher** draws the arrivals in order, sends them over the edge link and routes
//!   them, a window of arrivals at a time (the only sequential part);
//! - the fleet's replicas are cut into **parts**, one [`Simulation`] each over its replicas,
//!   which advance to the window's end in parallel. A part takes its requests from an inbox
//!   in time order, its steps from its own event queue, and at equal times a step's end
//!   first, as the queue of one simulation of the whole fleet orders them.
//!
//! Each replica then sees the events it would have seen in one simulation of the fleet, in
//! the same order. The parts' records add up exactly to that simulation's record: every
//! real-valued sum is an [`crate::stats::ExactSum`], and the fleet's peak queue is taken
//! from the parts' logged changes merged in time order. So the results are the same bits
//! whatever the number of parts or threads; `tests/properties.rs` holds them equal to the
//! one simulation's.

use super::{Simulation, capacity, to_router};
use crate::engine::rng::{Stream, Streams};
use crate::engine::time::SimTime;
use crate::fleet::{EdgeLink, ReplicaLoad, Router};
use crate::scenario::Scenario;
use crate::stats::{ExactSum, Recorder, RunMeasurements};
use crate::workload::{Arrivals, Request, RequestSource};
use rayon::prelude::*;
use std::collections::VecDeque;

/// Arrivals the dispatcher routes before the parts catch up, for a fleet of `replicas`: a few
/// dozen per replica, so that the wait for the slowest part is short next to the window's
/// work, and the inboxes stay small.
fn window(replicas: usize) -> usize {
    (64 * replicas).clamp(256, 1 << 16)
}

/// How many parts to cut the fleet of `scenario` into: one per thread the run may use
/// ([`Scenario::run_threads`], within the pool it is on), when its replicas are independent
/// given their arrivals and there are two threads and two replicas at least; `None`
/// otherwise (one simulation of the whole fleet).
pub(super) fn parts(scenario: &Scenario) -> Option<usize> {
    let independent = !matches!(scenario.workload.arrivals, Arrivals::Closed { .. })
        && scenario.router.is_stateless()
        && scenario.failures.is_none()
        && scenario.autoscaling.is_none();
    let parts = (scenario.run_threads)
        .min(rayon::current_num_threads())
        .min(scenario.fleet.replicas as usize);
    (independent && parts > 1).then_some(parts)
}

/// Some replicas and the requests routed to them that they have not yet reached.
struct Part<'a> {
    sim: Simulation<'a>,
    /// (time at the replica, replica within the part, request), in time order.
    inbox: VecDeque<(SimTime, u32, Request)>,
}

impl Part<'_> {
    /// Handles everything due before `until`: steps from the queue and requests from the
    /// inbox, by time, a step's end first at equal times.
    fn advance(&mut self, until: SimTime) {
        loop {
            let step_at = self.sim.queue.peek_time();
            let request_at = self.inbox.front().map(|&(at, _, _)| at);
            let step_first = match (step_at, request_at) {
                (Some(step), Some(request)) => step <= request,
                (step, _) => step.is_some(),
            };
            let next = if step_first { step_at } else { request_at };
            if next.is_none_or(|at| at >= until) {
                return;
            }
            if step_first {
                let (now, event) = self.sim.queue.pop().expect("an event is due");
                self.sim.handle(now, event);
            } else {
                let (now, replica, request) = self.inbox.pop_front().expect("a request is due");
                self.sim.deliver(now, replica as usize, request.into());
            }
        }
    }
}

/// Simulates one run of `scenario`, its replicas cut into `count` parts simulated in
/// parallel; `keep` keeps every completion, as [`super::simulate_keeping_completions`].
pub(super) fn simulate(
    scenario: &Scenario,
    streams: Streams,
    keep: bool,
    count: usize,
) -> RunMeasurements {
    let replicas = scenario.fleet.replicas as usize;
    let horizon = SimTime::from_secs(scenario.horizon.0);
    let bounds: Vec<usize> = (0..=count).map(|p| p * replicas / count).collect();
    let mut parts: Vec<Part> = bounds
        .windows(2)
        .map(|span| {
            let mut sim = Simulation::new(scenario, &streams, span[1] - span[0]);
            sim.recorder.log_waiting();
            if keep {
                sim.recorder.keep_completions();
            }
            Part {
                sim,
                inbox: VecDeque::new(),
            }
        })
        .collect();
    // Which part, and which replica within it, each replica of the fleet is.
    let place: Vec<(usize, u32)> = bounds
        .windows(2)
        .enumerate()
        .flat_map(|(part, span)| (0..span[1] - span[0]).map(move |i| (part, i as u32)))
        .collect();

    let mut recorder = Recorder::new(scenario.horizon.0, scenario.timeseries_interval.0, 0);
    if keep {
        recorder.keep_completions();
    }
    recorder.change_servers_on(SimTime::ZERO, scenario.fleet.servers as i64);
    let mut source = RequestSource::new(&scenario.workload, &streams);
    let mut router = Router::new(scenario.router, replicas);
    let mut routing_rng = streams.rng(Stream::Routing);
    let mut edge = EdgeLink::new(scenario.edge, 0);

    let mut next = source.next_before(horizon);
    loop {
        for _ in 0..window(replicas) {
            let Some(request) = next else { break };
            let now = request.arrival;
            recorder.arrival(now);
            next = source.next_before(horizon);
            let at_router =
                match to_router(&parts[0].sim.slots[0].replica, &mut edge, now, &request) {
                    Ok(at) => at,
                    Err(why) => {
                        recorder.rejected(now, why);
                        continue;
                    }
                };
            let index = router
                .route(&mut routing_rng, replicas, |_| ReplicaLoad {
                    healthy: true,
                    ..ReplicaLoad::default()
                })
                .expect("every replica is up");
            let (part, replica) = place[index];
            parts[part]
                .inbox
                .push_back((at_router.max(now), replica, request));
        }
        let until = next.map_or(horizon, |request| request.arrival);
        parts.par_iter_mut().for_each(|part| part.advance(until));
        merge_waiting_logs(&mut parts, &mut recorder);
        if next.is_none() {
            break;
        }
    }

    parts.par_iter_mut().for_each(|part| {
        part.sim.settle_runs_at_horizon();
        part.sim.record_evictions();
    });
    merge_waiting_logs(&mut parts, &mut recorder);
    let (mut egress_bytes, mut egress_busy) = (ExactSum::default(), ExactSum::default());
    let perf = parts[0].sim.perf.clone();
    for part in parts {
        let (bytes, busy) = part.sim.edge.egress_totals();
        egress_bytes += bytes;
        egress_busy += busy;
        recorder.absorb(part.sim.recorder);
    }
    let ingress = edge.ingress;
    recorder.edge_traffic(
        (ingress.bytes().0, ingress.busy().0),
        (egress_bytes.value(), egress_busy.value()),
    );
    recorder.finish(&capacity(scenario, &perf))
}

/// Applies the changes of waiting requests the parts logged, merged in time order, to the
/// fleet's peak.
fn merge_waiting_logs(parts: &mut [Part], recorder: &mut Recorder) {
    let mut changes: Vec<(SimTime, i64)> = parts
        .iter_mut()
        .flat_map(|part| part.sim.recorder.take_waiting_log())
        .collect();
    // Each part's log is in time order: a stable sort merges the runs.
    changes.sort_by_key(|&(at, _)| at);
    recorder.waiting_changes(&changes);
}
