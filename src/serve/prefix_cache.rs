//! Automatic prefix caching: a replica keeps the KV entries of prompt blocks it has
//! computed, and a later prompt that begins with the same blocks reuses them instead of
//! computing them again.
//!
//! The model is vLLM's automatic prefix caching (vLLM documentation, "Automatic Prefix
//! Caching", and the design of its v1 KV cache manager): a prompt is cut into blocks, each
//! known by a hash of its tokens and of every block before it, so that equal ids mean an
//! equal prefix — a chain from the prompt's first block. SGLang's RadixAttention keeps the
//! same prefixes in a radix tree and evicts least recently used leaves (Zheng et al.,
//! *SGLang: Efficient Execution of Structured Language Model Programs*, NeurIPS 2024). Here
//! a prompt block is one of a trace's blocks (Mooncake's `hash_ids`, 512 tokens each and
//! already hashed as chains), and:
//!
//! - a cached block is **held** by the sequences that use it (a count of holders), or
//!   **idle**: held by none and kept until its space is needed;
//! - a sequence joining the batch looks up the longest run of its prompt's blocks, from the
//!   first, that is cached, held or idle: those tokens are a hit, not computed, and the
//!   sequence holds their blocks instead of taking new ones;
//! - when a sequence's computed tokens fill one of its prompt's blocks, the block is cached
//!   (if another sequence cached the same block meanwhile, the sequence holds that one and
//!   gives its own copy back);
//! - a sequence that completes or is preempted lets go of its blocks, last block first; a
//!   block no longer held becomes idle, stamped with a clock;
//! - when the KV cache needs blocks that are not free, idle blocks are evicted, the least
//!   recently let go first (LRU). Whoever holds a block holds its parent, and lets go of the
//!   child first, so an idle block's children are idle with earlier stamps: children are
//!   evicted before their parents, and what stays cached is a chain from a first block.
//!
//! [`PrefixCache`] keeps the blocks and their order; [`super::KvCache`] counts the KV blocks
//! they take; [`super::Replica`] decides when sequences look up, cache and let go, with the
//! request's blocks from a [`PromptTable`].

use crate::workload::{PromptRef, Request, Trace};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// A prompt block as the cache knows it: the trace instance ([`PromptRef::instance`]) in
/// the high 32 bits, the block's id in the low 32.
pub type BlockKey = u64;

/// Where a replica finds the prompt blocks of the requests it serves: the replayed trace's
/// block ids, and how many tokens a block holds.
#[derive(Clone, Debug)]
pub struct PromptTable {
    trace: Arc<Trace>,
    block_tokens: u32,
}

impl PromptTable {
    /// The blocks of `trace` (which must have block ids), `block_tokens` tokens each.
    pub fn new(trace: Arc<Trace>, block_tokens: u32) -> PromptTable {
        debug_assert!(trace.has_prompt_blocks() && block_tokens > 0);
        PromptTable {
            trace,
            block_tokens,
        }
    }

    /// Tokens in a prompt block.
    pub fn block_tokens(&self) -> u32 {
        self.block_tokens
    }

    /// The block ids of `prompt`, first block first.
    pub fn ids(&self, prompt: PromptRef) -> &[u32] {
        self.trace.prompt_blocks(prompt.row()).unwrap_or_default()
    }

    /// The cache key of block id `id` of `prompt`'s instance.
    pub fn key(prompt: PromptRef, id: u32) -> BlockKey {
        u64::from(prompt.instance()) << 32 | u64::from(id)
    }

    /// The blocks of `request`'s prompt that can be cached: its whole blocks that have an id
    /// (a last, partial block is computed every time, as vLLM caches only full blocks).
    pub fn cacheable(&self, request: &Request) -> u32 {
        request.prompt.map_or(0, |prompt| {
            let whole = request.prompt_tokens / self.block_tokens;
            whole.min(self.ids(prompt).len() as u32)
        })
    }
}

/// What a lookup found: the longest run of a prompt's blocks, from its first, that is
/// cached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hit {
    /// Blocks found.
    pub blocks: u32,
    /// Of those, idle ones (holding them takes KV blocks that were free).
    pub idle: u32,
    /// The earliest stamp among the idle ones: the first of them eviction would take.
    pub first_evicted: Option<u64>,
}

/// What a block was before [`PrefixCache::hold`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// Not cached: it is now, held once.
    New,
    /// Cached and idle: it is held again.
    WasIdle,
    /// Cached and held: it has one holder more.
    WasHeld,
}

/// A cached block.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Sequences holding it.
    holders: u32,
    /// When it last became idle (meaningful while idle).
    stamp: u64,
}

/// The cached prompt blocks of one replica: who holds them, and the idle ones in the order
/// they became idle.
#[derive(Clone, Debug, Default)]
pub struct PrefixCache {
    entries: HashMap<BlockKey, Entry, BuildHasherDefault<KeyHasher>>,
    /// Idle blocks by stamp: the first is evicted first.
    idle: BTreeMap<u64, BlockKey>,
    clock: u64,
    evictions: u64,
}

/// The most idle blocks [`PrefixCache::idle_before`] counts: a bound on the work of one
/// call (a run of decode steps that would evict more ends there; the step after it is
/// planned as usual).
pub const MAX_COUNTED_IDLE: usize = 64;

impl PrefixCache {
    /// An empty cache.
    pub fn new() -> PrefixCache {
        PrefixCache::default()
    }

    /// The longest run of `keys`, from the first, that is cached.
    pub fn lookup(&self, keys: impl IntoIterator<Item = BlockKey>) -> Hit {
        let mut hit = Hit::default();
        for key in keys {
            let Some(entry) = self.entries.get(&key) else {
                break;
            };
            hit.blocks += 1;
            if entry.holders == 0 {
                hit.idle += 1;
                hit.first_evicted = Some(
                    hit.first_evicted
                        .map_or(entry.stamp, |s| s.min(entry.stamp)),
                );
            }
        }
        hit
    }

    /// Holds `key` once more, caching it if it is not; says what it was.
    pub fn hold(&mut self, key: BlockKey) -> Held {
        match self.entries.get_mut(&key) {
            None => {
                self.entries.insert(
                    key,
                    Entry {
                        holders: 1,
                        stamp: 0,
                    },
                );
                Held::New
            }
            Some(entry) => {
                entry.holders += 1;
                if entry.holders == 1 {
                    self.idle.remove(&entry.stamp);
                    Held::WasIdle
                } else {
                    Held::WasHeld
                }
            }
        }
    }

    /// Lets go of `key` once (it must be held); returns whether it became idle.
    pub fn let_go(&mut self, key: BlockKey) -> bool {
        let entry = self.entries.get_mut(&key).expect("a held block is cached");
        debug_assert!(entry.holders > 0);
        entry.holders -= 1;
        if entry.holders > 0 {
            return false;
        }
        entry.stamp = self.clock;
        self.idle.insert(self.clock, key);
        self.clock += 1;
        true
    }

    /// Evicts the idle block that became idle first; returns whether there was one.
    pub fn evict_lru(&mut self) -> bool {
        let Some((_, key)) = self.idle.pop_first() else {
            return false;
        };
        self.entries.remove(&key);
        self.evictions += 1;
        true
    }

    /// Idle blocks.
    pub fn idle_blocks(&self) -> u64 {
        self.idle.len() as u64
    }

    /// Idle blocks that eviction takes before the one stamped `stamp`, counted up to
    /// [`MAX_COUNTED_IDLE`].
    pub fn idle_before(&self, stamp: u64) -> u64 {
        self.idle.range(..stamp).take(MAX_COUNTED_IDLE).count() as u64
    }

    /// Blocks evicted so far.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Forgets every block (the replica failed and lost its memory); evictions stay counted.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.idle.clear();
    }
}

/// A hasher for [`BlockKey`]s, which are already well spread (dense ids and small
/// instances): one multiplication (Fibonacci hashing) instead of SipHash. Nothing iterates
/// the map, so its order never reaches an output.
#[derive(Clone, Copy, Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Holds `keys` in order, as a sequence does that computed them.
    fn hold_all(cache: &mut PrefixCache, keys: &[BlockKey]) {
        for &key in keys {
            cache.hold(key);
        }
    }

    /// Lets go of `keys`, last first, as a sequence does that completes.
    fn let_go_all(cache: &mut PrefixCache, keys: &[BlockKey]) {
        for &key in keys.iter().rev() {
            cache.let_go(key);
        }
    }

    #[test]
    fn a_chain_hits_from_its_first_block_and_stops_at_the_first_miss() {
        let mut cache = PrefixCache::new();
        hold_all(&mut cache, &[1, 2, 3]);
        // The whole chain, held: no idle block among the hit.
        assert_eq!(
            cache.lookup([1, 2, 3, 4]),
            Hit {
                blocks: 3,
                idle: 0,
                first_evicted: None
            }
        );
        // A partial prefix: 1 and 2 match, 5 does not, and 3 after it does not count.
        assert_eq!(cache.lookup([1, 2, 5, 3]).blocks, 2);
        // No first block, no hit, whatever follows.
        assert_eq!(cache.lookup([9, 2, 3]).blocks, 0);
    }

    #[test]
    fn idle_blocks_are_found_and_evicted_least_recently_let_go_first() {
        let mut cache = PrefixCache::new();
        hold_all(&mut cache, &[1, 2, 3]);
        let_go_all(&mut cache, &[1, 2, 3]);
        hold_all(&mut cache, &[10, 11]);
        let_go_all(&mut cache, &[10, 11]);
        assert_eq!(cache.idle_blocks(), 5);
        let hit = cache.lookup([1, 2, 3]);
        // 3 was let go first (stamp 0), then 2, then 1.
        assert_eq!(
            hit,
            Hit {
                blocks: 3,
                idle: 3,
                first_evicted: Some(0)
            }
        );
        // Eviction order: the first chain's blocks from its tail, then the second's.
        let mut left = Vec::new();
        for _ in 0..3 {
            assert!(cache.evict_lru());
            left.push(cache.lookup([1, 2, 3]).blocks);
        }
        assert_eq!(left, vec![2, 1, 0]);
        assert_eq!(cache.lookup([10, 11]).blocks, 2);
        assert!(cache.evict_lru() && cache.evict_lru());
        assert!(!cache.evict_lru(), "nothing idle is left");
        assert_eq!(cache.evictions(), 5);
    }

    #[test]
    fn held_blocks_are_never_evicted() {
        let mut cache = PrefixCache::new();
        hold_all(&mut cache, &[1, 2]);
        // A second sequence shares block 1 and adds its own block 7.
        hold_all(&mut cache, &[1, 7]);
        let_go_all(&mut cache, &[1, 2]);
        // Block 2 is idle; block 1 is still held by the second sequence.
        assert_eq!(cache.idle_blocks(), 1);
        assert!(cache.evict_lru());
        assert!(!cache.evict_lru(), "held blocks stay");
        assert_eq!(cache.lookup([1, 7]).blocks, 2);
        assert_eq!(cache.lookup([1, 2]).blocks, 1);
    }

    #[test]
    fn holding_an_idle_block_takes_it_out_of_the_eviction_order() {
        let mut cache = PrefixCache::new();
        hold_all(&mut cache, &[1, 2]);
        let_go_all(&mut cache, &[1, 2]);
        assert_eq!(cache.hold(1), Held::WasIdle);
        assert_eq!(cache.hold(1), Held::WasHeld);
        assert_eq!(cache.hold(5), Held::New);
        // Only 2 is idle: evicting it leaves the held ones.
        assert_eq!(cache.idle_blocks(), 1);
        assert!(cache.evict_lru() && !cache.evict_lru());
        // Let go by both holders, 1 is idle again, stamped anew: after every block let go
        // before it (2 at stamp 0, 1 at stamp 1).
        assert!(!cache.let_go(1));
        assert!(cache.let_go(1));
        assert_eq!(cache.lookup([1]).first_evicted, Some(2));
    }

    #[test]
    fn idle_blocks_before_a_stamp_are_counted_up_to_a_bound() {
        let mut cache = PrefixCache::new();
        let keys: Vec<BlockKey> = (0..100).collect();
        hold_all(&mut cache, &keys);
        // Let go in key order: key k is stamped k.
        for &key in &keys {
            cache.let_go(key);
        }
        assert_eq!(cache.idle_before(10), 10);
        assert_eq!(cache.idle_before(0), 0);
        assert_eq!(cache.idle_before(90), MAX_COUNTED_IDLE as u64);
    }
}
