//! The facility: IT power from activity, and the cooling and distribution overhead (PUE).

pub mod power;

pub use power::GpuPowerModel;

/// PUE when a scenario gives none: the middle of the 1.1–1.3 range that Epoch AI, citing
/// SemiAnalysis, gives for AI datacenters (`shared/data/figures.md`, Datacenter).
pub const DEFAULT_PUE: f64 = 1.2;

/// The building around the servers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Facility {
    /// Facility power ÷ IT power.
    pub pue: f64,
}
