//! Serving inside one replica: the batch scheduler and the KV cache it manages.

pub mod kv_cache;
pub mod replica;

pub use kv_cache::KvCache;
pub use replica::{
    Attempt, Batching, DecodeRun, Finished, Observer, PlannedStep, Rejection, Replica,
    SchedulerConfig,
};
