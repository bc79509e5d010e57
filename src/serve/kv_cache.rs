//! The KV cache of one replica as a pool of fixed-size blocks (vLLM's paged attention): a
//! sequence holding `n` tokens holds `⌈n / block⌉` blocks.
//!
//! With prefix caching ([`super::prefix_cache`]) some blocks hold cached prompt blocks, each
//! of a whole number of KV blocks. A block is then **used** (a sequence's own, or a cached
//! prompt block some sequence holds), **idle** (a cached prompt block nobody holds) or
//! **empty**. What the scheduler can take is free: empty or idle, as in vLLM, whose free
//! block queue holds cached blocks too; taking more than the empty blocks evicts idle ones,
//! least recently used first. The KV cache in use that a run reports is the used blocks.

use super::block_size::BlockSize;
use super::prefix_cache::{BlockKey, Held, PrefixCache};

/// Block accounting for one replica.
#[derive(Clone, Debug)]
pub struct KvCache {
    block: BlockSize,
    total_blocks: u64,
    used_blocks: u64,
    /// The cached prompt blocks, with prefix caching.
    prefix: Option<PrefixCache>,
    /// KV blocks of one cached prompt block.
    prefix_block: u64,
}

impl KvCache {
    /// A cache of `total_blocks` blocks of `block_tokens` tokens each.
    pub fn new(block_tokens: u32, total_blocks: u64) -> KvCache {
        KvCache {
            block: BlockSize::new(block_tokens),
            total_blocks,
            used_blocks: 0,
            prefix: None,
            prefix_block: 0,
        }
    }

    /// The same cache keeping prompt blocks of `prompt_block_tokens` tokens (a multiple of
    /// the block size) once their sequences are done.
    pub fn with_prefix_cache(mut self, prompt_block_tokens: u32) -> KvCache {
        debug_assert!(self.block.rem(prompt_block_tokens.into()) == 0);
        self.prefix = Some(PrefixCache::new());
        self.prefix_block = self.block.blocks_for(prompt_block_tokens.into());
        self
    }

    /// Tokens in one block.
    pub fn block_tokens(&self) -> u32 {
        self.block.tokens() as u32
    }

    /// The block size, to divide by.
    pub fn block(&self) -> BlockSize {
        self.block
    }

    /// Blocks needed to hold `tokens` tokens.
    pub fn blocks_for(&self, tokens: u64) -> u64 {
        self.block.blocks_for(tokens)
    }

    /// Blocks a sequence may take: empty ones, and idle cached prompt blocks, evicted to
    /// make room.
    pub fn free_blocks(&self) -> u64 {
        self.total_blocks - self.used_blocks
    }

    /// Blocks of cached prompt blocks nobody holds.
    pub fn idle_blocks(&self) -> u64 {
        self.prefix
            .as_ref()
            .map_or(0, |p| p.idle_blocks() * self.prefix_block)
    }

    /// Blocks held: sequences' own and the cached prompt blocks they hold.
    pub fn used_blocks(&self) -> u64 {
        self.used_blocks
    }

    /// Blocks in the cache.
    pub fn total_blocks(&self) -> u64 {
        self.total_blocks
    }

    /// KV blocks of one cached prompt block (0 without prefix caching).
    pub fn prefix_block(&self) -> u64 {
        self.prefix_block
    }

    /// The cached prompt blocks, with prefix caching.
    pub fn prefix(&self) -> Option<&PrefixCache> {
        self.prefix.as_ref()
    }

    /// Takes `blocks` blocks if that many are free, evicting idle prompt blocks, least
    /// recently used first, while the empty ones are too few.
    #[inline]
    pub fn try_take(&mut self, blocks: u64) -> bool {
        if blocks > self.free_blocks() {
            return false;
        }
        self.used_blocks += blocks;
        if self.prefix.is_some() {
            self.evict_for_room();
        }
        true
    }

    /// Evicts idle prompt blocks, least recently used first, until the used and idle blocks
    /// fit the cache again. Apart from [`KvCache::try_take`], which is on every sequence's
    /// path: without prefix caching, it costs one test there.
    #[inline(never)]
    fn evict_for_room(&mut self) {
        let Some(prefix) = &mut self.prefix else {
            return;
        };
        while self.used_blocks + prefix.idle_blocks() * self.prefix_block > self.total_blocks {
            let evicted = prefix.evict_lru();
            debug_assert!(evicted, "free blocks cover what is taken");
        }
    }

    /// Returns `blocks` blocks to the pool.
    pub fn give_back(&mut self, blocks: u64) {
        debug_assert!(blocks <= self.used_blocks);
        self.used_blocks -= blocks;
    }

    /// A sequence holds the cached prompt blocks `keys` (which are cached, as a lookup found
    /// them): idle ones become used.
    pub fn hold_prefix(&mut self, keys: impl IntoIterator<Item = BlockKey>) {
        let cache = self.prefix.as_mut().expect("prefix caching is on");
        for key in keys {
            match cache.hold(key) {
                Held::WasIdle => self.used_blocks += self.prefix_block,
                Held::WasHeld => {}
                Held::New => debug_assert!(false, "a hit is cached"),
            }
        }
    }

    /// A sequence has filled prompt block `key` with its own blocks: they become the cached
    /// block, or, when the block is cached already, the sequence holds that one and its own
    /// copy is given back.
    pub fn cache_filled(&mut self, key: BlockKey) {
        let cache = self.prefix.as_mut().expect("prefix caching is on");
        match cache.hold(key) {
            // Its own blocks are the cached block, or replace the idle one's in the count.
            Held::New | Held::WasIdle => {}
            Held::WasHeld => self.used_blocks -= self.prefix_block,
        }
    }

    /// A sequence lets go of the cached prompt blocks `keys`, given last first: those it
    /// was the last to hold become idle.
    pub fn let_go_prefix(&mut self, keys: impl IntoIterator<Item = BlockKey>) {
        let cache = self.prefix.as_mut().expect("prefix caching is on");
        for key in keys {
            if cache.let_go(key) {
                self.used_blocks -= self.prefix_block;
            }
        }
    }

    /// Blocks that can be taken without evicting the idle prompt block stamped `stamp`:
    /// the empty ones and those of the idle blocks evicted before it (counted up to
    /// [`super::prefix_cache::MAX_COUNTED_IDLE`]).
    pub fn free_before_evicting(&self, stamp: u64) -> u64 {
        let empty = self.free_blocks() - self.idle_blocks();
        let before = self.prefix.as_ref().map_or(0, |p| p.idle_before(stamp));
        empty + before * self.prefix_block
    }

    /// Prompt blocks evicted so far.
    pub fn evictions(&self) -> u64 {
        self.prefix.as_ref().map_or(0, PrefixCache::evictions)
    }

    /// Empties the cache: every block free, every cached prompt block forgotten (a failed
    /// replica loses its memory).
    pub fn clear(&mut self) {
        self.used_blocks = 0;
        if let Some(prefix) = &mut self.prefix {
            prefix.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_up_and_never_overcommit() {
        let mut kv = KvCache::new(16, 4);
        assert_eq!(kv.blocks_for(0), 0);
        assert_eq!(kv.blocks_for(1), 1);
        assert_eq!(kv.blocks_for(16), 1);
        assert_eq!(kv.blocks_for(17), 2);
        assert!(kv.try_take(3));
        assert!(!kv.try_take(2));
        assert_eq!(kv.free_blocks(), 1);
        kv.give_back(3);
        assert_eq!(kv.used_blocks(), 0);
    }

    #[test]
    fn idle_prompt_blocks_are_free_and_evicted_only_when_the_empty_ones_run_out() {
        // 10 blocks of 16 tokens; prompt blocks of 64 tokens take 4 each.
        let mut kv = KvCache::new(16, 10).with_prefix_cache(64);
        assert!(kv.try_take(8));
        kv.cache_filled(1);
        kv.cache_filled(2);
        assert_eq!(kv.used_blocks(), 8);
        kv.let_go_prefix([2, 1]);
        assert_eq!(
            (kv.used_blocks(), kv.idle_blocks(), kv.free_blocks()),
            (0, 8, 10)
        );
        // Two empty blocks: taking them evicts nothing.
        assert!(kv.try_take(2));
        assert_eq!(kv.evictions(), 0);
        // One more evicts the block let go first (2), whose other three blocks stay empty.
        assert!(kv.try_take(1));
        assert_eq!(kv.evictions(), 1);
        assert_eq!(kv.prefix().unwrap().lookup([1, 2]).blocks, 1);
        assert_eq!(kv.free_blocks(), 7);
        assert_eq!(kv.free_before_evicting(1), 3);
        // Holding the idle block 1 uses its blocks: 4 free blocks are left, none idle.
        kv.hold_prefix([1]);
        assert_eq!(
            (kv.used_blocks(), kv.free_blocks(), kv.idle_blocks()),
            (7, 3, 0)
        );
        assert!(!kv.try_take(4));
    }

    #[test]
    fn a_block_cached_twice_is_kept_once() {
        let mut kv = KvCache::new(16, 10).with_prefix_cache(32);
        // Two sequences compute the same prompt block side by side: the second's copy is
        // given back when it finds the block cached.
        assert!(kv.try_take(2) && kv.try_take(2));
        kv.cache_filled(5);
        kv.cache_filled(5);
        assert_eq!(kv.used_blocks(), 2);
        kv.let_go_prefix([5]);
        assert_eq!((kv.used_blocks(), kv.idle_blocks()), (2, 0));
        kv.let_go_prefix([5]);
        assert_eq!((kv.used_blocks(), kv.idle_blocks()), (0, 2));
        kv.clear();
        assert_eq!((kv.free_blocks(), kv.idle_blocks()), (10, 0));
    }
}
