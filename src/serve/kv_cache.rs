//! The KV cache of one replica as a pool of fixed-size blocks (vLLM's paged attention): a
//! sequence holding `n` tokens holds `⌈n / block⌉` blocks.

/// Block accounting for one replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvCache {
    block_tokens: u32,
    total_blocks: u64,
    used_blocks: u64,
}

impl KvCache {
    /// A cache of `total_blocks` blocks of `block_tokens` tokens each.
    pub fn new(block_tokens: u32, total_blocks: u64) -> KvCache {
        KvCache {
            block_tokens,
            total_blocks,
            used_blocks: 0,
        }
    }

    /// Tokens in one block.
    pub fn block_tokens(&self) -> u32 {
        self.block_tokens
    }

    /// Blocks needed to hold `tokens` tokens.
    pub fn blocks_for(&self, tokens: u64) -> u64 {
        tokens.div_ceil(self.block_tokens as u64)
    }

    /// Blocks not held by any sequence.
    pub fn free_blocks(&self) -> u64 {
        self.total_blocks - self.used_blocks
    }

    /// Blocks held.
    pub fn used_blocks(&self) -> u64 {
        self.used_blocks
    }

    /// Blocks in the cache.
    pub fn total_blocks(&self) -> u64 {
        self.total_blocks
    }

    /// Takes `blocks` blocks if that many are free.
    pub fn try_take(&mut self, blocks: u64) -> bool {
        if blocks <= self.free_blocks() {
            self.used_blocks += blocks;
            true
        } else {
            false
        }
    }

    /// Returns `blocks` blocks to the pool.
    pub fn give_back(&mut self, blocks: u64) {
        debug_assert!(blocks <= self.used_blocks);
        self.used_blocks -= blocks;
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
}
