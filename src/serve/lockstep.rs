//! The decoding sequences of a batch advanced together, without touching them.
//!
//! In a steady batch every running sequence decodes one token a step: its context grows by
//! one, it takes a KV block when its context fills a whole number of blocks, and it completes
//! when it has generated its output. None of that needs a pass over the batch. The leading
//! sequences of a replica's running batch that decode in step with each other are
//! *members*: their fields hold their state when they joined, and the lockstep's `tick`
//! (steps taken together since the replica started) tells how far each has moved since
//! (`since`). What a step needs of them is kept in aggregates:
//!
//! - their context, `Σ cᵢ = Σ (cᵢ⁰ − sinceᵢ) + n·tick` (one sum);
//! - the KV blocks the step takes: sequence i takes one when `cᵢ ≡ 0 (mod block)`, so the
//!   members are counted by `(cᵢ⁰ − sinceᵢ) mod block` and the step takes the count at
//!   `−tick mod block`;
//! - their completions: a member completes at the tick `sinceᵢ + outputᵢ − gᵢ⁰`; the ticks
//!   wait in a min-heap, whose top is the next completion and tells how many members complete
//!   then, so the scan that takes them out stops at the last of them.
//!
//! A step whose budget is too small for every member to move by one token first writes
//! every member's state back ([`Lockstep::catch_up`]), puts them back in the batch's order and
//! goes through the scheduler's pass over the batch, so the results are those of that pass.
//! A step whose members need more KV blocks than are free preempts the newest sequences as
//! that pass would, a member leaving the lockstep first ([`Lockstep::release_newest`]).

use super::block_size::BlockSize;
use super::replica::Sequence;
use crate::engine::time::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Largest KV block, in tokens, for which sequences decode in lockstep (and decode steps are
/// grouped into runs): vLLM's blocks are 16 tokens; larger ones take the scheduler's pass.
pub const MAX_LOCKSTEP_BLOCK: usize = 64;

/// The members' aggregates (see the module docs).
#[derive(Clone, Debug)]
pub struct Lockstep {
    /// Members: the first `len` sequences of the running batch, in any order (each knows
    /// its place in the batch).
    len: usize,
    /// Steps taken together since the replica started.
    tick: u64,
    /// `Σ (cᵢ⁰ − sinceᵢ)`: the members' context is this plus `len · tick`.
    offset_sum: i64,
    /// Members by `(cᵢ⁰ − sinceᵢ) mod block`.
    residues: [u32; MAX_LOCKSTEP_BLOCK],
    /// The tick at which each member completes, by its place in the batch: a dense copy,
    /// so that finding completions scans 8 bytes a member.
    done_ticks: Vec<u64>,
    /// The same ticks, earliest on top: the next completion; with the ticks of members that
    /// left before completing, until they come to the top.
    upcoming: BinaryHeap<Reverse<u64>>,
    /// The ticks in `upcoming` of members that left before completing, earliest on top; its
    /// top is never `upcoming`'s.
    dropped: BinaryHeap<Reverse<u64>>,
    /// The members' places in the batch's order ([`Sequence::order`]), by their place in the
    /// batch, as `done_ticks`.
    orders: Vec<u64>,
    /// Whether members have left out of the batch's order (by a swap).
    shuffled: bool,
    /// Tokens in a KV block.
    block: BlockSize,
}

/// The last place of `tick` in `ticks`: a scan from the end, eight at a time with one branch
/// per eight rather than per tick, then within the eight that hold it.
fn last_at(ticks: &[u64], tick: u64) -> Option<usize> {
    let chunks = ticks.rchunks_exact(8);
    let head = chunks.remainder().len();
    let mut end = ticks.len();
    for chunk in chunks {
        if chunk.iter().fold(false, |hit, &at| hit | (at == tick)) {
            return chunk
                .iter()
                .rposition(|&at| at == tick)
                .map(|i| end - 8 + i);
        }
        end -= 8;
    }
    ticks[..head].iter().rposition(|&at| at == tick)
}

impl Lockstep {
    /// No members, for KV blocks of `block` tokens (at most [`MAX_LOCKSTEP_BLOCK`]).
    pub fn new(block: BlockSize) -> Lockstep {
        debug_assert!(block.tokens() as usize <= MAX_LOCKSTEP_BLOCK);
        Lockstep {
            len: 0,
            tick: 0,
            offset_sum: 0,
            residues: [0; MAX_LOCKSTEP_BLOCK],
            done_ticks: Vec::new(),
            upcoming: BinaryHeap::new(),
            dropped: BinaryHeap::new(),
            orders: Vec::new(),
            shuffled: false,
            block,
        }
    }

    /// Members.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The members' tokens of context now: `Σ cᵢ`.
    pub fn context(&self) -> u64 {
        (self.offset_sum + self.len as i64 * self.tick as i64) as u64
    }

    /// KV blocks the next step takes for the members: those whose context fills a whole
    /// number of blocks.
    pub fn new_blocks(&self) -> u64 {
        self.residues[self.residue(0)].into()
    }

    /// `residues[r]` with `r` the members' context modulo the block size now, added into
    /// `into` (what a run of decode steps counts from).
    pub fn add_residues_now(&self, into: &mut [u32; MAX_LOCKSTEP_BLOCK]) {
        // Residue r moves to (r + tick) mod block: the counts rotate by `tick mod block`.
        let block = self.block.tokens() as usize;
        let shift = self.block.rem(self.tick) as usize;
        let (to_end, wrapped) = self.residues[..block].split_at(block - shift);
        for (into, &count) in into[shift..block].iter_mut().zip(to_end) {
            *into += count;
        }
        for (into, &count) in into[..shift].iter_mut().zip(wrapped) {
            *into += count;
        }
    }

    /// Steps before the first member completes: the steps the members can take without one
    /// completing are one fewer. `None` without members.
    pub fn steps_to_completion(&self) -> Option<u64> {
        (self.len > 0).then(|| self.next_done() - self.tick)
    }

    /// Makes `seq`, which decodes this step and whose last token reached its user when the
    /// members' did, the next member.
    pub fn join(&mut self, seq: &mut Sequence) {
        seq.since = self.tick;
        let offset = self.offset(seq);
        self.offset_sum += offset;
        self.residues[self.block.rem_signed(offset) as usize] += 1;
        let done_at = self.tick + u64::from(seq.request.output_tokens) - seq.generated;
        self.done_ticks.push(done_at);
        self.orders.push(seq.order);
        self.upcoming.push(Reverse(done_at));
        self.drop_dropped();
        self.len += 1;
    }

    /// Every member has decoded `steps` more tokens. Returns whether some complete now:
    /// take them out with [`Lockstep::take_completed`].
    pub fn advance(&mut self, steps: u64) -> bool {
        self.tick += steps;
        let next = self.next_done();
        debug_assert!(next >= self.tick);
        next == self.tick
    }

    /// Takes the members that have completed out of `batch` (the running batch, which the
    /// members lead), each caught up as of `last_seen`, into `done` in the batch's order; finds
    /// the next completion among the rest at the heap's top. The heap tells how many complete;
    /// a plain scan of the completion ticks from the last member down finds them.
    pub fn take_completed(
        &mut self,
        batch: &mut Vec<Sequence>,
        last_seen: Option<SimTime>,
        done: &mut Vec<Sequence>,
    ) {
        let (tick, first) = (self.tick, done.len());
        let mut completing = 0;
        while self.upcoming.peek() == Some(&Reverse(tick)) {
            self.upcoming.pop();
            self.drop_dropped();
            completing += 1;
        }
        let mut below = self.len;
        while completing > 0 {
            let index = last_at(&self.done_ticks[..below], tick)
                .expect("the heap counts the members completing");
            completing -= 1;
            // The last member, swapped in, has been looked at: it does not complete.
            below = index;
            self.leave_at(batch, index, last_seen);
            done.push(batch.remove(self.len));
        }
        done[first..].sort_unstable_by_key(|seq| seq.order);
    }

    /// The member that joined the batch last leaves, caught up as of `last_seen`: it becomes
    /// the first sequence of `batch` after the members, the one the scheduler's pass would
    /// preempt first where none follows them.
    pub fn release_newest(&mut self, batch: &mut [Sequence], last_seen: Option<SimTime>) {
        let newest = self
            .orders
            .iter()
            .enumerate()
            .max_by_key(|&(_, &order)| order)
            .map(|(i, _)| i)
            .expect("members");
        debug_assert_eq!(self.orders[newest], batch[newest].order);
        let done_at = self.leave_at(batch, newest, last_seen);
        self.dropped.push(Reverse(done_at));
        self.drop_dropped();
    }

    /// Member `index` of `batch` leaves, caught up as of `last_seen`: the last member takes
    /// its place, in `batch` and in the dense copies, and it becomes the first sequence after
    /// the members. Returns its completion tick, which stays in the heap.
    fn leave_at(
        &mut self,
        batch: &mut [Sequence],
        index: usize,
        last_seen: Option<SimTime>,
    ) -> u64 {
        let last = self.len - 1;
        batch.swap(index, last);
        let done_at = self.done_ticks.swap_remove(index);
        self.orders.swap_remove(index);
        self.shuffled |= index != last;
        let seq = &mut batch[last];
        self.catch_up(seq, last_seen);
        self.leave(seq);
        done_at
    }

    /// Takes the ticks of members that left before completing off the top of `upcoming`.
    fn drop_dropped(&mut self) {
        while let Some(&top) = self.dropped.peek() {
            if self.upcoming.peek() != Some(&top) {
                break;
            }
            self.upcoming.pop();
            self.dropped.pop();
        }
    }

    /// Writes a member's state now into its fields: its tokens, its KV blocks, and its last
    /// token at `last_seen` if it moved. Its aggregates stay: call [`Lockstep::leave`] or
    /// [`Lockstep::clear`].
    pub fn catch_up(&self, seq: &mut Sequence, last_seen: Option<SimTime>) {
        let moved = self.tick - seq.since;
        seq.since = self.tick;
        if moved > 0 {
            seq.computed += moved;
            seq.known += moved;
            seq.generated += moved;
            seq.last_token = last_seen;
        }
        seq.blocks = self.block.blocks_for(seq.computed);
    }

    /// A member caught up by [`Lockstep::catch_up`] leaves.
    fn leave(&mut self, seq: &Sequence) {
        let offset = self.offset(seq);
        self.offset_sum -= offset;
        self.residues[self.block.rem_signed(offset) as usize] -= 1;
        self.len -= 1;
    }

    /// Every member leaves (after each was caught up); returns whether they must be put
    /// back in the batch's order.
    pub fn clear(&mut self) -> bool {
        self.len = 0;
        self.offset_sum = 0;
        self.residues = [0; MAX_LOCKSTEP_BLOCK];
        self.done_ticks.clear();
        self.orders.clear();
        self.upcoming.clear();
        self.dropped.clear();
        std::mem::take(&mut self.shuffled)
    }

    /// The tick of the next completion (`u64::MAX` without members).
    fn next_done(&self) -> u64 {
        self.upcoming.peek().map_or(u64::MAX, |&Reverse(at)| at)
    }

    /// A member's `cᵢ − tick`, the same at every tick.
    fn offset(&self, seq: &Sequence) -> i64 {
        seq.computed as i64 - seq.since as i64
    }

    /// The residue of the members' context at `tick + step`, in the members' offsets: the
    /// offset `o` with `o + tick + step ≡ 0`.
    fn residue(&self, step: u64) -> usize {
        self.block.to_whole(self.tick + step) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Request;

    #[test]
    fn the_last_place_of_a_tick_is_found_in_and_across_chunks_of_eight() {
        for len in 0..30_usize {
            let ticks: Vec<u64> = (0..len as u64).map(|i| i % 7).collect();
            for tick in 0..9 {
                let expected = ticks.iter().rposition(|&at| at == tick);
                assert_eq!(last_at(&ticks, tick), expected, "len {len}, tick {tick}");
            }
        }
    }

    fn decoder(computed: u64, generated: u64, output: u32) -> Sequence {
        let mut seq = Sequence::new(
            Request {
                id: 0,
                arrival: SimTime::ZERO,
                prompt_tokens: 10,
                output_tokens: output,
                prompt: None,
            }
            .into(),
        );
        seq.computed = computed;
        seq.known = computed + 1;
        seq.generated = generated;
        seq
    }

    #[test]
    fn members_take_a_block_when_their_context_fills_one() {
        // Blocks of 4: contexts 7 and 8 take a block when they reach 8 and 12.
        let mut lock = Lockstep::new(BlockSize::new(4));
        let (mut a, mut b) = (decoder(7, 1, 100), decoder(8, 1, 100));
        lock.join(&mut a);
        lock.join(&mut b);
        assert_eq!(lock.context(), 15);
        // Context 7 and 8: the one at 8 fills two blocks and takes a third.
        assert_eq!(lock.new_blocks(), 1);
        let took: Vec<u64> = (0..8)
            .map(|_| {
                let n = lock.new_blocks();
                lock.advance(1);
                n
            })
            .collect();
        // Contexts before each step: (7,8) (8,9) (9,10) (10,11) (11,12) (12,13) (13,14) (14,15).
        assert_eq!(took, [1, 1, 0, 0, 1, 1, 0, 0]);
        assert_eq!(lock.context(), 15 + 16);
        let mut residues = [0; MAX_LOCKSTEP_BLOCK];
        lock.add_residues_now(&mut residues);
        assert_eq!(&residues[..4], &[1, 0, 0, 1]);
    }

    #[test]
    fn members_complete_at_their_output_and_catch_up_exactly() {
        let mut lock = Lockstep::new(BlockSize::new(16));
        let mut batch = vec![decoder(100, 3, 5), decoder(50, 1, 10), decoder(20, 2, 4)];
        for (order, seq) in batch.iter_mut().enumerate() {
            seq.order = order as u64;
            lock.join(seq);
        }
        assert_eq!(lock.steps_to_completion(), Some(2));
        assert!(!lock.advance(1));
        assert!(lock.advance(1));
        let seen = Some(SimTime(7));
        let mut done = Vec::new();
        lock.take_completed(&mut batch, seen, &mut done);
        // Both complete at tick 2, told in the batch's order.
        assert_eq!(done.iter().map(|s| s.order).collect::<Vec<_>>(), [0, 2]);
        let a = &done[0];
        assert_eq!(
            (a.computed, a.known, a.generated, a.blocks),
            (102, 103, 5, 7)
        );
        assert_eq!(a.last_token, seen);
        assert_eq!(lock.len(), 1);
        assert_eq!(lock.context(), 52);
        assert_eq!(lock.steps_to_completion(), Some(7));
        lock.catch_up(&mut batch[0], seen);
        assert_eq!((batch[0].computed, batch[0].generated), (52, 3));
        assert!(lock.shuffled);
        assert!(lock.clear() && !lock.shuffled);
    }
}
