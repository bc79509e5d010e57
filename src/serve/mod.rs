//! Serving inside one replica: the batch scheduler, the KV cache it manages, and the prefix
//! cache of prompt blocks kept in it.

mod block_size;
mod fifo;
pub mod kv_cache;
mod lockstep;
pub mod prefix_cache;
pub mod replica;
mod waiting;

pub use kv_cache::KvCache;
pub use prefix_cache::{PrefixCache, PromptTable};
pub use replica::{
    Attempt, Batching, DecodeRun, Finished, Observer, PlannedStep, PrefixLookup, Rejection,
    Replica, SchedulerConfig,
};
