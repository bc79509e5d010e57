//! Token-length distributions for prompts and outputs, with caps.

use rand::Rng;
use rand_distr::{Distribution, LogNormal, Normal};

/// The shape of a length distribution before rounding and capping.
#[derive(Clone, Debug)]
pub enum LengthShape {
    /// Always this many tokens.
    Fixed(u32),
    /// Uniform over the whole numbers `low..=high`.
    Uniform {
        /// Smallest value.
        low: u32,
        /// Largest value.
        high: u32,
    },
    /// Lognormal: `median·exp(sigma·Z)`, rounded.
    LogNormal(LogNormal<f64>),
    /// Normal, rounded (and capped below at `min`).
    Normal(Normal<f64>),
    /// One of these observed lengths, each equally likely.
    Empirical(Vec<u32>),
}

/// A length distribution with caps: samples are rounded and clamped into `[min, max]`.
#[derive(Clone, Debug)]
pub struct TokenLengths {
    shape: LengthShape,
    min: u32,
    max: u32,
}

impl TokenLengths {
    /// Lengths of `shape` clamped into `[min, max]` (`min ≥ 1`).
    pub fn new(shape: LengthShape, min: u32, max: u32) -> TokenLengths {
        let min = min.max(1);
        TokenLengths {
            shape,
            min,
            max: max.max(min),
        }
    }

    /// Draws one length.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        let raw = match &self.shape {
            LengthShape::Fixed(n) => *n as f64,
            LengthShape::Uniform { low, high } => {
                rand::RngExt::random_range(rng, *low..=*high) as f64
            }
            LengthShape::LogNormal(d) => d.sample(rng).round(),
            LengthShape::Normal(d) => d.sample(rng).round(),
            LengthShape::Empirical(values) => {
                values[rand::RngExt::random_range(rng, 0..values.len())] as f64
            }
        };
        raw.clamp(self.min as f64, self.max as f64) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{Stream, stream};

    fn mean_of(lengths: &TokenLengths, n: usize) -> f64 {
        let mut rng = stream(7, 0, Stream::PromptLengths);
        (0..n).map(|_| lengths.sample(&mut rng) as f64).sum::<f64>() / n as f64
    }

    #[test]
    fn fixed_and_capped_lengths() {
        let fixed = TokenLengths::new(LengthShape::Fixed(100), 1, u32::MAX);
        assert_eq!(mean_of(&fixed, 10), 100.0);
        let capped = TokenLengths::new(LengthShape::Fixed(100), 1, 64);
        assert_eq!(mean_of(&capped, 10), 64.0);
        let floored = TokenLengths::new(LengthShape::Fixed(0), 0, 10);
        assert_eq!(mean_of(&floored, 10), 1.0);
    }

    #[test]
    fn sample_means_match_the_distributions() {
        let n = 200_000;
        let uniform = TokenLengths::new(LengthShape::Uniform { low: 10, high: 30 }, 1, 1000);
        assert!((mean_of(&uniform, n) - 20.0).abs() < 0.1);
        // Lognormal mean: median·exp(σ²/2) = 500·e^0.125 = 566.6.
        let lognormal = TokenLengths::new(
            LengthShape::LogNormal(LogNormal::new(500f64.ln(), 0.5).unwrap()),
            1,
            u32::MAX,
        );
        assert!((mean_of(&lognormal, n) / 566.57 - 1.0).abs() < 0.01);
        let normal = TokenLengths::new(
            LengthShape::Normal(Normal::new(1000.0, 300.0).unwrap()),
            1,
            u32::MAX,
        );
        assert!((mean_of(&normal, n) / 1000.0 - 1.0).abs() < 0.01);
        let empirical = TokenLengths::new(LengthShape::Empirical(vec![1, 2, 3, 10]), 1, 100);
        assert!((mean_of(&empirical, n) - 4.0).abs() < 0.05);
    }
}
