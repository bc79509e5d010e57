//! One replica: its waiting queue, its running batch, its KV cache, and the scheduler that
//! decides what each step computes.
//!
//! A sequence knows `known` tokens (prompt plus generated) and has the KV entries of
//! `computed` of them. A step processes `known − computed` tokens of it (a prefill chunk, or
//! the one new token of a decode); when it catches up, the step emits the next token. The
//! first emission is the first token (TTFT); the request completes after `output_tokens`
//! emissions, so its KV cache peaks at `prompt + output − 1` tokens.
//!
//! Continuous batching follows vLLM's v1 scheduler: running sequences first (oldest first),
//! each taking what it needs of the step's token budget; when the KV cache cannot grow, the
//! newest running sequence is preempted — its blocks freed and its tokens recomputed later
//! from the front of the queue; then waiting requests are admitted in arrival order while
//! the batch, the budget and the cache allow, unless something was preempted. Without
//! chunked prefill a prompt joins only if it fits the remaining budget whole.
//!
//! Static batching is the baseline: an idle replica takes up to `max_seqs` waiting
//! requests, reserves their whole KV cache, prefills them in one step, and decodes the batch
//! until its longest output is done (finished sequences ride along as padding); every
//! request of the batch returns at the end.

use super::kv_cache::KvCache;
use crate::engine::time::SimTime;
use crate::perf_model::{PerfModel, StepCost, StepWork};
use crate::units::Seconds;
use crate::workload::Request;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How a replica forms batches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Batching {
    /// Iteration-level scheduling (Orca, vLLM): requests join and leave at every step.
    #[default]
    Continuous,
    /// Request-level batches that run to the end of their longest output.
    Static,
}

/// The scheduler's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// Continuous or static.
    pub batching: Batching,
    /// Most sequences in a batch.
    pub max_seqs: u32,
    /// Most tokens in a step.
    pub max_tokens_per_step: u32,
    /// Whether prompts may be split across steps.
    pub chunked_prefill: bool,
}

/// Why a replica can never serve a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Its prompt and output need more KV cache than the replica has.
    ExceedsKvCache,
    /// Without chunked prefill, its prefill (or recompute) exceeds the step token budget.
    ExceedsStepBudget,
}

/// What a replica tells the outside about its requests.
pub trait Observer {
    /// `request` emitted its first output token at `at`.
    fn first_token(&mut self, request: &Request, at: SimTime);
    /// `request` emitted its last output token at `at`.
    fn completed(&mut self, request: &Request, first_token: SimTime, at: SimTime);
    /// `request` lost its KV cache at `at` and will be recomputed.
    fn preempted(&mut self, request: &Request, at: SimTime);
    /// `tokens` output tokens each reached their user `gap` after the one before it.
    fn inter_token(&mut self, gap: Seconds, tokens: u64);
}

/// A step a replica has started.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlannedStep {
    /// What the step computes.
    pub work: StepWork,
    /// What it costs.
    pub cost: StepCost,
    /// Tokens of prompts (or recomputed context) processed; the rest are decodes.
    pub prefill_tokens: u64,
}

/// What a finished step produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finished {
    /// Output tokens emitted.
    pub emitted: u64,
    /// Requests completed.
    pub completed: u64,
}

/// A request as a replica receives it: new, or retried after a failed replica dropped it
/// (its first token, if the user already saw one, is not counted again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The request.
    pub request: Request,
    /// Times it has been retried.
    pub retries: u32,
    /// When its first token reached the user, if it did.
    pub first_token: Option<SimTime>,
}

impl From<Request> for Attempt {
    fn from(request: Request) -> Attempt {
        Attempt {
            request,
            retries: 0,
            first_token: None,
        }
    }
}

/// A request inside a replica.
#[derive(Clone, Debug)]
struct Sequence {
    request: Request,
    retries: u32,
    known: u64,
    computed: u64,
    generated: u64,
    blocks: u64,
    scheduled: u32,
    first_token: Option<SimTime>,
    /// When its latest output token reached the user, if any (since it was last queued).
    last_token: Option<SimTime>,
}

impl Sequence {
    fn new(attempt: Attempt) -> Sequence {
        let request = attempt.request;
        Sequence {
            request,
            retries: attempt.retries,
            known: request.prompt_tokens.into(),
            computed: 0,
            generated: 0,
            blocks: 0,
            scheduled: 0,
            first_token: attempt.first_token,
            last_token: None,
        }
    }

    /// The attempt to retry elsewhere: generation restarts from the prompt.
    fn into_retry(self) -> Attempt {
        Attempt {
            request: self.request,
            retries: self.retries + 1,
            first_token: self.first_token,
        }
    }

    /// Tokens whose KV entries the sequence holds at its peak.
    fn peak_tokens(request: &Request) -> u64 {
        request.prompt_tokens as u64 + request.output_tokens as u64 - 1
    }

    fn is_done(&self) -> bool {
        self.generated >= u64::from(self.request.output_tokens)
    }
}

/// One replica's scheduler state.
#[derive(Clone, Debug)]
pub struct Replica {
    config: SchedulerConfig,
    kv: KvCache,
    waiting: VecDeque<Sequence>,
    running: Vec<Sequence>,
    busy: bool,
    context_tokens: u64,
}

impl Replica {
    /// An idle replica with an empty cache.
    pub fn new(config: SchedulerConfig, kv: KvCache) -> Replica {
        Replica {
            config,
            kv,
            waiting: VecDeque::new(),
            running: Vec::new(),
            busy: false,
            context_tokens: 0,
        }
    }

    /// Whether this replica could ever serve `request`.
    pub fn admits(&self, request: &Request) -> Result<(), Rejection> {
        let peak = Sequence::peak_tokens(request);
        if self.kv.blocks_for(peak) > self.kv.total_blocks() {
            return Err(Rejection::ExceedsKvCache);
        }
        let largest_prefill = match self.config.batching {
            Batching::Static => request.prompt_tokens as u64,
            Batching::Continuous => peak,
        };
        if !self.config.chunked_prefill && largest_prefill > self.config.max_tokens_per_step as u64
        {
            return Err(Rejection::ExceedsStepBudget);
        }
        Ok(())
    }

    /// Queues a request (which must be admissible).
    pub fn enqueue(&mut self, attempt: impl Into<Attempt>) {
        let attempt = attempt.into();
        self.context_tokens += u64::from(attempt.request.prompt_tokens);
        self.waiting.push_back(Sequence::new(attempt));
    }

    /// Drops everything when the replica fails: the step in flight is lost, the cache is
    /// emptied, and every request comes back, oldest first, as a retry for another replica.
    pub fn evict_all(&mut self) -> Vec<Attempt> {
        self.busy = false;
        self.context_tokens = 0;
        self.kv.give_back(self.kv.used_blocks());
        let running = self.running.drain(..);
        running
            .chain(self.waiting.drain(..))
            .map(Sequence::into_retry)
            .collect()
    }

    /// Whether a step is in flight.
    pub fn is_busy(&self) -> bool {
        self.busy
    }

    /// Requests waiting to start.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Requests in the running batch.
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// Requests waiting or running.
    pub fn outstanding(&self) -> usize {
        self.waiting.len() + self.running.len()
    }

    /// Tokens of context (prompt plus generated so far) of the requests waiting or running.
    pub fn context_tokens(&self) -> u64 {
        self.context_tokens
    }

    /// The KV cache.
    pub fn kv(&self) -> &KvCache {
        &self.kv
    }

    /// Plans the next step and marks the replica busy; `None` when there is nothing to do.
    pub fn start_step(
        &mut self,
        now: SimTime,
        perf: &PerfModel,
        observer: &mut impl Observer,
    ) -> Option<PlannedStep> {
        debug_assert!(!self.busy, "a replica runs one step at a time");
        let mut work = StepWork::default();
        let prefill_tokens = match self.config.batching {
            Batching::Continuous => self.schedule_continuous(now, observer, &mut work),
            Batching::Static => self.schedule_static(&mut work),
        };
        if work.tokens == 0 {
            return None;
        }
        self.busy = true;
        Some(PlannedStep {
            work,
            cost: perf.step(&work),
            prefill_tokens,
        })
    }

    /// Applies the step in flight: emits tokens and completes requests. `seen` is when the
    /// step's tokens reach their users (its end, plus the edge link's delay), the time the
    /// observer is told.
    pub fn finish_step(&mut self, seen: SimTime, observer: &mut impl Observer) -> Finished {
        debug_assert!(self.busy);
        self.busy = false;
        let mut emitted = 0;
        let mut completed = 0;
        // Gaps since each sequence's previous token, told in runs of equal gaps: in a
        // steady batch every gap is the step time, so this is one call per step.
        let mut gaps = (Seconds(0.0), 0);
        for seq in &mut self.running {
            if seq.scheduled == 0 {
                continue;
            }
            seq.computed += u64::from(seq.scheduled);
            seq.scheduled = 0;
            if seq.computed == seq.known {
                seq.generated += 1;
                seq.known += 1;
                self.context_tokens += 1;
                emitted += 1;
                if seq.first_token.is_none() {
                    seq.first_token = Some(seen);
                    observer.first_token(&seq.request, seen);
                }
                if let Some(last) = seq.last_token.replace(seen) {
                    let gap = seen - last;
                    if gap != gaps.0 && gaps.1 > 0 {
                        observer.inter_token(gaps.0, gaps.1);
                        gaps.1 = 0;
                    }
                    gaps = (gap, gaps.1 + 1);
                }
            }
        }
        if gaps.1 > 0 {
            observer.inter_token(gaps.0, gaps.1);
        }
        let batch_done = match self.config.batching {
            Batching::Continuous => true,
            Batching::Static => self.running.iter().all(Sequence::is_done),
        };
        if batch_done {
            let kv = &mut self.kv;
            let context_tokens = &mut self.context_tokens;
            self.running.retain(|seq| {
                if !seq.is_done() {
                    return true;
                }
                kv.give_back(seq.blocks);
                *context_tokens -= seq.known;
                let first = seq.first_token.unwrap_or(seen);
                observer.completed(&seq.request, first, seen);
                completed += 1;
                false
            });
        }
        Finished { emitted, completed }
    }

    /// Moves the newest running sequence back to the front of the queue, freeing its cache.
    fn preempt_newest(&mut self, now: SimTime, observer: &mut impl Observer) {
        let mut seq = self.running.pop().expect("a running sequence to preempt");
        self.kv.give_back(seq.blocks);
        seq.blocks = 0;
        seq.computed = 0;
        seq.scheduled = 0;
        observer.preempted(&seq.request, now);
        self.waiting.push_front(seq);
    }

    /// vLLM v1-style scheduling; returns the prefill tokens scheduled.
    fn schedule_continuous(
        &mut self,
        now: SimTime,
        observer: &mut impl Observer,
        work: &mut StepWork,
    ) -> u64 {
        let mut budget = self.config.max_tokens_per_step as u64;
        let mut prefill = 0;
        let mut preempted = false;
        let mut i = 0;
        while i < self.running.len() && budget > 0 {
            let (computed, known, held, decoding) = {
                let seq = &self.running[i];
                let decoding = seq.generated > 0 && seq.known - seq.computed == 1;
                (seq.computed, seq.known, seq.blocks, decoding)
            };
            let want = (known - computed).min(budget);
            let need = self.kv.blocks_for(computed + want) - held;
            while self.kv.free_blocks() < need && self.running.len() > i + 1 {
                self.preempt_newest(now, observer);
                preempted = true;
            }
            if !self.kv.try_take(need) {
                // Only this sequence is left to give way.
                self.preempt_newest(now, observer);
                preempted = true;
                break;
            }
            let seq = &mut self.running[i];
            seq.blocks += need;
            seq.scheduled = want as u32;
            budget -= want;
            if !decoding {
                prefill += want;
            }
            work.add_sequence(computed, want, computed + want == known);
            i += 1;
        }
        if preempted && work.tokens > 0 {
            return prefill;
        }
        while let Some(front) = self.waiting.front() {
            if self.running.len() >= self.config.max_seqs as usize || budget == 0 {
                break;
            }
            let known = front.known;
            let want = if self.config.chunked_prefill {
                known.min(budget)
            } else if known <= budget {
                known
            } else {
                break;
            };
            let need = self.kv.blocks_for(want);
            if !self.kv.try_take(need) {
                break;
            }
            let mut seq = self.waiting.pop_front().expect("front exists");
            seq.blocks = need;
            seq.scheduled = want as u32;
            budget -= want;
            prefill += want;
            work.add_sequence(0, want, want == known);
            self.running.push(seq);
        }
        prefill
    }

    /// Static batching; returns the prefill tokens scheduled.
    fn schedule_static(&mut self, work: &mut StepWork) -> u64 {
        if !self.running.is_empty() {
            for seq in &mut self.running {
                let emits = !seq.is_done();
                if emits {
                    seq.scheduled = 1;
                }
                // Finished sequences are padding: computed again, never emitted.
                work.add_sequence(seq.computed, 1, emits);
            }
            return 0;
        }
        let budget = self.config.max_tokens_per_step as u64;
        let mut prefill = 0;
        while let Some(front) = self.waiting.front() {
            let prompt = front.request.prompt_tokens as u64;
            let full = self.running.len() >= self.config.max_seqs as usize;
            if full || (!self.running.is_empty() && prefill + prompt > budget) {
                break;
            }
            let need = self.kv.blocks_for(Sequence::peak_tokens(&front.request));
            if !self.kv.try_take(need) {
                break;
            }
            let mut seq = self.waiting.pop_front().expect("front exists");
            seq.blocks = need;
            seq.scheduled = seq.request.prompt_tokens;
            prefill += prompt;
            work.add_sequence(0, prompt, true);
            self.running.push(seq);
        }
        prefill
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf_model::step::tests_support::toy_setup;

    /// Records what the replica reports, in order.
    #[derive(Default)]
    struct Log {
        first: Vec<(u64, SimTime)>,
        done: Vec<(u64, SimTime, SimTime)>,
        preempted: Vec<u64>,
        gaps: Vec<(Seconds, u64)>,
    }

    impl Observer for Log {
        fn first_token(&mut self, r: &Request, at: SimTime) {
            self.first.push((r.id, at));
        }
        fn completed(&mut self, r: &Request, first: SimTime, at: SimTime) {
            self.done.push((r.id, first, at));
        }
        fn preempted(&mut self, r: &Request, _at: SimTime) {
            self.preempted.push(r.id);
        }
        fn inter_token(&mut self, gap: Seconds, tokens: u64) {
            self.gaps.push((gap, tokens));
        }
    }

    fn request(id: u64, prompt: u32, output: u32) -> Request {
        Request {
            id,
            arrival: SimTime::ZERO,
            prompt_tokens: prompt,
            output_tokens: output,
        }
    }

    fn config(batching: Batching, chunked: bool) -> SchedulerConfig {
        SchedulerConfig {
            batching,
            max_seqs: 8,
            max_tokens_per_step: 64,
            chunked_prefill: chunked,
        }
    }

    /// Runs steps back to back (one tick apart) until the replica is idle; returns the
    /// work of every step.
    fn drain(replica: &mut Replica, log: &mut Log) -> Vec<StepWork> {
        let perf = PerfModel::new(&toy_setup(1, 1));
        let mut steps = Vec::new();
        let mut now = SimTime::ZERO;
        while let Some(step) = replica.start_step(now, &perf, log) {
            steps.push(step.work);
            now = SimTime(now.0 + 1);
            replica.finish_step(now, log);
        }
        steps
    }

    #[test]
    fn decode_emits_one_token_per_step_after_the_prefill() {
        let mut replica = Replica::new(config(Batching::Continuous, true), KvCache::new(16, 100));
        replica.enqueue(request(0, 10, 4));
        let mut log = Log::default();
        let steps = drain(&mut replica, &mut log);
        // Prefill of 10 tokens emits token 1; three decodes emit tokens 2–4.
        assert_eq!(steps.len(), 4);
        assert_eq!(steps[0].tokens, 10);
        assert_eq!(steps[1].cached_context, 10);
        assert_eq!(steps[3].cached_context, 12);
        assert_eq!(log.first, vec![(0, SimTime(1))]);
        assert_eq!(log.done, vec![(0, SimTime(1), SimTime(4))]);
        assert_eq!(replica.kv().used_blocks(), 0);
        // Tokens 2–4 each came one step (one tick) after the one before.
        assert_eq!(log.gaps, vec![(SimTime(1).since(SimTime::ZERO), 1); 3]);
    }

    #[test]
    fn chunked_prefill_splits_long_prompts_under_the_budget() {
        let mut replica = Replica::new(config(Batching::Continuous, true), KvCache::new(16, 100));
        replica.enqueue(request(0, 150, 2));
        let mut log = Log::default();
        let steps = drain(&mut replica, &mut log);
        let tokens: Vec<u64> = steps.iter().map(|s| s.tokens).collect();
        assert_eq!(tokens, vec![64, 64, 22, 1]);
        // Second chunk: 64 new tokens after 64 cached → 64·64 + 64·65/2 pairs.
        assert_eq!(steps[1].attention_pairs, 64 * 64 + 64 * 65 / 2);
        assert_eq!(steps[0].logits + steps[1].logits, 0);
        assert_eq!(log.first, vec![(0, SimTime(3))]);
    }

    #[test]
    fn without_chunking_a_prompt_waits_for_a_step_it_fits_whole() {
        let mut replica = Replica::new(config(Batching::Continuous, false), KvCache::new(16, 100));
        replica.enqueue(request(0, 40, 3));
        replica.enqueue(request(1, 40, 3));
        let mut log = Log::default();
        let steps = drain(&mut replica, &mut log);
        // Step 1: prompt 0 (40). Step 2: decode 0 + prompt 1 (41). Then decodes.
        assert_eq!(steps[0].tokens, 40);
        assert_eq!(steps[1].tokens, 41);
        assert_eq!(log.done.len(), 2);
        assert!(replica.admits(&request(2, 60, 10)).is_err());
        assert!(replica.admits(&request(2, 60, 5)).is_ok());
    }

    #[test]
    fn kv_exhaustion_preempts_the_newest_and_recomputes_it() {
        // 6 blocks of 16 tokens = 96 tokens; two requests of 40 + 30 peak at 69 each.
        let mut replica = Replica::new(config(Batching::Continuous, true), KvCache::new(16, 6));
        replica.enqueue(request(0, 40, 30));
        replica.enqueue(request(1, 40, 30));
        let mut log = Log::default();
        let steps = drain(&mut replica, &mut log);
        assert_eq!(log.preempted, vec![1]);
        assert_eq!(log.done.len(), 2);
        // Request 1 was prefilled once, then recomputed with the tokens it had generated.
        let prefilled: u64 = steps.iter().map(|s| s.tokens).sum::<u64>() - 2 * 29;
        assert!(prefilled > 80, "{prefilled}");
        assert_eq!(
            log.first.len(),
            2,
            "a recompute does not re-emit a first token"
        );
        assert_eq!(replica.kv().used_blocks(), 0);
        // Every token after the first has a gap; the preempted request's wait for its
        // recompute shows as one gap longer than a step.
        assert_eq!(log.gaps.iter().map(|g| g.1).sum::<u64>(), 2 * 29);
        assert_eq!(
            log.gaps
                .iter()
                .filter(|g| g.0 > SimTime(1).since(SimTime::ZERO))
                .map(|g| g.1)
                .sum::<u64>(),
            1
        );
    }

    #[test]
    fn static_batches_run_to_their_longest_output() {
        let mut replica = Replica::new(config(Batching::Static, false), KvCache::new(16, 100));
        replica.enqueue(request(0, 10, 2));
        replica.enqueue(request(1, 10, 5));
        let mut log = Log::default();
        let steps = drain(&mut replica, &mut log);
        // One prefill step for both, then 4 decode steps for the longer output; the short
        // one pads along and both return at the end.
        assert_eq!(steps.len(), 5);
        assert_eq!(steps[0].tokens, 20);
        assert!(steps[1..].iter().all(|s| s.tokens == 2));
        assert_eq!(steps[4].logits, 1);
        assert_eq!(
            log.done,
            vec![(0, SimTime(1), SimTime(5)), (1, SimTime(1), SimTime(5))]
        );
    }

    #[test]
    fn requests_that_can_never_fit_are_refused() {
        let replica = Replica::new(config(Batching::Continuous, true), KvCache::new(16, 2));
        // 20 + 13 − 1 = 32 tokens fit two blocks; one more does not.
        assert!(replica.admits(&request(0, 20, 13)).is_ok());
        assert_eq!(
            replica.admits(&request(0, 20, 14)),
            Err(Rejection::ExceedsKvCache)
        );
    }

    #[test]
    fn context_tokens_count_prompts_and_generated_tokens_until_completion() {
        let mut replica = Replica::new(config(Batching::Continuous, true), KvCache::new(16, 100));
        replica.enqueue(request(0, 10, 3));
        replica.enqueue(request(1, 20, 5));
        assert_eq!(replica.context_tokens(), 30);
        let perf = PerfModel::new(&toy_setup(1, 1));
        let mut log = Log::default();
        replica.start_step(SimTime::ZERO, &perf, &mut log).unwrap();
        replica.finish_step(SimTime(1), &mut log);
        // Both prompts are prefilled and each emits its first token.
        assert_eq!(replica.context_tokens(), 32);
        drain(&mut replica, &mut log);
        assert_eq!(replica.context_tokens(), 0);
    }

    #[test]
    fn a_failed_replica_gives_back_every_request_as_a_retry() {
        let mut replica = Replica::new(config(Batching::Continuous, true), KvCache::new(16, 100));
        for id in 0..3 {
            replica.enqueue(request(id, 40, 5));
        }
        let perf = PerfModel::new(&toy_setup(1, 1));
        let mut log = Log::default();
        replica.start_step(SimTime::ZERO, &perf, &mut log).unwrap();
        replica.finish_step(SimTime(1), &mut log);
        let retries = replica.evict_all();
        let ids: Vec<u64> = retries.iter().map(|a| a.request.id).collect();
        assert_eq!(ids, vec![0, 1, 2], "running first, then waiting");
        assert!(retries.iter().all(|a| a.retries == 1));
        assert_eq!(retries[0].first_token, Some(SimTime(1)));
        assert_eq!(retries[2].first_token, None);
        assert_eq!((replica.outstanding(), replica.context_tokens()), (0, 0));
        assert_eq!(replica.kv().used_blocks(), 0);
        assert!(!replica.is_busy());
        // A retry whose user saw a first token is not reported again.
        replica.enqueue(retries[0]);
        drain(&mut replica, &mut log);
        assert_eq!(log.first.iter().filter(|(id, _)| *id == 0).count(), 1);
    }

    #[test]
    fn batch_size_is_capped_by_max_seqs() {
        let mut cfg = config(Batching::Continuous, true);
        cfg.max_seqs = 2;
        let mut replica = Replica::new(cfg, KvCache::new(16, 100));
        for id in 0..3 {
            replica.enqueue(request(id, 4, 3));
        }
        let perf = PerfModel::new(&toy_setup(1, 1));
        let mut log = Log::default();
        replica.start_step(SimTime::ZERO, &perf, &mut log).unwrap();
        assert_eq!(replica.running(), 2);
        assert_eq!(replica.waiting(), 1);
    }
}
