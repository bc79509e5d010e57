//! # fleetsim
//!
//! A discrete-event simulator of the datacenters that serve large language models. A YAML
//! scenario describes the traffic, the model, the GPUs and servers, the scheduler and the
//! facility; fleetsim simulates the day request by request and reports latency, throughput,
//! utilisation and energy.
//!
//! ```
//! let scenario = fleetsim::scenario::from_yaml(
//!     "
//! workload:
//!   rate: 2/s
//!   prompt_tokens: {lognormal: {median: 500, sigma: 0.8}, max: 4000}
//!   output_tokens: 200
//! model: llama-3.1-8b
//! hardware: {gpu: h100-sxm}
//! fleet: {servers: 1}
//! study: {horizon: 10m}
//! ",
//!     "doc",
//! )
//! .unwrap();
//! let run = fleetsim::engine::simulate(&scenario, fleetsim::engine::Streams { seed: 1, run: 0 });
//! let r = run.summary.requests;
//! assert_eq!(r.arrived, r.completed + r.rejected + r.in_flight);
//! assert!(run.summary.latency.ttft.p99_s.unwrap() < 1.0);
//! ```
//!
//! ## Layers
//!
//! ```text
//! scenario YAML ─► scenario::Scenario (validated) ─► engine::simulate
//!   workload (arrivals, lengths) ─► fleet (router) ─► serve::Replica (scheduler, KV cache)
//!   perf_model (step time, FLOPs, bytes) · facility (power, PUE) ─► stats ─► report
//! ```
//!
//! Each module knows only those below it: the perf model never sees a queue, the engine
//! never sees money, only `report` writes files. See `docs/ARCHITECTURE.md`.

#![warn(missing_docs)]

pub mod autoscale;
pub mod catalog;
pub mod check;
pub mod cost;
pub mod engine;
pub mod error;
pub mod estimate;
pub mod facility;
pub mod fit;
pub mod fleet;
pub mod grow;
pub mod perf_model;
pub mod report;
pub mod scenario;
pub mod serve;
pub mod shard;
pub mod stats;
pub mod study;
pub mod suggest;
pub mod sweep;
pub mod uncertain;
pub mod units;
pub mod validate;
pub mod workload;

pub use error::{Error, InputError};
