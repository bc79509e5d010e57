//! Tokens in a KV block, and the divisions by it that the scheduler makes for every sequence
//! at every step: a shift and a mask when the size is a power of two (vLLM's 16), the divide
//! instruction (tens of cycles) only for other sizes.

/// Tokens in a KV block (at least one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockSize {
    tokens: u64,
    /// `log₂ tokens` when `tokens` is a power of two.
    shift: Option<u32>,
}

impl BlockSize {
    /// Blocks of `tokens` tokens (at least one).
    pub fn new(tokens: u32) -> BlockSize {
        debug_assert!(tokens > 0, "a KV block holds a token at least");
        let tokens = u64::from(tokens);
        BlockSize {
            tokens,
            shift: tokens.is_power_of_two().then(|| tokens.trailing_zeros()),
        }
    }

    /// Tokens in a block.
    pub fn tokens(self) -> u64 {
        self.tokens
    }

    /// Blocks that hold `tokens` tokens: `⌈tokens / block⌉`.
    pub fn blocks_for(self, tokens: u64) -> u64 {
        match self.shift {
            Some(shift) => (tokens >> shift) + u64::from(tokens & (self.tokens - 1) != 0),
            None => tokens.div_ceil(self.tokens),
        }
    }

    /// `tokens mod block`.
    pub fn rem(self, tokens: u64) -> u64 {
        match self.shift {
            Some(_) => tokens & (self.tokens - 1),
            None => tokens % self.tokens,
        }
    }

    /// `tokens mod block` for a signed count, in `0..block`.
    pub fn rem_signed(self, tokens: i64) -> u64 {
        match self.shift {
            // Two's complement: the low bits of a negative count are its residue.
            Some(_) => tokens as u64 & (self.tokens - 1),
            None => tokens.rem_euclid(self.tokens as i64) as u64,
        }
    }

    /// `−tokens mod block`: the tokens still to come before `tokens` fills whole blocks.
    pub fn to_whole(self, tokens: u64) -> u64 {
        match self.rem(tokens) {
            0 => 0,
            r => self.tokens - r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisions_by_a_block_agree_with_the_divide_instruction_at_every_size() {
        for tokens in [1, 2, 3, 7, 16, 24, 64, 100] {
            let block = BlockSize::new(tokens);
            let b = u64::from(tokens);
            for x in (0..300).chain([u64::MAX / 4, (1 << 40) + 5]) {
                assert_eq!(block.blocks_for(x), x.div_ceil(b), "{x} / {b}");
                assert_eq!(block.rem(x), x % b, "{x} mod {b}");
                assert_eq!(block.to_whole(x), (b - x % b) % b, "-{x} mod {b}");
            }
            for x in -300..300 {
                assert_eq!(
                    block.rem_signed(x),
                    x.rem_euclid(b as i64) as u64,
                    "{x} mod {b}"
                );
            }
        }
        assert_eq!(BlockSize::new(16).blocks_for(33), 3);
        assert_eq!(BlockSize::new(16).to_whole(33), 15);
    }
}
