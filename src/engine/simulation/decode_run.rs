//! Runs of decode steps as one event ([`Stepping::Runs`]).
//!
//! When every sequence of a replica's planned step emits a token (it decodes, or the step
//! finishes its prompt) and the batch cannot change for a while (see
//! [`DecodeRun`]), the steps after it are not events: one event is put at the end of a later
//! step of the run, and each step's effects — its power and activity, the KV blocks it takes,
//! the tokens it sends down the replica's edge stream, the gaps between them — are applied in
//! order when the run is settled. A request that joins the replica during the run cuts it at
//! the step in flight; the run's steps before the cut are settled first, so every record is
//! as if the steps had been events. The event is put a few steps ahead at first, then twice
//! as far each time it comes, so a run cut short costs little more than the steps it ran.
//! Step one is planned and finished as a single step, and so is the step after the run, so
//! every change of the batch goes through the one scheduler. A run may go on to the first
//! step that completes a sequence: that step *lands* — it is started as the run's others, and
//! finished as a single step, through the scheduler, which completes what it completes.

use super::scaling::Scaler;
use super::{Event, Simulation, Slot, above_idle};
use crate::engine::Stepping;
use crate::engine::time::SimTime;
use crate::fleet::RouterPolicy;
use crate::fleet::autoscaler::ScaleTarget;
use crate::fleet::edge::Responses;
use crate::perf_model::{FixedPart, PerfModel, StepCost};
use crate::scenario::Scenario;
use crate::serve::{DecodeRun, Observer, PlannedStep, Replica};
use crate::stats::{Recorder, RunStep, TokensOut};
use std::collections::VecDeque;

/// A replica's run: where its settling stands. Kept in its slot from run to run and planned
/// in place, as it is a few hundred bytes.
#[derive(Clone, Debug, Default)]
pub(super) struct RunState {
    /// Whether a run is in flight; nothing else holds anything of use when not.
    active: bool,
    plan: DecodeRun,
    /// What every step of the run costs whatever its context (the same tokens each step).
    fixed: FixedPart,
    /// The step in flight, whose finish comes next (unless `done`).
    step: u64,
    /// When it ends.
    end: SimTime,
    /// `end` in seconds, which its finish and the next step's start both need.
    end_s: f64,
    /// When the last finished step's tokens reached their users.
    last_seen: SimTime,
    /// Tokens step one emits.
    first_emits: u32,
    /// Whether the last step has finished.
    done: bool,
    /// The step at whose end the run's pending event is.
    scheduled_to: u64,
}

impl Slot {
    /// The replica's run in flight, if any.
    fn run(&self) -> Option<&RunState> {
        self.run.active.then_some(&self.run)
    }

    /// The replica's run in flight, if any.
    fn run_mut(&mut self) -> Option<&mut RunState> {
        self.run.active.then_some(&mut self.run)
    }

    /// The run in flight is over (or lost).
    pub(super) fn drop_run(&mut self) {
        self.run.active = false;
    }
}

impl RunState {
    /// Whether the step in flight is the run's last and completes a sequence: its finish is
    /// not settled with the others but applied by the run's event, as a single step's.
    fn lands(&self) -> bool {
        self.step == self.plan.last && self.plan.completes_last()
    }
}

/// Steps the first event of a run looks ahead; each later one looks twice as far.
const FIRST_REACH: u64 = 4;

/// The end of a step that starts at `start` and costs `cost`: never the same instant, so the
/// clock cannot stall on an empty model.
pub(super) fn step_end(start: SimTime, cost: &StepCost) -> SimTime {
    (start + cost.time).max(SimTime(start.0 + 1))
}

impl Simulation<'_> {
    /// Whether runs may be used in this simulation: not with a router or an autoscaler that
    /// reads a replica's tokens of context or KV cache between events. With prefix caching
    /// they may: a run's steps take (and evict) blocks as single steps would, a run stops
    /// before it would evict the queue front's cached prefix (`Replica::decode_run`), and
    /// the prefix-aware router settles every run before it reads the caches
    /// (`Simulation::route`).
    pub(super) fn runs_allowed(&self) -> bool {
        let s = self.scenario;
        s.stepping == Stepping::Runs
            && s.router != RouterPolicy::LeastOutstandingTokens
            && !matches!(
                s.autoscaling.map(|a| a.target),
                Some(ScaleTarget::KvCache(_))
            )
    }

    /// After step one of replica `index` was planned to end at `end`, emitting `emits`
    /// tokens: starts a run if one can follow, putting one event at its end; returns whether
    /// it did.
    pub(super) fn start_run(&mut self, index: usize, end: SimTime, emits: u32) -> bool {
        let slot = &mut self.slots[index];
        let run = &mut slot.run;
        if !slot.replica.plan_run(&mut run.plan) {
            return false;
        }
        let to = run.plan.extend(1 + FIRST_REACH);
        let sequences = run.plan.sequences;
        run.fixed = self.perf.fixed_part(sequences, sequences);
        run.active = true;
        run.step = 1;
        run.end = end;
        run.end_s = end.secs();
        run.last_seen = SimTime::ZERO;
        run.first_emits = emits;
        run.done = false;
        run.scheduled_to = 1;
        slot.run_ends.clear();
        self.schedule_run_event(index, to);
        true
    }

    /// Puts replica `index`'s run event at the end of step `to`, working the ends out from
    /// the step in flight.
    fn schedule_run_event(&mut self, index: usize, to: u64) {
        let slot = &mut self.slots[index];
        let run = &mut slot.run;
        debug_assert!(run.active, "a run");
        debug_assert!(!run.done && to >= run.step);
        // The ends of the steps between the one in flight and `scheduled_to` are known.
        let known = run.scheduled_to.max(run.step);
        let kept = (to.min(known) - run.step) as usize;
        slot.run_ends.truncate(kept);
        let mut end = slot.run_ends.back().copied().unwrap_or(run.end);
        for step in known + 1..=to {
            let cost = self.perf.step_with(&run.fixed, &run.plan.work(step));
            end = step_end(end, &cost);
            slot.run_ends.push_back(end);
        }
        run.scheduled_to = to;
        let (replica, epoch) = (index as u32, slot.epoch);
        self.put_replica_event(index, end, Event::RunDone { replica, epoch });
    }

    /// Applies the effects of replica `index`'s run that happen at or before `until`, in
    /// order; stops after its last step's finish, or before it where the run
    /// [lands](RunState::lands). A step starts as the one before it finishes, so the steps
    /// are settled as pairs: a finish, then the next step's start.
    pub(super) fn settle(&mut self, index: usize, until: SimTime) {
        let due = |run: &RunState| !run.done && run.end <= until && !run.lands();
        let Some(run) = self.slots[index].run().filter(|r| due(r)) else {
            return;
        };
        let first = run.step == 1;
        if first {
            self.finish_first_step(index);
        }
        let mut settling = self.settling(index);
        if first && !settling.start_next(None) {
            return;
        }
        while due(settling.run) {
            let out = settling.send_tokens();
            if !settling.start_next(Some(out)) {
                return;
            }
        }
    }

    /// The parts of the simulation that settling replica `index`'s run reads and changes.
    fn settling(&mut self, index: usize) -> Settling<'_> {
        let slot = &mut self.slots[index];
        let run = &mut slot.run;
        debug_assert!(run.active, "a run");
        Settling {
            index,
            responses: self.edge.responses(index, run.plan.sequences),
            run,
            replica: &mut slot.replica,
            ends: &mut slot.run_ends,
            recorder: &mut self.recorder,
            scaler: &mut self.scaler,
            scenario: self.scenario,
            perf: &self.perf,
        }
    }

    /// A request joins replica `index` at `now`: its run, if any, is settled up to `now` and
    /// ends with the step in flight.
    pub(super) fn cut_run(&mut self, now: SimTime, index: usize) {
        if self.slots[index].run().is_none() {
            return;
        }
        self.settle(index, now);
        let slot = &mut self.slots[index];
        let run = slot.run_mut().expect("a run");
        debug_assert!(!run.done && run.end > now);
        // A step that lands stays the last: the run ends with it whether cut or not.
        run.plan.end_at(run.step);
        if run.scheduled_to > run.step {
            slot.epoch += 1;
            self.schedule_run_event(index, self.slots[index].run().expect("a run").step);
        }
    }

    /// Replica `index`'s run event comes at `now`: its steps so far are settled; if the run
    /// goes on, its next event is put twice as far ahead, else its sequences are advanced and
    /// the next step is planned as usual. A run that lands ends with its last step finished
    /// as a single step, which completes what it completes.
    pub(super) fn run_done(&mut self, now: SimTime, index: usize) {
        self.settle(index, now);
        let slot = &mut self.slots[index];
        let run = slot.run_mut().expect("a run");
        let (last, seen) = (run.plan.last, run.last_seen);
        if run.lands() && run.end <= now {
            debug_assert!(run.end == now);
            let emits = run.plan.sequences as u32;
            slot.drop_run();
            slot.replica.land_run(last - 2, seen);
            self.step_done(now, index, emits);
            return;
        }
        if !run.done {
            let reach = 2 * (run.scheduled_to - 1).max(FIRST_REACH);
            let to = run.plan.extend(run.step + reach);
            self.schedule_run_event(index, to);
            return;
        }
        debug_assert!(run.step == last);
        slot.drop_run();
        slot.replica.end_run(last - 1, seen);
        self.start_step(now, index);
        self.release_if_drained(now, index);
    }

    /// Settles every run up to the horizon (the steps ending before it), as single steps
    /// would have been.
    pub(super) fn settle_runs_at_horizon(&mut self) {
        let before = SimTime(self.horizon.0.saturating_sub(1));
        for index in 0..self.slots.len() {
            self.settle(index, before);
        }
    }

    /// Step one of the run finishes as a single step would.
    fn finish_first_step(&mut self, index: usize) {
        let run = self.slots[index].run().expect("a run");
        let (end, emits) = (run.end, run.first_emits);
        let (seen, finished) = self.finish(end, index, emits);
        debug_assert_eq!(
            finished.completed, 0,
            "a run's first step completes nothing"
        );
        let slot = &mut self.slots[index];
        slot.replica.continue_run();
        slot.run_mut().expect("a run").last_seen = seen;
    }
}

/// Replica `index`'s run being settled, and what settling it reads and changes: the steps
/// after the first, in a loop that keeps them at hand.
struct Settling<'s> {
    index: usize,
    run: &'s mut RunState,
    replica: &'s mut Replica,
    /// The ends of the run's steps worked out ahead.
    ends: &'s mut VecDeque<SimTime>,
    /// The replica's stream out, for a step's tokens.
    responses: Responses<'s>,
    recorder: &'s mut Recorder,
    scaler: &'s mut Option<Scaler>,
    scenario: &'s Scenario,
    perf: &'s PerfModel,
}

impl Settling<'_> {
    /// A later step of the run finishes: every sequence emits a token, which goes down the
    /// replica's edge stream; the gap since the last is recorded, the tokens with the next
    /// step ([`Settling::start_next`]).
    fn send_tokens(&mut self) -> TokensOut {
        let run = &mut *self.run;
        let (end, tokens) = (run.end, run.plan.sequences);
        let seen = SimTime::from_secs(self.responses.send(run.end_s)).max(end);
        self.recorder.inter_token(seen - run.last_seen, tokens);
        run.last_seen = seen;
        let bytes = self.responses.bytes();
        TokensOut {
            at: seen,
            tokens,
            bytes,
        }
    }

    /// The step in flight has finished, having sent `out`: the next one starts (it takes its
    /// KV blocks and is priced), unless that was the run's last step. Returns whether one
    /// started.
    fn start_next(&mut self, out: Option<TokensOut>) -> bool {
        let run = &mut *self.run;
        if run.step == run.plan.last && run.plan.extend(run.step + 1) == run.step {
            run.done = true;
            self.recorder.run_step(self.index, out, None);
            return false;
        }
        run.step += 1;
        let (start, start_s) = (run.end, run.end_s);
        let blocks = run.plan.new_blocks(run.step);
        let work = run.plan.work(run.step);
        let cost = self.perf.step_with(&run.fixed, &work);
        debug_assert_eq!(cost, self.perf.step(&work));
        // Worked out when the run's event was put, unless the step starts as the event comes.
        let end = self
            .ends
            .pop_front()
            .unwrap_or_else(|| step_end(start, &cost));
        debug_assert_eq!(end, step_end(start, &cost));
        if blocks > 0 {
            self.replica.take_run_blocks(blocks);
            if let Some(scaler) = self.scaler {
                scaler.levels_changed(start, 0, blocks as i64);
            }
        }
        let planned = PlannedStep {
            work,
            cost,
            prefill_tokens: 0,
        };
        let end_s = end.secs();
        let next = RunStep {
            secs: (start_s, end_s),
            blocks,
            gpus: self.scenario.replica.parallelism.gpus(),
            step: &planned,
            above_idle: above_idle(self.scenario, self.perf, &cost, end - start),
        };
        self.recorder.run_step(self.index, out, Some(next));
        (run.end, run.end_s) = (end, end_s);
        true
    }
}
