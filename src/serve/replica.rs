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
//! With prefix caching ([`super::prefix_cache`]), a request joining the batch looks up its
//! prompt's blocks in the replica's cache: the cached run from its first block is a hit,
//! counted as computed, held instead of taken, and not prefilled (at least the prompt's
//! last token is computed, for its logits, as in vLLM). The sequence's own blocks start
//! after its cached prompt blocks; each prompt block it fills is cached as it goes; it lets
//! go of them when it completes or is preempted.
//!
//! Static batching is the baseline: an idle replica takes up to `max_seqs` waiting
//! requests, reserves their whole KV cache, prefills them in one step, and decodes the batch
//! until its longest output is done (finished sequences ride along as padding); every
//! request of the batch returns at the end.

use super::block_size::BlockSize;
use super::kv_cache::KvCache;
use super::lockstep::{Lockstep, MAX_LOCKSTEP_BLOCK};
use super::prefix_cache::{Hit, PromptTable};
use super::waiting::Waiting;
use crate::engine::time::SimTime;
use crate::perf_model::{PerfModel, StepCost, StepWork};
use crate::units::Seconds;
use crate::workload::{PromptRef, Request};
use serde::{Deserialize, Serialize};

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
    /// A request joined the batch at `at` with prefix caching on, and `lookup` says how
    /// much of its prompt the cache held.
    fn prefix_lookup(&mut self, at: SimTime, lookup: &PrefixLookup);
}

/// How much of a prompt the prefix cache held when its request joined a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrefixLookup {
    /// Whether it joins again after a preemption (and finds, mostly, its own blocks): the
    /// hit rates count only first joins at a replica, the prefill saved counts both.
    pub again: bool,
    /// Blocks of the prompt (its block ids).
    pub blocks: u64,
    /// Of those, found cached from the first: not prefilled.
    pub hit_blocks: u64,
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Of those, in the blocks found: the prefill saved.
    pub hit_tokens: u64,
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

/// A request inside a replica. A member of the batch's [`Lockstep`] holds its state when it
/// joined, `since`; the lockstep knows how far it has moved.
#[derive(Clone, Debug)]
pub(super) struct Sequence {
    pub(super) request: Request,
    pub(super) retries: u32,
    pub(super) known: u64,
    pub(super) computed: u64,
    pub(super) generated: u64,
    /// KV blocks of its context: its cached prompt blocks' and its own after them.
    pub(super) blocks: u64,
    scheduled: u32,
    /// Its prompt's first blocks that it holds in the prefix cache.
    cached: u32,
    /// Whether it has been in this replica's batch before (and was preempted).
    admitted: bool,
    pub(super) first_token: Option<SimTime>,
    /// When its latest output token reached the user, if any (since it was last queued).
    pub(super) last_token: Option<SimTime>,
    /// The lockstep's tick when its fields were last written, as a lockstep member.
    pub(super) since: u64,
    /// When it joined a continuous batch, in the replica's count of joins: the batch's
    /// order, which the lockstep's members do not keep.
    pub(super) order: u64,
}

impl Sequence {
    pub(super) fn new(attempt: Attempt) -> Sequence {
        let request = attempt.request;
        Sequence {
            request,
            retries: attempt.retries,
            known: request.prompt_tokens.into(),
            computed: 0,
            generated: 0,
            blocks: 0,
            scheduled: 0,
            cached: 0,
            admitted: false,
            first_token: attempt.first_token,
            last_token: None,
            since: 0,
            order: 0,
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
    /// The requests' prompt blocks, with prefix caching.
    prompts: Option<PromptTable>,
    waiting: Waiting,
    running: Vec<Sequence>,
    /// The leading running sequences that decode together; `None` where the scheduler's
    /// pass does every step (static batching, prefix caching, KV blocks over
    /// [`MAX_LOCKSTEP_BLOCK`] tokens).
    lockstep: Option<Lockstep>,
    /// When the tokens of the step last finished reached their users.
    last_seen: Option<SimTime>,
    /// Sequences that have joined the batch.
    joins: u64,
    /// The sequences completing in a step, between leaving the batch and being told (kept
    /// to be reused).
    done: Vec<Sequence>,
    busy: bool,
    context_tokens: u64,
    /// Whether the step last planned preempted a sequence.
    preempted: bool,
}

/// A run of decode steps that can follow the step just planned without the batch changing:
/// every running sequence emits a token at the end of that step (a decoder, or one whose
/// prompt the step finishes) and decodes one token a step after it, nothing can be admitted,
/// no sequence completes before the run's last step ends, and the KV cache has the blocks the
/// run takes.
/// The planned step is step 1; steps 2 to `last` are the run's, and `last` is pushed further
/// (up to the first step that completes a sequence, while the free blocks last) only as the
/// run gets there, so a run cut short costs nothing for the steps it never ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeRun {
    /// Sequences decoding.
    pub sequences: u64,
    /// `Σ cᵢ`, where step `s` attends to `cᵢ + s − 1` cached tokens of sequence `i`: its
    /// context before step 1 for a decoder, its prompt less one for a sequence whose prompt
    /// step 1 finishes.
    pub cached: u64,
    /// The last step known to be part of the run, at least 2.
    pub last: u64,
    /// The first step that completes a sequence, `u64::MAX` if none does.
    completes: u64,
    /// No step after this one can be part of the run (it completes a sequence, the free
    /// blocks end before the next, or the run was cut).
    bound: u64,
    /// Free KV blocks after step `last` has taken its own.
    free: u64,
    /// Tokens in a KV block.
    block: BlockSize,
    /// `residues[r]`: sequences whose context before step 1 is `r` modulo the block size.
    residues: [u32; MAX_LOCKSTEP_BLOCK],
}

/// A plan for [`Replica::plan_run`] to fill.
impl Default for DecodeRun {
    fn default() -> DecodeRun {
        DecodeRun {
            sequences: 0,
            cached: 0,
            last: 1,
            completes: 0,
            bound: 0,
            free: 0,
            block: BlockSize::new(1),
            residues: [0; MAX_LOCKSTEP_BLOCK],
        }
    }
}

impl DecodeRun {
    /// Pushes `last` toward step `to`, as far as the bound and the free blocks allow;
    /// returns it.
    pub fn extend(&mut self, to: u64) -> u64 {
        while self.last < to.min(self.bound) {
            let need = self.new_blocks(self.last + 1);
            if need > self.free {
                self.bound = self.last;
                break;
            }
            self.free -= need;
            self.last += 1;
        }
        self.last
    }

    /// Whether the run's last step is the first that completes a sequence.
    pub fn completes_last(&self) -> bool {
        self.last == self.completes
    }

    /// Ends the run at step `step` (at most `last`): a request joined.
    pub fn end_at(&mut self, step: u64) {
        debug_assert!(step <= self.last);
        self.last = step;
        self.bound = step;
    }

    /// KV blocks step `step` (2 to `last`) takes as it starts: one for each sequence whose
    /// context before it, `cᵢ + step − 1`, fills a whole number of blocks.
    pub fn new_blocks(&self, step: u64) -> u64 {
        self.residues[self.block.to_whole(step - 1) as usize].into()
    }

    /// What step `step` computes: one token after `cᵢ + step − 1` cached for each sequence.
    pub fn work(&self, step: u64) -> StepWork {
        let cached = self.cached + (step - 1) * self.sequences;
        StepWork {
            tokens: self.sequences,
            cached_context: cached,
            attention_pairs: cached + self.sequences,
            logits: self.sequences,
        }
    }
}

impl Replica {
    /// An idle replica with an empty cache.
    pub fn new(config: SchedulerConfig, kv: KvCache) -> Replica {
        let block = kv.block();
        let lockstep = (config.batching == Batching::Continuous
            && block.tokens() as usize <= MAX_LOCKSTEP_BLOCK)
            .then(|| Lockstep::new(block));
        Replica {
            config,
            kv,
            prompts: None,
            waiting: Waiting::default(),
            running: Vec::new(),
            lockstep,
            last_seen: None,
            joins: 0,
            done: Vec::new(),
            busy: false,
            context_tokens: 0,
            preempted: false,
        }
    }

    /// The same replica caching the prompt blocks of `prompts` (continuous batching only;
    /// their size a multiple of the KV block size).
    pub fn with_prefix_caching(mut self, prompts: PromptTable) -> Replica {
        debug_assert_eq!(self.config.batching, Batching::Continuous);
        self.kv = self.kv.with_prefix_cache(prompts.block_tokens());
        self.prompts = Some(prompts);
        // Each step's pass caches the prompt blocks its sequences filled.
        self.lockstep = None;
        self
    }

    /// The same replica taking the scheduler's pass over its whole batch at every step, its
    /// decoding sequences never advanced in lockstep: the reference the lockstep is checked
    /// against (`--single-step`).
    pub fn without_lockstep(mut self) -> Replica {
        self.lockstep = None;
        self
    }

    /// The blocks of `request`'s prompt, from its first, that this replica's prefix cache
    /// holds and that it would not compute were the request to join now: what a
    /// prefix-aware router looks for.
    pub fn cached_prefix(&self, request: &Request) -> u32 {
        self.prefix_hit(request, u64::from(request.prompt_tokens))
            .blocks
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
        self.waiting.push_back(attempt);
    }

    /// Drops everything when the replica fails: the step in flight is lost, the cache is
    /// emptied, and every request comes back, oldest first, as a retry for another replica.
    pub fn evict_all(&mut self) -> Vec<Attempt> {
        self.release_lockstep();
        self.busy = false;
        self.context_tokens = 0;
        self.kv.clear();
        let running = self.running.drain(..);
        running
            .chain(self.waiting.drain())
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
        let members = self.lockstep.as_ref().map_or(0, Lockstep::len);
        let mut emitted = members as u64;
        // Gaps since each sequence's previous token, told in runs of equal gaps: in a
        // steady batch every gap is the step time, so this is one call per step.
        let mut gaps = (Seconds(0.0), 0);
        // Members of the lockstep complete as they pass their output's tick.
        let mut completing = false;
        if let Some(lock) = self.lockstep.as_mut().filter(|l| l.len() > 0) {
            completing = lock.advance(1);
            self.context_tokens += members as u64;
            let last = self.last_seen.expect("members have emitted a token");
            gaps = (seen - last, members as u64);
        }
        let mut newly_done = 0;
        for seq in &mut self.running[members..] {
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
                newly_done += usize::from(seq.is_done());
            }
        }
        if gaps.1 > 0 {
            observer.inter_token(gaps.0, gaps.1);
        }
        self.last_seen = Some(seen);
        // A pass of its own, so that the pass above stays as light without prefix caching.
        if let Some(prompts) = &self.prompts {
            for seq in &mut self.running {
                if let Some(prompt) = seq.request.prompt {
                    cache_filled_blocks(&mut self.kv, prompts, prompt, seq);
                }
            }
        }
        let completed = match self.config.batching {
            Batching::Continuous => {
                // Completions are told in the batch's order: the members' first, then those
                // of the rest, each found by a scan and taken out by a move of those after it.
                let mut done = std::mem::take(&mut self.done);
                if completing {
                    let lock = self.lockstep.as_mut().expect("members are in a lockstep");
                    lock.take_completed(&mut self.running, self.last_seen, &mut done);
                }
                let members = self.lockstep.as_ref().map_or(0, Lockstep::len);
                for _ in 0..newly_done {
                    let tail = &self.running[members..];
                    let index = members + tail.iter().position(Sequence::is_done).expect("done");
                    done.push(self.running.remove(index));
                }
                let count = done.len();
                for seq in done.drain(..) {
                    self.complete(seq, seen, observer);
                }
                self.done = done;
                count
            }
            Batching::Static if self.running.iter().all(Sequence::is_done) => {
                let mut batch = std::mem::take(&mut self.running);
                let done = batch.len();
                for seq in batch.drain(..) {
                    self.complete(seq, seen, observer);
                }
                self.running = batch;
                done
            }
            Batching::Static => 0,
        } as u64;
        Finished { emitted, completed }
    }

    /// `seq`, taken out of the running batch, has completed: it gives back its blocks, and
    /// its user has its last token at `seen`.
    fn complete(&mut self, seq: Sequence, seen: SimTime, observer: &mut impl Observer) {
        let_go_blocks(&mut self.kv, self.prompts.as_ref(), &seq);
        self.context_tokens -= seq.known;
        let first = seq.first_token.unwrap_or(seen);
        observer.completed(&seq.request, first, seen);
    }

    /// Plans into `run` the run of decode steps that can follow the step just planned (see
    /// [`DecodeRun`]); returns whether at least one can follow (if not, `run` holds nothing
    /// of use). In place: a plan is a few hundred bytes, and most steps plan one.
    pub fn plan_run(&self, run: &mut DecodeRun) -> bool {
        if self.config.batching != Batching::Continuous || self.preempted || !self.busy {
            return false;
        }
        let block = self.kv.block();
        if self.running.is_empty() || block.tokens() as usize > MAX_LOCKSTEP_BLOCK {
            return false;
        }
        let Some(free) = self.run_blocks() else {
            return false;
        };
        run.sequences = self.running.len() as u64;
        run.cached = 0;
        run.last = 1;
        // Only the run's last step may complete: step s completes sequence i when
        // gᵢ + s = outputᵢ.
        run.completes = u64::MAX;
        run.free = free;
        run.block = block;
        run.residues[..block.tokens() as usize].fill(0);
        let members = self.lockstep.as_ref().map_or(0, Lockstep::len);
        if let Some(lock) = self.lockstep.as_ref().filter(|l| l.len() > 0) {
            let to_completion = lock.steps_to_completion().expect("members");
            run.completes = to_completion;
            run.cached = lock.context();
            lock.add_residues_now(&mut run.residues);
        }
        // A sequence whose prompt step 1 finishes emits its first token with the decoders
        // and decodes from step 2 on as if its context before step 1 were `known − 1`.
        // Not with prefix caching: step 1's finish caches the prompt's blocks, which may
        // give blocks back and lengthen the queue front's hit, so the front might join.
        let prompts_may_finish = self.prompts.is_none();
        for s in &self.running[members..] {
            let emits = s.scheduled > 0 && s.computed + u64::from(s.scheduled) == s.known;
            let decodes = s.scheduled == 1 && s.generated > 0;
            if !emits || !(decodes || prompts_may_finish) {
                return false;
            }
            let context = s.known - 1;
            run.completes = run
                .completes
                .min(u64::from(s.request.output_tokens) - s.generated);
            run.cached += context;
            run.residues[block.rem(context) as usize] += 1;
        }
        run.bound = run.completes;
        // As long as the free blocks cover every step's growth, nothing is preempted.
        run.extend(2) >= 2
    }

    /// The KV blocks a run of decode steps may take while the front of the queue stays
    /// unable to join the batch; `None` when it could join at the next step.
    ///
    /// Taking blocks only makes the cache fuller, so a refusal holds — unless it evicts an
    /// idle block of the front's cached prefix: a shorter hit may need fewer free blocks
    /// (when the step budget caps its chunk). A run then takes no more than the blocks it
    /// can have without evicting the first of those.
    fn run_blocks(&self) -> Option<u64> {
        let free = self.kv.free_blocks();
        let Some(front) = self.waiting.front() else {
            return Some(free);
        };
        let budget = u64::from(self.config.max_tokens_per_step) - self.running.len() as u64;
        if self.running.len() >= self.config.max_seqs as usize || budget == 0 {
            return Some(free);
        }
        let hit = self.prefix_hit(&front.request, front.known);
        let rest = front.known - self.hit_tokens(&hit);
        let want = if self.config.chunked_prefill {
            rest.min(budget)
        } else if rest <= budget {
            rest
        } else {
            return Some(free);
        };
        if self.kv.blocks_for(want) + u64::from(hit.idle) * self.kv.prefix_block() <= free {
            return None;
        }
        Some(
            hit.first_evicted
                .map_or(free, |stamp| self.kv.free_before_evicting(stamp)),
        )
    }

    /// The blocks of `request`'s prompt, from its first, that the prefix cache holds and
    /// that a sequence knowing `known` tokens of it would not compute: at most its blocks
    /// that can be cached, and at least its last token left to compute. Nothing without
    /// prefix caching.
    fn prefix_hit(&self, request: &Request, known: u64) -> Hit {
        let (Some(prompts), Some(cache), Some(prompt)) =
            (&self.prompts, self.kv.prefix(), request.prompt)
        else {
            return Hit::default();
        };
        let most = (known - 1) / u64::from(prompts.block_tokens());
        let cacheable = prompts.cacheable(request);
        let most = cacheable.min(u32::try_from(most).unwrap_or(u32::MAX)) as usize;
        cache.lookup(
            prompts.ids(prompt)[..most]
                .iter()
                .map(|&id| PromptTable::key(prompt, id)),
        )
    }

    /// Tokens of the prompt blocks of `hit`.
    fn hit_tokens(&self, hit: &Hit) -> u64 {
        self.prompts
            .as_ref()
            .map_or(0, |p| u64::from(hit.blocks) * u64::from(p.block_tokens()))
    }

    /// Takes the blocks a run's step takes as it starts.
    pub fn take_run_blocks(&mut self, blocks: u64) {
        let taken = self.kv.try_take(blocks);
        debug_assert!(taken, "a run takes only blocks it found free");
    }

    /// The first step of a run has finished: the replica stays busy with the run.
    pub fn continue_run(&mut self) {
        debug_assert!(!self.busy);
        self.busy = true;
    }

    /// The run's `steps` steps after its first have finished, the last one's tokens seen by
    /// their users at `seen`: every sequence advances by as many tokens, and the replica is
    /// idle.
    pub fn end_run(&mut self, steps: u64, seen: SimTime) {
        self.advance_run(steps, seen);
        self.busy = false;
    }

    /// The run's `steps` steps between its first and its last have finished, the last of
    /// them seen by their users at `seen`: every sequence advances by as many tokens, and
    /// the last step, in flight, becomes a step planned by the scheduler, which
    /// [`Replica::finish_step`] finishes (and so completes what it completes).
    pub fn land_run(&mut self, steps: u64, seen: SimTime) {
        self.advance_run(steps, seen);
        // The last step decodes every sequence, as the scheduler would plan it: the decoders
        // after the members join them, and any left schedule their token in the pass's way.
        let members = self.join_lockstep();
        for seq in &mut self.running[members..] {
            seq.scheduled = 1;
            seq.blocks = self.kv.blocks_for(seq.computed + 1);
        }
    }

    /// Every sequence advances by `steps` tokens of a run, the last seen at `seen`.
    fn advance_run(&mut self, steps: u64, seen: SimTime) {
        let members = self.lockstep.as_ref().map_or(0, Lockstep::len);
        if let Some(lock) = self.lockstep.as_mut() {
            let completes = lock.advance(steps);
            debug_assert!(!completes, "only a run's last step completes");
        }
        if steps > 0 {
            self.last_seen = Some(seen);
        }
        for seq in &mut self.running[members..] {
            seq.computed += steps;
            seq.generated += steps;
            seq.known += steps;
            seq.blocks = self.kv.blocks_for(seq.computed);
            if steps > 0 {
                seq.last_token = Some(seen);
            }
        }
        self.context_tokens += steps * self.running.len() as u64;
    }

    /// Moves the newest running sequence back to the front of the queue, freeing its cache
    /// (its cached prompt blocks stay cached, idle, for it to find when it comes back).
    fn preempt_newest(&mut self, now: SimTime, observer: &mut impl Observer) {
        let mut seq = self.running.pop().expect("a running sequence to preempt");
        let_go_blocks(&mut self.kv, self.prompts.as_ref(), &seq);
        seq.blocks = 0;
        seq.cached = 0;
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
        let (members, mut preempted) = self.schedule_lockstep(now, observer, work);
        let mut budget = self.config.max_tokens_per_step as u64 - members as u64;
        let mut prefill = 0;
        self.preempted = false;
        let mut i = members;
        while i < self.running.len() && budget > 0 {
            let (computed, known, held, decoding) = {
                let seq = &self.running[i];
                let decoding = seq.generated > 0 && seq.known - seq.computed == 1;
                (seq.computed, seq.known, seq.blocks, decoding)
            };
            let want = (known - computed).min(budget);
            // Cached prompt blocks are whole KV blocks: the count covers them as any others.
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
        self.preempted = preempted;
        if preempted && work.tokens > 0 {
            return prefill;
        }
        while let Some(front) = self.waiting.front() {
            if self.running.len() >= self.config.max_seqs as usize || budget == 0 {
                break;
            }
            let known = front.known;
            let hit = self.prefix_hit(&front.request, known);
            let hit_tokens = self.hit_tokens(&hit);
            let rest = known - hit_tokens;
            let want = if self.config.chunked_prefill {
                rest.min(budget)
            } else if rest <= budget {
                rest
            } else {
                break;
            };
            let need = self.kv.blocks_for(want);
            // Holding idle cached blocks takes free blocks too.
            if need + u64::from(hit.idle) * self.kv.prefix_block() > self.kv.free_blocks() {
                break;
            }
            let mut seq = self.waiting.pop_front().expect("front exists");
            if let Some(prompts) = &self.prompts {
                let ids = seq.request.prompt.map_or(&[][..], |p| prompts.ids(p));
                if let Some(prompt) = seq.request.prompt {
                    let held = &ids[..hit.blocks as usize];
                    self.kv
                        .hold_prefix(held.iter().map(|&id| PromptTable::key(prompt, id)));
                }
                observer.prefix_lookup(
                    now,
                    &PrefixLookup {
                        again: seq.admitted,
                        blocks: ids.len() as u64,
                        hit_blocks: hit.blocks.into(),
                        prompt_tokens: seq.request.prompt_tokens.into(),
                        hit_tokens,
                    },
                );
            }
            let taken = self.kv.try_take(need);
            debug_assert!(taken, "the free blocks cover the chunk");
            seq.admitted = true;
            seq.cached = hit.blocks;
            seq.computed = hit_tokens;
            seq.blocks = u64::from(hit.blocks) * self.kv.prefix_block() + need;
            seq.scheduled = want as u32;
            budget -= want;
            prefill += want;
            work.add_sequence(hit_tokens, want, hit_tokens + want == known);
            seq.order = self.joins;
            self.joins += 1;
            self.running.push(seq);
        }
        prefill
    }

    /// Schedules the lockstep's members, one decode token each, when the step budget covers
    /// them; the decoders after them that emitted with them join first. Returns the members
    /// scheduled, and whether sequences were preempted for their KV blocks: no members when
    /// the step must take the scheduler's pass over the whole batch, for which every
    /// member's state is written back first.
    ///
    /// The pass gives each member its token and, where the free blocks run out, preempts the
    /// newest sequence of the batch (one after the members, else the member that joined the
    /// batch last) until they cover the member it is at; where the member is the last left,
    /// itself. So it preempts the fewest newest sequences whose blocks, with the free ones,
    /// cover the members left: the newest are preempted here until they do. The pass then
    /// goes on from the first sequence after the members, with the budget and blocks left:
    /// from there it preempts only sequences after the one it is at, never a member.
    fn schedule_lockstep(
        &mut self,
        now: SimTime,
        observer: &mut impl Observer,
        work: &mut StepWork,
    ) -> (usize, bool) {
        let members = self.join_lockstep();
        if members == 0 {
            return (0, false);
        }
        if members as u64 > u64::from(self.config.max_tokens_per_step) {
            self.release_lockstep();
            return (0, false);
        }
        let mut preempted = false;
        loop {
            let lock = self.lockstep.as_mut().expect("members are in a lockstep");
            if lock.len() == 0 {
                return (0, preempted);
            }
            if self.kv.try_take(lock.new_blocks()) {
                break;
            }
            if self.running.len() == lock.len() {
                lock.release_newest(&mut self.running, self.last_seen);
            }
            self.preempt_newest(now, observer);
            preempted = true;
        }
        let lock = self.lockstep.as_ref().expect("members are in a lockstep");
        let (n, context) = (lock.len() as u64, lock.context());
        work.tokens += n;
        work.cached_context += context;
        work.attention_pairs += context + n;
        work.logits += n;
        (lock.len(), preempted)
    }

    /// The decoders right after the lockstep's members that emitted with them join them;
    /// returns the members.
    fn join_lockstep(&mut self) -> usize {
        let Some(lock) = self.lockstep.as_mut() else {
            return 0;
        };
        while let Some(seq) = self.running.get_mut(lock.len()) {
            let decodes = seq.generated > 0 && seq.known - seq.computed == 1;
            if !decodes || seq.last_token != self.last_seen {
                break;
            }
            lock.join(seq);
        }
        lock.len()
    }

    /// Writes every lockstep member's state back into its fields; they leave it.
    fn release_lockstep(&mut self) {
        let Some(lock) = self.lockstep.as_mut() else {
            return;
        };
        let members = &mut self.running[..lock.len()];
        for seq in members.iter_mut() {
            lock.catch_up(seq, self.last_seen);
            debug_assert!(!seq.is_done(), "members leave as they complete");
        }
        if lock.clear() {
            members.sort_unstable_by_key(|seq| seq.order);
        }
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

/// Caches the whole blocks of its prompt (`prompt`) that `seq` has filled since it last
/// looked: each becomes a cached block that it holds, made of the first of its own KV
/// blocks (or, cached meanwhile by another, shared, and its own given back).
fn cache_filled_blocks(
    kv: &mut KvCache,
    prompts: &PromptTable,
    prompt: PromptRef,
    seq: &mut Sequence,
) {
    let block_tokens = u64::from(prompts.block_tokens());
    let filled = seq.computed.min(seq.request.prompt_tokens.into());
    if (u64::from(seq.cached) + 1) * block_tokens > filled {
        return;
    }
    let ids = prompts.ids(prompt);
    while (u64::from(seq.cached) + 1) * block_tokens <= filled && (seq.cached as usize) < ids.len()
    {
        kv.cache_filled(PromptTable::key(prompt, ids[seq.cached as usize]));
        seq.cached += 1;
    }
}

/// `seq` gives back its own KV blocks and lets go of its cached prompt blocks, last first,
/// so that a parent becomes idle after its children and is evicted after them.
fn let_go_blocks(kv: &mut KvCache, prompts: Option<&PromptTable>, seq: &Sequence) {
    kv.give_back(seq.blocks - u64::from(seq.cached) * kv.prefix_block());
    if let (Some(prompts), Some(prompt)) = (prompts, seq.request.prompt) {
        let held = &prompts.ids(prompt)[..seq.cached as usize];
        kv.let_go_prefix(held.iter().rev().map(|&id| PromptTable::key(prompt, id)));
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
        lookups: Vec<PrefixLookup>,
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
        fn prefix_lookup(&mut self, _at: SimTime, lookup: &PrefixLookup) {
            self.lookups.push(*lookup);
        }
    }

    /// The run that can follow `replica`'s step just planned, if any.
    fn decode_run(replica: &Replica) -> Option<DecodeRun> {
        let mut run = DecodeRun::default();
        replica.plan_run(&mut run).then_some(run)
    }

    fn request(id: u64, prompt: u32, output: u32) -> Request {
        Request {
            id,
            arrival: SimTime::ZERO,
            prompt_tokens: prompt,
            output_tokens: output,
            prompt: None,
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
    fn a_run_of_decode_steps_follows_the_step_that_finishes_a_prompt() {
        let perf = PerfModel::new(&toy_setup(1, 1));
        let mut log = Log::default();
        let mut replica = Replica::new(config(Batching::Continuous, true), KvCache::new(16, 100));
        // A: 19 prompt tokens and one decode step: 20 computed, 21 known, 2 generated.
        replica.enqueue(request(0, 19, 40));
        for now in 0..2 {
            replica.start_step(SimTime(now), &perf, &mut log).unwrap();
            replica.finish_step(SimTime(now + 1), &mut log);
        }
        // A prompt longer than the step's budget is not finished by it: no run.
        let mut long = replica.clone();
        long.enqueue(request(1, 100, 10));
        long.start_step(SimTime(2), &perf, &mut log).unwrap();
        assert_eq!(decode_run(&long), None);
        // Step 1 decodes A and prefills B's 30 tokens whole; both decode from step 2, at
        // 21 + 30 tokens of context, until B's tenth token completes it (step 10).
        replica.enqueue(request(1, 30, 10));
        replica.start_step(SimTime(2), &perf, &mut log).unwrap();
        let mut run = decode_run(&replica).expect("a run after the prefill");
        assert_eq!(run.extend(100), 10);
        assert_eq!(run.work(2).cached_context, 51);
        // The scheduler plans the run's steps alike, and takes the blocks the run counts.
        for step in 2..=10 {
            replica.finish_step(SimTime(step + 1), &mut log);
            let used = replica.kv().used_blocks();
            let planned = replica
                .start_step(SimTime(step + 1), &perf, &mut log)
                .unwrap();
            assert_eq!(planned.work, run.work(step), "step {step}");
            assert_eq!(replica.kv().used_blocks() - used, run.new_blocks(step));
        }
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

    /// A replica caching prompt blocks of 32 tokens (two KV blocks of 16) of a Mooncake
    /// trace whose rows are `(prompt tokens, block ids)`, with `kv_blocks` KV blocks, and the
    /// trace's requests (output 3 tokens each).
    fn caching(rows: &[(u32, &[u32])], kv_blocks: u64) -> (Replica, Vec<Request>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let text: String = rows
            .iter()
            .enumerate()
            .map(|(i, (prompt, ids))| {
                format!(
                    "{{\"timestamp\": {i}, \"input_length\": {prompt}, \"output_length\": 3, \
                     \"hash_ids\": {ids:?}}}\n"
                )
            })
            .collect();
        std::fs::write(&path, text).unwrap();
        let trace = std::sync::Arc::new(
            crate::workload::Trace::read(&path, None, crate::workload::trace::BadRows::Reject)
                .unwrap(),
        );
        let requests = (0..rows.len())
            .map(|i| Request {
                prompt: crate::workload::PromptRef::new(i, 0),
                ..request(i as u64, trace.record(i).prompt_tokens, 3)
            })
            .collect();
        let replica = Replica::new(
            config(Batching::Continuous, true),
            KvCache::new(16, kv_blocks),
        )
        .with_prefix_caching(PromptTable::new(trace, 32));
        (replica, requests)
    }

    #[test]
    fn a_prompt_skips_the_blocks_an_earlier_prompt_cached() {
        // 70 tokens in blocks 0, 1 (whole) and 2 (partial); then 80 tokens sharing 0 and 1.
        let (mut replica, requests) = caching(&[(70, &[0, 1, 2]), (80, &[0, 1, 3])], 100);
        let mut log = Log::default();
        replica.enqueue(requests[0]);
        drain(&mut replica, &mut log);
        // Its two whole blocks stay cached, idle: 4 KV blocks, none used.
        assert_eq!(
            (replica.kv().used_blocks(), replica.kv().idle_blocks()),
            (0, 4)
        );
        replica.enqueue(requests[1]);
        let steps = drain(&mut replica, &mut log);
        // 64 tokens hit: 16 are prefilled, after 64 of cached context.
        assert_eq!(steps[0].tokens, 16);
        assert_eq!(steps[0].cached_context, 64);
        assert_eq!(
            log.lookups,
            vec![
                PrefixLookup {
                    again: false,
                    blocks: 3,
                    hit_blocks: 0,
                    prompt_tokens: 70,
                    hit_tokens: 0
                },
                PrefixLookup {
                    again: false,
                    blocks: 3,
                    hit_blocks: 2,
                    prompt_tokens: 80,
                    hit_tokens: 64
                }
            ]
        );
        assert_eq!(log.done.len(), 2);
        assert_eq!(
            (replica.kv().used_blocks(), replica.kv().idle_blocks()),
            (0, 4)
        );
    }

    #[test]
    fn a_prompt_found_whole_still_computes_its_last_token() {
        // Two prompts of exactly two blocks: the second may use only the first block, so
        // that its last token is computed for its logits.
        let (mut replica, requests) = caching(&[(64, &[0, 1]), (64, &[0, 1])], 100);
        let mut log = Log::default();
        replica.enqueue(requests[0]);
        drain(&mut replica, &mut log);
        replica.enqueue(requests[1]);
        let steps = drain(&mut replica, &mut log);
        assert_eq!(steps[0].tokens, 32);
        assert_eq!(log.lookups[1].hit_blocks, 1);
    }

    #[test]
    fn sequences_running_together_share_the_blocks_they_hold() {
        // The first prompt fills blocks 0 and 1 in its first step; the second joins the next
        // step and holds them instead of taking its own.
        let (mut replica, requests) = caching(&[(64, &[0, 1]), (96, &[0, 1, 2])], 100);
        let perf = PerfModel::new(&toy_setup(1, 1));
        let mut log = Log::default();
        replica.enqueue(requests[0]);
        replica.start_step(SimTime::ZERO, &perf, &mut log).unwrap();
        replica.finish_step(SimTime(1), &mut log);
        replica.enqueue(requests[1]);
        let step = replica.start_step(SimTime(1), &perf, &mut log).unwrap();
        // One decode, and the second prompt's third block: 32 tokens after 64 cached.
        assert_eq!(step.work.tokens, 1 + 32);
        // Blocks: the two cached (4 KV blocks), the first's decode block, the second's 2.
        assert_eq!(replica.kv().used_blocks(), 4 + 1 + 2);
        replica.finish_step(SimTime(2), &mut log);
        drain(&mut replica, &mut log);
        // Every block is given back; the three whole prompt blocks stay cached.
        assert_eq!(
            (replica.kv().used_blocks(), replica.kv().idle_blocks()),
            (0, 6)
        );
    }

    #[test]
    fn a_full_cache_evicts_idle_blocks_before_it_preempts() {
        // 8 KV blocks. The first prompt leaves blocks 0 and 1 cached (4 KV blocks); the
        // second, unrelated, needs all 8 at its peak (120 + 3 − 1 tokens).
        let (mut replica, requests) = caching(&[(64, &[0, 1]), (120, &[5, 6, 7, 8])], 8);
        let mut log = Log::default();
        replica.enqueue(requests[0]);
        drain(&mut replica, &mut log);
        replica.enqueue(requests[1]);
        let perf = PerfModel::new(&toy_setup(1, 1));
        // Its first chunk of 64 tokens takes the 4 empty blocks; its second, of 56, evicts
        // block 1 (let go before 0) and then 0.
        replica.start_step(SimTime(10), &perf, &mut log).unwrap();
        replica.finish_step(SimTime(11), &mut log);
        assert_eq!(replica.kv().evictions(), 0);
        replica.start_step(SimTime(11), &perf, &mut log).unwrap();
        assert_eq!(replica.kv().evictions(), 2);
        replica.finish_step(SimTime(12), &mut log);
        drain(&mut replica, &mut log);
        assert!(log.preempted.is_empty());
        assert_eq!(log.done.len(), 2);
        // The second prompt's three whole blocks are cached now.
        assert_eq!(replica.kv().idle_blocks(), 6);
    }

    #[test]
    fn a_preempted_sequence_finds_its_own_blocks_again() {
        // 10 KV blocks of 16; prompts of 64 tokens (two cached blocks) and 20 outputs, 6
        // blocks each at their peak: the second is preempted when the first needs a block.
        let (mut replica, mut requests) = caching(&[(64, &[0, 1]), (64, &[2, 3])], 10);
        for r in &mut requests {
            r.output_tokens = 20;
        }
        let mut log = Log::default();
        replica.enqueue(requests[0]);
        replica.enqueue(requests[1]);
        drain(&mut replica, &mut log);
        assert_eq!(log.preempted, vec![1]);
        // Lookups: the first request's, the second's, and the second's again after its
        // preemption, finding its own two blocks (idle since it let go of them).
        let hits: Vec<(bool, u64)> = log
            .lookups
            .iter()
            .map(|l| (l.again, l.hit_blocks))
            .collect();
        assert_eq!(hits, vec![(false, 0), (false, 0), (true, 2)]);
        assert_eq!(log.done.len(), 2);
    }

    #[test]
    fn a_run_of_decode_steps_stops_before_evicting_what_the_queue_front_would_hit() {
        // 6 KV blocks; steps of 17 tokens. X leaves prompt blocks 0 and 1 cached and idle
        // (4 KV blocks, 1 let go first); A decodes in the other 2; F, at the front of the
        // queue, would hit 0 and 1 but needs 1 + 4 blocks of the 4 free: refused.
        let rows: [(u32, &[u32]); 3] =
            [(64, &[0, 1]), (20, &[5]), (200, &[0, 1, 9, 10, 11, 12, 13])];
        let (mut replica, mut requests) = caching(&rows, 6);
        replica.config.max_tokens_per_step = 17;
        requests[1].output_tokens = 100;
        let perf = PerfModel::new(&toy_setup(1, 1));
        let mut log = Log::default();
        replica.enqueue(requests[0]);
        drain(&mut replica, &mut log);
        replica.enqueue(requests[1]);
        for now in 10..12 {
            replica.start_step(SimTime(now), &perf, &mut log).unwrap();
            replica.finish_step(SimTime(now + 1), &mut log);
        }
        replica.enqueue(requests[2]);
        // A decodes at 20 tokens of context; its step 13 (at 32) needs a third block, which
        // evicts block 1 and shortens F's hit to block 0: then 1 + 2 blocks of the 3 free
        // are enough. A run may not take that step, where F joins one step at a time.
        let mut now = 12;
        replica.start_step(SimTime(now), &perf, &mut log).unwrap();
        let mut run = decode_run(&replica).expect("a run of decodes");
        assert_eq!(run.extend(1000), 12);
        let mut tokens = Vec::new();
        loop {
            replica.finish_step(SimTime(now + 1), &mut log);
            now += 1;
            let step = replica.start_step(SimTime(now), &perf, &mut log).unwrap();
            tokens.push(step.work.tokens);
            if step.work.tokens > 1 {
                break;
            }
        }
        assert_eq!(tokens, [vec![1; 11], vec![1 + 16]].concat());
        assert_eq!(replica.kv().evictions(), 1);
        assert_eq!(log.lookups.last().unwrap().hit_blocks, 1);
    }

    /// Drives three replicas alike, one with its decoders in lockstep, one taking the
    /// scheduler's pass every step and one taking the steps of runs one by one, through
    /// arrivals, tight caches (preemptions), step budgets that cap chunks and runs of decode
    /// steps; every step's work, every run plan and everything they report must agree.
    #[test]
    fn decoding_in_lockstep_and_in_runs_equals_the_scheduler_pass() {
        let perf = PerfModel::new(&toy_setup(1, 1));
        for seed in 0..40_u64 {
            let cfg = SchedulerConfig {
                batching: Batching::Continuous,
                max_seqs: 4 + (seed % 6) as u32,
                max_tokens_per_step: 12 + 10 * (seed % 4) as u32,
                chunked_prefill: seed % 3 != 0,
            };
            let kv = || KvCache::new(4, 30 + 15 * (seed % 4));
            let mut fast = Replica::new(cfg, kv());
            let mut pass = Replica::new(cfg, kv()).without_lockstep();
            let mut single = Replica::new(cfg, kv());
            let (mut fast_log, mut pass_log) = (Log::default(), Log::default());
            let mut single_log = Log::default();
            let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut draw = |n: u64| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state % n
            };
            let mut now = SimTime::ZERO;
            for id in 0..400 {
                if draw(3) == 0 {
                    let r = request(id, 1 + draw(12) as u32, 1 + draw(40) as u32);
                    if fast.admits(&r).is_ok() {
                        fast.enqueue(r);
                        pass.enqueue(r);
                        single.enqueue(r);
                    }
                }
                let a = fast.start_step(now, &perf, &mut fast_log);
                let b = pass.start_step(now, &perf, &mut pass_log);
                assert_eq!(a, b, "seed {seed}, step {id}");
                assert_eq!(a, single.start_step(now, &perf, &mut single_log));
                if a.is_none() {
                    continue;
                }
                let run = decode_run(&fast);
                assert_eq!(run, decode_run(&pass), "seed {seed}, step {id}");
                now = SimTime(now.0 + 1 + draw(3));
                let (x, y) = (
                    fast.finish_step(now, &mut fast_log),
                    pass.finish_step(now, &mut pass_log),
                );
                assert_eq!(x, y, "seed {seed}, step {id}");
                assert_eq!(x, single.finish_step(now, &mut single_log));
                // Sometimes a run of decode steps follows step one, settled as the engine
                // settles it: its steps after the first in one piece, or, where its last step
                // completes a sequence, the steps before it and then that one as planned.
                let Some(mut run) = run.filter(|_| draw(2) == 0) else {
                    continue;
                };
                let last = run.extend(2 + draw(8));
                fast.continue_run();
                pass.continue_run();
                for step in 2..=last {
                    fast.take_run_blocks(run.new_blocks(step));
                    pass.take_run_blocks(run.new_blocks(step));
                    let planned = single.start_step(now, &perf, &mut single_log).unwrap();
                    assert_eq!(planned.work, run.work(step), "seed {seed}, step {id}");
                    if step < last {
                        now = SimTime(now.0 + 1);
                        single.finish_step(now, &mut single_log);
                    }
                }
                if run.completes_last() {
                    fast.land_run(last - 2, now);
                    pass.land_run(last - 2, now);
                    now = SimTime(now.0 + 1);
                    let (x, y) = (
                        fast.finish_step(now, &mut fast_log),
                        pass.finish_step(now, &mut pass_log),
                    );
                    assert_eq!(x, y, "seed {seed}, step {id}");
                    assert_eq!(x, single.finish_step(now, &mut single_log));
                } else {
                    now = SimTime(now.0 + 1);
                    single.finish_step(now, &mut single_log);
                    fast.end_run(last - 1, now);
                    pass.end_run(last - 1, now);
                }
            }
            assert_eq!(fast_log.first, pass_log.first, "seed {seed}");
            assert_eq!(fast_log.done, pass_log.done, "seed {seed}");
            assert_eq!(fast_log.preempted, pass_log.preempted, "seed {seed}");
            assert_eq!(fast_log.gaps, pass_log.gaps, "seed {seed}");
            assert_eq!(fast_log.first, single_log.first, "seed {seed}");
            assert_eq!(fast_log.done, single_log.done, "seed {seed}");
            assert_eq!(fast_log.preempted, single_log.preempted, "seed {seed}");
            for other in [&pass, &single] {
                assert_eq!(fast.context_tokens(), other.context_tokens());
                assert_eq!(fast.kv().used_blocks(), other.kv().used_blocks());
            }
        }
    }
}
