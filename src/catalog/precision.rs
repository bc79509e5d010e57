//! Number formats for weights, KV cache and tensor-core arithmetic.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A number format. Weights and the KV cache are stored in one; matrix products run in one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// IEEE half precision, 2 bytes.
    Fp16,
    /// bfloat16, 2 bytes.
    Bf16,
    /// 8-bit floating point (E4M3), 1 byte.
    Fp8,
    /// 8-bit integer, 1 byte.
    Int8,
    /// 4-bit integer, half a byte (packed two per byte).
    Int4,
}

impl Precision {
    /// Every format, in the order tables list them.
    pub const ALL: [Precision; 5] = [
        Precision::Fp16,
        Precision::Bf16,
        Precision::Fp8,
        Precision::Int8,
        Precision::Int4,
    ];

    /// Storage size of one value in bytes.
    pub fn bytes(self) -> f64 {
        match self {
            Precision::Fp16 | Precision::Bf16 => 2.0,
            Precision::Fp8 | Precision::Int8 => 1.0,
            Precision::Int4 => 0.5,
        }
    }

    /// The lowercase name used in scenarios.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp16 => "fp16",
            Precision::Bf16 => "bf16",
            Precision::Fp8 => "fp8",
            Precision::Int8 => "int8",
            Precision::Int4 => "int4",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_formats() {
        assert_eq!(Precision::Bf16.bytes(), 2.0);
        assert_eq!(Precision::Fp8.bytes(), 1.0);
        assert_eq!(Precision::Int4.bytes(), 0.5);
    }
}
